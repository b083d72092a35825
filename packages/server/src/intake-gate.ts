/**
 * Intake: how inference requests get from the socket to the workers.
 *
 * 1. **Admission.** More than `maxQueue` inference requests in progress (bodies arriving, complete and waiting, or
 *    being worked on) → 503 `OVERLOADED` at once, without reading the body.
 * 2. **Body, without a slot.** The body is read as it arrives, into memory, counted against one budget for the whole
 *    server until it gets a work slot ({@link BodyBudget}, `MTAILOR_MAX_BUFFERED_BYTES`): when the budget is spent,
 *    reading pauses — the kernel's TCP window pushes back on the senders — and when only bodies still arriving hold
 *    it, the one with the most bytes in reads on, so one always progresses. A body not complete within
 *    `bodyTimeoutMs` is answered 408.
 * 3. **Work slot, once complete.** Only a complete request takes a slot of the {@link IntakeGate} (FIFO, at most
 *    `maxActive` at once); the body is parsed and worked on holding it.
 *
 * Why this order: a slow sender costs memory only for the bytes it has sent, and a complete request waits only
 * behind complete requests. Before, a request took its slot before its body was read, and a trickling body held it
 * for a 250 ms "slow body" window before lending it back: 300 trickling uploads delayed a normal request by 4.5 s.
 *
 * Why slots at all: parsing and handing over a body costs the event loop ≈ 0.3–0.5 ms (a 134 KB base64 image), and
 * the decode and inference workers finish ≈ 200 images/s on 2 cores. A burst parsed as fast as it arrives is 60–100
 * ms of event-loop work in a few loop turns, during which `/health` cannot answer; with the slots, bodies are parsed
 * at the rate the pipeline takes them.
 * @module
 */

import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { OverloadedError } from '@mtailor/core';
import type { FastifyRequest, preParsingAsyncHookHandler } from 'fastify';
import { rawErrorResponse, ServerError } from './errors.js';

interface Waiter {
  admit: () => void;
}

/** The error of a request whose client hung up before it was served (nobody will read it). */
function clientClosed(): ServerError {
  return new ServerError('CLIENT_CLOSED', 'the client closed the connection before its request was served');
}

/**
 * One request's place at an {@link IntakeGate}, from admission until {@link IntakePass.end}: it takes a work slot
 * ({@link IntakePass.reclaim}), may give it back while it waits on the network (an `image_url` download) and take
 * one again before working; release is idempotent, so every exit path may call it.
 */
export class IntakePass {
  private held: boolean;
  private ended = false;
  private waited: number;
  /** Made only when asked for (a download, a reclaim that waits): most requests never need one. */
  private over: AbortController | undefined;

  /** @internal Created by {@link IntakeGate.admit} (no slot yet) and {@link IntakeGate.enter} (holding one). */
  constructor(
    private readonly gate: IntakeGate,
    waitedMs: number,
    holding = true,
  ) {
    this.waited = waitedMs;
    this.held = holding;
  }

  /** Milliseconds this request has waited for a slot so far (it is part of the latency the client sees). */
  get waitedMs(): number {
    return this.waited;
  }

  /**
   * Aborted when the request ends (replied, or the client left): work done for it — a download, a wait for a slot
   * — can stop.
   */
  get signal(): AbortSignal {
    this.over ??= new AbortController();
    if (this.ended && !this.over.signal.aborted) this.over.abort(clientClosed());
    return this.over.signal;
  }

  /** Whether this pass holds a slot now. */
  get holding(): boolean {
    return this.held;
  }

  /** Gives the slot back (no-op when not holding one). */
  release(): void {
    if (!this.held) return;
    this.held = false;
    this.gate.leave();
  }

  /**
   * Takes a slot (no-op when holding one), waiting behind the requests already queued. Rejects with 499
   * `CLIENT_CLOSED` once the request has ended.
   */
  async reclaim(): Promise<void> {
    if (this.held) return;
    if (this.ended) throw clientClosed();
    const t0 = performance.now();
    await this.gate.wait(this.signal);
    this.waited += performance.now() - t0;
    if (this.ended) {
      // Ended between being admitted and resuming here: hand the slot straight on.
      this.gate.leave();
      throw clientClosed();
    }
    this.held = true;
  }

  /** The request is over (replied, or the client left): releases the slot and cancels a pending reclaim. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
    this.over?.abort(clientClosed());
    this.gate.finish();
  }
}

/**
 * A FIFO counting semaphore for request intake, with a bound on how many requests may be in progress.
 *
 * @example
 * ```ts
 * const gate = new IntakeGate({ maxActive: 16, maxQueue: 512 });
 * const pass = gate.admit(); // 503 OVERLOADED past 512 in progress
 * try {
 *   // read the body …
 *   await pass.reclaim(); // waits while 16 requests hold a slot
 *   // classify …
 * } finally {
 *   pass.end();
 * }
 * ```
 */
export class IntakeGate {
  /** Requests holding a slot. */
  private activeCount = 0;
  /** Requests admitted and not ended: body arriving, waiting for a slot, holding one, or lent out (downloading). */
  private inProgressCount = 0;
  private readonly waiters: Waiter[] = [];
  readonly maxActive: number;
  readonly maxQueue: number;

  /**
   * @param options.maxActive - requests worked on at once.
   * @param options.maxQueue - requests in progress (body arriving, waiting for a slot, holding one, or with their
   *   slot lent out while their image downloads); one more is refused with 503 `OVERLOADED`.
   */
  constructor(options: { maxActive: number; maxQueue: number }) {
    const { maxActive, maxQueue } = options;
    for (const [name, value] of [
      ['maxActive', maxActive],
      ['maxQueue', maxQueue],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(
          `Expected positive integer for ${name} but received ${value} of type ${typeof value}`,
        );
      }
    }
    if (maxActive > maxQueue) {
      throw new RangeError(`Expected maxActive of at most maxQueue (${maxQueue}) but received ${maxActive}`);
    }
    this.maxActive = maxActive;
    this.maxQueue = maxQueue;
  }

  /** Requests holding a slot (being worked on). */
  get active(): number {
    return this.activeCount;
  }

  /** Requests waiting for a slot (their bodies complete). */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Requests admitted and not ended (see `maxQueue`). */
  get inProgress(): number {
    return this.inProgressCount;
  }

  /**
   * Admits a request without a slot (take one with {@link IntakePass.reclaim}). Throws 503 `OVERLOADED` when
   * `maxQueue` requests are already in progress. End the pass when the request is over ({@link IntakePass.end}).
   */
  admit(): IntakePass {
    if (this.inProgressCount >= this.maxQueue) {
      throw new OverloadedError(`more than ${this.maxQueue} requests in progress; retry later`);
    }
    this.inProgressCount += 1;
    return new IntakePass(this, 0, false);
  }

  /**
   * Admits a request and waits for a slot (in arrival order). Rejects with 503 `OVERLOADED` when `maxQueue`
   * requests are already in progress, and with `signal`'s reason when it aborts first (the client hung up).
   */
  async enter(signal?: AbortSignal): Promise<IntakePass> {
    if (this.inProgressCount >= this.maxQueue) {
      throw new OverloadedError(`more than ${this.maxQueue} requests in progress; retry later`);
    }
    this.inProgressCount += 1;
    const t0 = performance.now();
    try {
      await this.wait(signal);
    } catch (err) {
      this.inProgressCount -= 1;
      throw err;
    }
    return new IntakePass(this, performance.now() - t0);
  }

  /** @internal A pass ended. */
  finish(): void {
    this.inProgressCount -= 1;
  }

  /** @internal Takes a slot, waiting if need be. */
  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.activeCount < this.maxActive && this.waiters.length === 0) {
      this.activeCount += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** @internal A slot was given back: hand it straight to the longest waiter. */
  leave(): void {
    const next = this.waiters.shift();
    if (next) next.admit();
    else this.activeCount -= 1;
  }
}

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
  private used = 0;
  /** Bytes held by bodies still arriving. */
  private arriving = 0;
  /** Incomplete bodies in arrival order (a Map keeps insertion order), with the bytes each has read. */
  private readonly incomplete = new Map<BudgetedReader, number>();
  private readonly paused = new Set<BudgetedReader>();

  constructor(readonly maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new RangeError(
        `Expected positive integer for maxBytes but received ${maxBytes} of type ${typeof maxBytes}`,
      );
    }
  }

  /** Bytes of bodies held now. */
  get bufferedBytes(): number {
    return this.used;
  }

  /** Bodies still arriving (reading or paused). */
  get reading(): number {
    return this.incomplete.size;
  }

  /** Bodies paused because the budget is spent. */
  get pausedCount(): number {
    return this.paused.size;
  }

  /** The budget is spent by bodies still arriving only: nothing will give bytes back unless one of them completes. */
  private get stuck(): boolean {
    return this.used >= this.maxBytes && this.arriving >= this.used;
  }

  /** The incomplete body with the most bytes in (the first to arrive among equals). */
  private leader(): BudgetedReader | undefined {
    let leader: BudgetedReader | undefined;
    let most = -1;
    for (const [reader, bytes] of this.incomplete) {
      if (bytes > most) {
        leader = reader;
        most = bytes;
      }
    }
    return leader;
  }

  /** A body starts arriving. Paused at once if the budget is spent or others wait before it. */
  start(reader: BudgetedReader): void {
    this.incomplete.set(reader, 0);
    if (this.used >= this.maxBytes || this.paused.size > 0) {
      this.pause(reader);
      this.wake();
    }
  }

  /** `bytes` more of `reader`'s body were read: pauses it if that spent the budget (unless it may read past it). */
  take(reader: BudgetedReader, bytes: number): void {
    this.used += bytes;
    this.arriving += bytes;
    this.incomplete.set(reader, (this.incomplete.get(reader) ?? 0) + bytes);
    if (this.used >= this.maxBytes && !(this.stuck && this.leader() === reader)) {
      this.pause(reader);
      this.wake();
    }
  }

  /** The body is complete (its bytes still count until {@link give}). */
  complete(reader: BudgetedReader): void {
    this.forget(reader);
  }

  /** The body will not complete (the client left, the body was refused); its bytes count until {@link give}. */
  abandon(reader: BudgetedReader): void {
    this.forget(reader);
  }

  /** A request ended: its `bytes` no longer count. */
  give(bytes: number): void {
    this.used -= bytes;
    this.wake();
  }

  private forget(reader: BudgetedReader): void {
    this.arriving -= this.incomplete.get(reader) ?? 0;
    this.incomplete.delete(reader);
    this.paused.delete(reader);
    this.wake();
  }

  private pause(reader: BudgetedReader): void {
    if (this.paused.has(reader)) return;
    this.paused.add(reader);
    reader.pause();
  }

  /** Resumes paused readers in arrival order while the budget allows; when stuck, the leader past it. */
  private wake(): void {
    if (this.paused.size === 0) return;
    for (const reader of this.incomplete.keys()) {
      if (this.used >= this.maxBytes) break;
      if (this.paused.delete(reader)) reader.resume();
    }
    if (this.stuck) {
      const leader = this.leader();
      if (leader && this.paused.delete(leader)) leader.resume();
    }
  }
}

const passes = new WeakMap<FastifyRequest, IntakePass>();

/** The request's pass, when its route is gated. */
export function intakePassOf(request: FastifyRequest): IntakePass | undefined {
  return passes.get(request);
}

/** Options of {@link intakeHook}. */
export interface IntakeHookOptions {
  gate: IntakeGate;
  budget: BodyBudget;
  /** The route's body limit: a body declared larger is refused by the parser at once; one that grows larger, here. */
  bodyLimit: number;
  /**
   * A body not complete this long after its headers is answered 408 `REQUEST_TIMEOUT` and its connection closed
   * (Node's own `requestTimeout` does not cover a body once the headers are in). 0 = never.
   */
  bodyTimeoutMs: number;
}

/**
 * A route's `preParsing` hook: admits the request (503 `OVERLOADED` past `maxQueue`), reads its whole body into
 * memory against the {@link BodyBudget} without holding a slot, answers 408 `REQUEST_TIMEOUT` and closes the
 * connection if the body is not complete within `bodyTimeoutMs`, then waits for a work slot (FIFO) and hands the
 * buffered body to Fastify's parser. The body's bytes leave the budget when it gets the slot (or the request ends);
 * the pass ends when the reply is sent or the connection closes.
 *
 * @example
 * ```ts
 * app.post('/predict', {
 *   preParsing: intakeHook({ gate, budget, bodyLimit: 16 * 1024 * 1024, bodyTimeoutMs: 30_000 }),
 * }, handler);
 * ```
 */
export function intakeHook(options: IntakeHookOptions): preParsingAsyncHookHandler {
  const { gate, budget, bodyLimit, bodyTimeoutMs } = options;
  return async (request, reply, payload) => {
    // A body declared larger than the limit is refused by the parser without reading it: no need to queue.
    const declared = Number(request.headers['content-length']);
    if (declared > bodyLimit) return payload;
    const pass = gate.admit();
    passes.set(request, pass);
    let bytes = 0;
    let over = false;
    const hungUp = new AbortController();
    const done = (): void => {
      if (over) return;
      over = true;
      pass.end();
      budget.give(bytes);
      bytes = 0;
      hungUp.abort(clientClosed());
    };
    // Registered before anything waits, so a close at any moment ends the request's hold on everything.
    reply.raw.once('close', done);
    if (reply.raw.destroyed) done();

    if (over) throw clientClosed();
    const chunks: Buffer[] = [];
    if (!payload.readableEnded) {
      await new Promise<void>((resolve, reject) => {
        let paused = false;
        let continued = false;
        // A client waiting for "100 Continue" (see server.ts) sends its body once it is told the body will be read.
        const sayContinue = (): void => {
          if (continued) return;
          continued = true;
          if (/\b100-continue\b/i.test(request.headers.expect ?? '') && !reply.raw.headersSent)
            reply.raw.writeContinue();
        };
        const reader: BudgetedReader = {
          pause: () => {
            paused = true;
            payload.pause();
          },
          resume: () => {
            paused = false;
            sayContinue();
            payload.resume();
          },
        };
        let timer: NodeJS.Timeout | undefined;
        const finish = (err?: Error): void => {
          clearTimeout(timer);
          payload.off('data', onData);
          payload.off('end', onEnd);
          payload.off('error', onError);
          payload.off('close', onClose);
          hungUp.signal.removeEventListener('abort', onHangUp);
          if (err) {
            budget.abandon(reader);
            reject(err);
          } else {
            budget.complete(reader);
            resolve();
          }
        };
        const onData = (chunk: Buffer): void => {
          bytes += chunk.length;
          if (bytes > bodyLimit) {
            // A body without Content-Length (chunked) that outgrew the limit: refuse it without reading the rest.
            const err = Object.assign(new Error(`the request body exceeds ${bodyLimit} bytes`), {
              code: 'FST_ERR_CTP_BODY_TOO_LARGE',
              statusCode: 413,
            });
            finish(err);
            return;
          }
          chunks.push(chunk);
          budget.take(reader, chunk.length);
        };
        const onEnd = (): void => finish();
        const onError = (err: Error): void => finish(err);
        const onClose = (): void => {
          if (!payload.readableEnded) finish(clientClosed());
        };
        const onHangUp = (): void => finish(clientClosed());
        payload.on('data', onData);
        payload.once('end', onEnd);
        payload.once('error', onError);
        payload.once('close', onClose);
        hungUp.signal.addEventListener('abort', onHangUp, { once: true });
        if (bodyTimeoutMs > 0) {
          timer = setTimeout(() => {
            const err = new ServerError(
              'REQUEST_TIMEOUT',
              `the request body did not arrive within ${bodyTimeoutMs} ms`,
            );
            // Answer first (the client may still read), then drop the connection: its body is not coming.
            const socket = request.raw.socket;
            if (socket?.writable && !reply.raw.headersSent) socket.write(rawErrorResponse(err));
            request.raw.destroy(err);
            finish(err);
          }, bodyTimeoutMs);
        }
        budget.start(reader);
        if (!paused) sayContinue();
      });
    }
    // The body is complete: now a work slot, behind complete requests only.
    await pass.reclaim();
    // Working on it now: its bytes leave the budget (MTAILOR_MAX_ACTIVE bounds the bodies being worked on), so a large
    // body being worked on does not hold up reading the next ones.
    budget.give(bytes);
    bytes = 0;
    // Handed to Fastify's parser as one stream of the chunks read (nothing is read from the socket any more).
    const body = new Readable({ read() {} });
    for (const chunk of chunks) body.push(chunk);
    body.push(null);
    return Object.assign(body, { receivedEncodedLength: bytes });
  };
}
