/**
 * The memory budget for request bodies that are arriving or waiting for a work slot, over the whole server
 * (`MTAILOR_MAX_BUFFERED_BYTES`): see {@link BodyBudget}.
 * @module
 */

import { requirePositiveInteger } from './positive-integer.js';

/** A body being read, as {@link BodyBudget} sees it: it can be paused and resumed. */
export interface BudgetedReader {
  pause(): void;
  resume(): void;
}

/**
 * One budget for the bytes of request bodies held in memory while they arrive and wait, over the whole server: every
 * chunk read counts until its owner gives the bytes back (the intake does when the request gets a work slot, or
 * ends). When the budget is spent, readers are paused (the socket stops being read and TCP flow control
 * slows the sender) and resumed in arrival order as bytes are given back; newcomers queue behind paused readers.
 *
 * No deadlock: bytes of complete bodies are given back as their requests get a work slot, so while any count,
 * waiting is enough. Only when bodies still arriving hold the whole budget could every one wait for the others; then one may
 * read past it — the one with the most bytes in, i.e. the upload that is actually sending, not a sender trickling a
 * byte now and then (if the oldest body had that right, a stalled first sender would hold every other upload until
 * its body timeout). Memory for bodies waiting or arriving stays below `maxBytes` plus one body (the route's body
 * limit) plus one socket read (≤ 64 KB) per paused connection.
 *
 * @example
 * ```ts
 * const budget = new BodyBudget(16 * 1024 * 1024);
 * budget.start(reader);     // may pause it at once when the budget is spent
 * budget.take(reader, chunk.length); // after each chunk: may pause it
 * budget.complete(reader);  // the body is in; its bytes still count …
 * budget.give(total);       // … until it moves on to work (or its request ends)
 * ```
 */
export class BodyBudget {
  readonly maxBytes: number;
  #used = 0;
  /** Bytes held by bodies still arriving. */
  #arriving = 0;
  /** Incomplete bodies in arrival order (a Map keeps insertion order), with the bytes each has read. */
  readonly #incomplete = new Map<BudgetedReader, number>();
  readonly #paused = new Set<BudgetedReader>();

  constructor(maxBytes: number) {
    requirePositiveInteger('maxBytes', maxBytes);
    this.maxBytes = maxBytes;
  }

  /** Bytes of bodies held now. */
  get bufferedBytes(): number {
    return this.#used;
  }

  /** Bodies still arriving (reading or paused). */
  get reading(): number {
    return this.#incomplete.size;
  }

  /** Bodies paused because the budget is spent. */
  get pausedCount(): number {
    return this.#paused.size;
  }

  /** The budget is spent by bodies still arriving only: nothing will give bytes back unless one of them completes. */
  get #stuck(): boolean {
    return this.#used >= this.maxBytes && this.#arriving >= this.#used;
  }

  /** The incomplete body with the most bytes in (the first to arrive among equals). */
  #leader(): BudgetedReader | undefined {
    let leader: BudgetedReader | undefined;
    let most = -1;
    for (const [reader, bytes] of this.#incomplete) {
      if (bytes > most) {
        leader = reader;
        most = bytes;
      }
    }
    return leader;
  }

  /** A body starts arriving. Paused at once if the budget is spent or others wait before it. */
  start(reader: BudgetedReader): void {
    this.#incomplete.set(reader, 0);
    if (this.#used >= this.maxBytes || this.#paused.size > 0) {
      this.#pause(reader);
      this.#wake();
    }
  }

  /** `bytes` more of `reader`'s body were read: pauses it if that spent the budget (unless it may read past it). */
  take(reader: BudgetedReader, bytes: number): void {
    this.#used += bytes;
    this.#arriving += bytes;
    this.#incomplete.set(reader, (this.#incomplete.get(reader) ?? 0) + bytes);
    if (this.#used >= this.maxBytes && !(this.#stuck && this.#leader() === reader)) {
      this.#pause(reader);
      this.#wake();
    }
  }

  /** The body is complete (its bytes still count until {@link give}). */
  complete(reader: BudgetedReader): void {
    this.#forget(reader);
  }

  /** The body will not complete (the client left, the body was refused); its bytes count until {@link give}. */
  abandon(reader: BudgetedReader): void {
    this.#forget(reader);
  }

  /** A request ended: its `bytes` no longer count. */
  give(bytes: number): void {
    this.#used -= bytes;
    this.#wake();
  }

  #forget(reader: BudgetedReader): void {
    this.#arriving -= this.#incomplete.get(reader) ?? 0;
    this.#incomplete.delete(reader);
    this.#paused.delete(reader);
    this.#wake();
  }

  #pause(reader: BudgetedReader): void {
    if (this.#paused.has(reader)) return;
    this.#paused.add(reader);
    reader.pause();
  }

  /** Resumes paused readers in arrival order while the budget allows; when stuck, the leader past it. */
  #wake(): void {
    if (this.#paused.size === 0) return;
    for (const reader of this.#incomplete.keys()) {
      if (this.#used >= this.maxBytes) break;
      if (this.#paused.delete(reader)) reader.resume();
    }
    if (this.#stuck) {
      const leader = this.#leader();
      if (leader && this.#paused.delete(leader)) leader.resume();
    }
  }
}
