/**
 * Back-pressure at the door: at most `maxActive` inference requests have their bodies read and worked on at once;
 * the others wait with their bodies unread, in the socket and the kernel's buffers, until a slot frees.
 *
 * Why: reading, parsing and handing over a request body costs the event loop ≈ 0.3–0.5 ms (a 134 KB base64 image).
 * A burst of 200 such requests read as fast as they arrive is 60–100 ms of event-loop work in a few loop turns,
 * and a `/health` probe that arrives then waits behind all of it. The decode and inference workers finish
 * ≈ 200 images/s on 2 cores, so reading bodies faster than that only moves the queue from the kernel into our
 * heap. With the gate, bodies are read at the rate the pipeline takes them, each loop turn stays short, and health
 * checks, metrics and small requests are answered between them.
 *
 * Node stops reading a socket once its request's buffered body passes the stream's high-water mark, so a request
 * that waits here holds at most one socket read (≤ 64 KB) in user space.
 *
 * A slot is for work, not for waiting on a network: a request whose body is still arriving `slowBodyMs` after it
 * got its slot gives the slot back (a slow or malicious sender cannot starve everyone else), and so does an
 * `image_url` request while it downloads; both take a slot again ({@link IntakePass.reclaim}) before decoding.
 * @module
 */

import { performance } from 'node:perf_hooks';
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
 * One request's hold on a slot of an {@link IntakeGate}, from admission until {@link IntakePass.end}. It may give
 * the slot back while it waits on the network and take one again before working; release is idempotent, so
 * every exit path may call it.
 */
export class IntakePass {
  private held = true;
  private ended = false;
  private waited: number;
  /** Made only when asked for (a download, a reclaim that waits): most requests never need one. */
  private over: AbortController | undefined;

  /** @internal Created by {@link IntakeGate.enter}. */
  constructor(
    private readonly gate: IntakeGate,
    waitedMs: number,
  ) {
    this.waited = waitedMs;
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
   * Takes a slot again after {@link release} (no-op when holding one), waiting behind the requests already queued.
   * Rejects with 499 `CLIENT_CLOSED` once the request has ended.
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
 * A FIFO counting semaphore for request intake, with a bound on how many may wait.
 *
 * @example
 * ```ts
 * const gate = new IntakeGate({ maxActive: 16, maxQueue: 512 });
 * const pass = await gate.enter(); // waits while 16 requests are active; 503 OVERLOADED past 512 in progress
 * try {
 *   // read the body, classify …
 * } finally {
 *   pass.end();
 * }
 * ```
 */
export class IntakeGate {
  /** Requests holding a slot. */
  private activeCount = 0;
  /** Requests entered and not ended: holding a slot, waiting for one, or lent out (body arriving, downloading). */
  private inProgressCount = 0;
  private readonly waiters: Waiter[] = [];
  readonly maxActive: number;
  readonly maxQueue: number;

  /**
   * @param options.maxActive - requests read and worked on at once.
   * @param options.maxQueue - requests in progress (holding a slot, waiting for one, or with their slot lent out
   *   while their body arrives or their image downloads); one more is refused with 503 `OVERLOADED`.
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

  /** Requests holding a slot (body being read, or being worked on). */
  get active(): number {
    return this.activeCount;
  }

  /** Requests waiting for a slot, bodies unread. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Requests entered and not ended (see `maxQueue`). */
  get inProgress(): number {
    return this.inProgressCount;
  }

  /**
   * Waits for a slot (in arrival order). Rejects with 503 `OVERLOADED` when `maxQueue` requests are already in
   * progress, and with `signal`'s reason when it aborts first (the client hung up). End the pass when the request
   * is over ({@link IntakePass.end}).
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

const passes = new WeakMap<FastifyRequest, IntakePass>();

/** The request's pass, when its route is gated. */
export function intakePassOf(request: FastifyRequest): IntakePass | undefined {
  return passes.get(request);
}

/**
 * A route's `preParsing` hook that holds the request at the gate before its body is read; gives the slot back if
 * the body is still arriving `slowBodyMs` later; answers 408 `REQUEST_TIMEOUT` and closes the connection if it is
 * not complete `bodyTimeoutMs` later (Node's own `requestTimeout` does not cover a body once the headers are in);
 * and ends the pass when the reply is sent or the connection closes. The route takes the slot back with
 * {@link IntakePass.reclaim} before its CPU work. `bodyLimit` is the route's; bodies declared larger are refused by
 * the parser at once and do not queue. 0 turns either timer off.
 */
export function intakeHook(
  gate: IntakeGate,
  bodyLimit: number,
  slowBodyMs: number,
  bodyTimeoutMs = 0,
): preParsingAsyncHookHandler {
  return async (request, reply, payload) => {
    // A body declared larger than the limit is refused by the parser without reading it: no need to queue.
    const declared = Number(request.headers['content-length']);
    if (declared > bodyLimit) return payload;
    let pass: IntakePass | undefined;
    let closed = false;
    const timers: NodeJS.Timeout[] = [];
    const hungUp = new AbortController();
    // Registered before waiting, so a close at any moment either cancels the wait or ends the pass.
    reply.raw.once('close', () => {
      closed = true;
      for (const t of timers) clearTimeout(t);
      if (pass) pass.end();
      else hungUp.abort(clientClosed());
    });
    pass = await gate.enter(hungUp.signal);
    if (closed) {
      pass.end();
      return payload;
    }
    passes.set(request, pass);
    // A client waiting for "100 Continue" (see server.ts) sends its body now that it will be read.
    if (/\b100-continue\b/i.test(request.headers.expect ?? '') && !reply.raw.headersSent)
      reply.raw.writeContinue();
    if (payload.readableEnded) return payload;
    const admitted = pass;
    if (slowBodyMs > 0) timers.push(setTimeout(() => admitted.release(), slowBodyMs));
    if (bodyTimeoutMs > 0) {
      timers.push(
        setTimeout(() => {
          const err = new ServerError(
            'REQUEST_TIMEOUT',
            `the request body did not arrive within ${bodyTimeoutMs} ms`,
          );
          // Answer first (the client may still read), then drop the connection: its body is not coming.
          const socket = request.raw.socket;
          if (socket?.writable && !reply.raw.headersSent) socket.write(rawErrorResponse(err));
          request.raw.destroy(err);
        }, bodyTimeoutMs),
      );
    }
    // 'end' listeners do not start the stream flowing: the body parser still reads it as usual.
    payload.once('end', () => {
      for (const t of timers) clearTimeout(t);
    });
    return payload;
  };
}
