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
 * behind complete requests — a request that took its slot before its body arrived would let trickling uploads hold
 * every slot while complete requests wait behind them.
 *
 * Why slots at all: parsing a body and handing it over are event-loop work, while the decode and inference workers
 * finish images at their own, slower pace. A burst parsed as fast as it arrives is all that work in a few loop
 * turns, during which `/health` cannot answer; with the slots, bodies are parsed at the rate the pipeline takes them.
 * @module
 */

import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { OverloadedError } from '@mtailor/core';
import type { FastifyInstance, FastifyReply, FastifyRequest, preParsingAsyncHookHandler } from 'fastify';
import type { BodyBudget, BudgetedReader } from './body-budget.js';
import { rawErrorResponse, ServerError } from './errors.js';
import { requirePositiveInteger } from './positive-integer.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's place at the intake gate on a gated route (set by {@link intakeHook}), else null. */
    intakePass: IntakePass | null;
  }
}

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
  readonly #gate: IntakeGate;
  #held: boolean;
  #ended = false;
  #waited: number;
  /** Made only when asked for (a download, a reclaim that waits): most requests never need one. */
  #over: AbortController | undefined;

  /** @internal Created by {@link IntakeGate.admit} (no slot yet) and {@link IntakeGate.enter} (holding one). */
  constructor(gate: IntakeGate, waitedMs: number, holding = true) {
    this.#gate = gate;
    this.#waited = waitedMs;
    this.#held = holding;
  }

  /** Milliseconds this request has waited for a slot so far (it is part of the latency the client sees). */
  get waitedMs(): number {
    return this.#waited;
  }

  /**
   * Aborted when the request ends (replied, or the client left): work done for it — a download, a wait for a slot
   * — can stop.
   */
  get signal(): AbortSignal {
    this.#over ??= new AbortController();
    if (this.#ended && !this.#over.signal.aborted) this.#over.abort(clientClosed());
    return this.#over.signal;
  }

  /** Whether this pass holds a slot now. */
  get holding(): boolean {
    return this.#held;
  }

  /** Gives the slot back (no-op when not holding one). */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#gate.leave();
  }

  /**
   * Takes a slot (no-op when holding one), waiting behind the requests already queued. Rejects with 499
   * `CLIENT_CLOSED` once the request has ended.
   */
  async reclaim(): Promise<void> {
    if (this.#held) return;
    if (this.#ended) throw clientClosed();
    const t0 = performance.now();
    await this.#gate.wait(this.signal);
    this.#waited += performance.now() - t0;
    if (this.#ended) {
      // Ended between being admitted and resuming here: hand the slot straight on.
      this.#gate.leave();
      throw clientClosed();
    }
    this.#held = true;
  }

  /** The request is over (replied, or the client left): releases the slot and cancels a pending reclaim. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.release();
    this.#over?.abort(clientClosed());
    this.#gate.finish();
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
  #active = 0;
  /** Requests admitted and not ended: body arriving, waiting for a slot, holding one, or lent out (downloading). */
  #inProgress = 0;
  readonly #waiters: Waiter[] = [];
  readonly maxActive: number;
  readonly maxQueue: number;

  /**
   * @param options.maxActive - requests worked on at once.
   * @param options.maxQueue - requests in progress (body arriving, waiting for a slot, holding one, or with their
   *   slot lent out while their image downloads); one more is refused with 503 `OVERLOADED`.
   */
  constructor(options: { maxActive: number; maxQueue: number }) {
    const { maxActive, maxQueue } = options;
    requirePositiveInteger('maxActive', maxActive);
    requirePositiveInteger('maxQueue', maxQueue);
    if (maxActive > maxQueue) {
      throw new RangeError(`Expected maxActive of at most maxQueue (${maxQueue}) but received ${maxActive}`);
    }
    this.maxActive = maxActive;
    this.maxQueue = maxQueue;
  }

  /** Requests holding a slot (being worked on). */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a slot (their bodies complete). */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Requests admitted and not ended (see `maxQueue`). */
  get inProgress(): number {
    return this.#inProgress;
  }

  /**
   * Admits a request without a slot (take one with {@link IntakePass.reclaim}). Throws 503 `OVERLOADED` when
   * `maxQueue` requests are already in progress. End the pass when the request is over ({@link IntakePass.end}).
   */
  admit(): IntakePass {
    if (this.#inProgress >= this.maxQueue) {
      throw new OverloadedError(`more than ${this.maxQueue} requests in progress; retry later`);
    }
    this.#inProgress += 1;
    return new IntakePass(this, 0, false);
  }

  /**
   * Admits a request and waits for a slot (in arrival order). Rejects with 503 `OVERLOADED` when `maxQueue`
   * requests are already in progress, and with `signal`'s reason when it aborts first (the client hung up).
   */
  async enter(signal?: AbortSignal): Promise<IntakePass> {
    if (this.#inProgress >= this.maxQueue) {
      throw new OverloadedError(`more than ${this.maxQueue} requests in progress; retry later`);
    }
    this.#inProgress += 1;
    const t0 = performance.now();
    try {
      await this.wait(signal);
    } catch (err) {
      this.#inProgress -= 1;
      throw err;
    }
    return new IntakePass(this, performance.now() - t0);
  }

  /** @internal A pass ended. */
  finish(): void {
    this.#inProgress -= 1;
  }

  /** @internal Takes a slot, waiting if need be. */
  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.maxActive && this.#waiters.length === 0) {
      this.#active += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.#waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** @internal A slot was given back: hand it straight to the longest waiter. */
  leave(): void {
    const next = this.#waiters.shift();
    if (next) next.admit();
    else this.#active -= 1;
  }
}

/** Declares the per-request intake state on `app`; call it once before registering gated routes. */
export function decorateIntake(app: FastifyInstance): void {
  if (!app.hasRequestDecorator('intakePass')) app.decorateRequest('intakePass', null);
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
 * What one admitted request holds until it ends — its pass and the bytes of its body counted in the budget — and
 * the signal that it ended (replied, or the client left).
 */
class RequestHold {
  readonly pass: IntakePass;
  readonly hungUp = new AbortController();
  readonly #budget: BodyBudget;
  /** Bytes of the body counted in the budget now. */
  #counted = 0;
  /** Bytes of the body read from the socket. */
  #received = 0;

  constructor(pass: IntakePass, budget: BodyBudget) {
    this.pass = pass;
    this.#budget = budget;
  }

  /** Bytes of the body read from the socket so far. */
  get received(): number {
    return this.#received;
  }

  /** Whether the request has ended. */
  get over(): boolean {
    return this.hungUp.signal.aborted;
  }

  /** `bytes` more of the body were read (the reader counts them in the budget). */
  read(bytes: number): void {
    this.#received += bytes;
    this.#counted += bytes;
  }

  /** The body's bytes leave the budget (it is being worked on, or the request ended). */
  giveBack(): void {
    this.#budget.give(this.#counted);
    this.#counted = 0;
  }

  /** The request ended: everything it held is given back and whatever waits for it stops. */
  end(): void {
    if (this.over) return;
    this.pass.end();
    this.giveBack();
    this.hungUp.abort(clientClosed());
  }
}

/** Admits the request (503 `OVERLOADED` past `maxQueue`) and ties what it holds to its connection. */
function admit(request: FastifyRequest, reply: FastifyReply, options: IntakeHookOptions): RequestHold {
  const hold = new RequestHold(options.gate.admit(), options.budget);
  request.intakePass = hold.pass;
  // Registered before anything waits, so a close at any moment ends the request's hold on everything.
  reply.raw.once('close', () => hold.end());
  if (reply.raw.destroyed) hold.end();
  return hold;
}

/** The error of a chunked body (no Content-Length) that grew past the limit; Fastify's own code and status. */
function bodyTooLarge(limit: number): Error {
  return Object.assign(new Error(`the request body exceeds ${limit} bytes`), {
    code: 'FST_ERR_CTP_BODY_TOO_LARGE',
    statusCode: 413,
  });
}

/** Answers 408 on the socket (the client may still read) and drops the connection: the body is not coming. */
function timeOutBody(request: FastifyRequest, reply: FastifyReply, bodyTimeoutMs: number): ServerError {
  const err = new ServerError(
    'REQUEST_TIMEOUT',
    `the request body did not arrive within ${bodyTimeoutMs} ms`,
  );
  const socket = request.raw.socket;
  if (socket?.writable && !reply.raw.headersSent) {
    socket.write(rawErrorResponse(err, request.routeOptions.config?.oip === true));
  }
  request.raw.destroy(err);
  return err;
}

/**
 * Reads the whole body into memory, counting it against the budget (which may pause and resume it), without a
 * work slot. Rejects when the client leaves, the body grows past the limit or does not complete in time.
 */
function readBody(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: NodeJS.ReadableStream & { readableEnded?: boolean },
  hold: RequestHold,
  options: IntakeHookOptions,
): Promise<Buffer[]> {
  const { budget, bodyLimit, bodyTimeoutMs } = options;
  const chunks: Buffer[] = [];
  if (payload.readableEnded) return Promise.resolve(chunks);
  return new Promise<Buffer[]>((resolve, reject) => {
    let paused = false;
    let continued = false;
    // A client waiting for "100 Continue" (see server.ts) sends its body once it is told the body will be read.
    const sayContinue = (): void => {
      if (continued) return;
      continued = true;
      if (/\b100-continue\b/i.test(request.headers.expect ?? '') && !reply.raw.headersSent) {
        reply.raw.writeContinue();
      }
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
      hold.hungUp.signal.removeEventListener('abort', onHangUp);
      if (err) {
        budget.abandon(reader);
        reject(err);
      } else {
        budget.complete(reader);
        resolve(chunks);
      }
    };
    const onData = (chunk: Buffer): void => {
      if (hold.received + chunk.length > bodyLimit) {
        finish(bodyTooLarge(bodyLimit));
        return;
      }
      hold.read(chunk.length);
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
    hold.hungUp.signal.addEventListener('abort', onHangUp, { once: true });
    if (bodyTimeoutMs > 0) {
      timer = setTimeout(() => finish(timeOutBody(request, reply, bodyTimeoutMs)), bodyTimeoutMs);
    }
    budget.start(reader);
    if (!paused) sayContinue();
  });
}

/**
 * The buffered body as the stream Fastify's parser reads (nothing is read from the socket any more), with the
 * length received on the wire, which Fastify checks against the limit and Content-Length.
 */
function bufferedBody(chunks: readonly Buffer[], received: number): Readable {
  const body = new Readable({ read() {} });
  for (const chunk of chunks) body.push(chunk);
  body.push(null);
  return Object.assign(body, { receivedEncodedLength: received });
}

/**
 * A route's `preParsing` hook: admits the request (503 `OVERLOADED` past `maxQueue`), reads its whole body into
 * memory against the {@link BodyBudget} without holding a slot, answers 408 `REQUEST_TIMEOUT` and closes the
 * connection if the body is not complete within `bodyTimeoutMs`, then waits for a work slot (FIFO) and hands the
 * buffered body to Fastify's parser. The body's bytes leave the budget when it gets the slot (or the request ends);
 * the pass ({@link FastifyRequest.intakePass}) ends when the reply is sent or the connection closes. The app must
 * be decorated first ({@link decorateIntake}).
 *
 * @example
 * ```ts
 * decorateIntake(app);
 * app.post('/predict', {
 *   preParsing: intakeHook({ gate, budget, bodyLimit: 16 * 1024 * 1024, bodyTimeoutMs: 30_000 }),
 * }, handler);
 * ```
 */
export function intakeHook(options: IntakeHookOptions): preParsingAsyncHookHandler {
  return async (request, reply, payload) => {
    // A body declared larger than the limit is refused by the parser without reading it: no need to queue.
    if (Number(request.headers['content-length']) > options.bodyLimit) return payload;
    const hold = admit(request, reply, options);
    if (hold.over) throw clientClosed();
    const chunks = await readBody(request, reply, payload, hold, options);
    // The body is complete: now a work slot, behind complete requests only.
    await hold.pass.reclaim();
    // Working on it now: its bytes leave the budget (MTAILOR_MAX_ACTIVE bounds the bodies being worked on), so a
    // large body being worked on does not hold up reading the next ones.
    hold.giveBack();
    return bufferedBody(chunks, hold.received);
  };
}
