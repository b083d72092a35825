/**
 * Request/reply by id with one worker thread. If the worker dies, every pending call rejects (nothing hangs). An
 * idle worker does not keep the process alive (a forgotten `close()` must not hang a script); it is referenced
 * exactly while a call is pending, so awaiting a reply does.
 * @module
 */
import type { Worker } from 'node:worker_threads';
import { InferenceError, type MtailorError } from '../errors.js';
import { type ErrorData, fromErrorData } from './error-transfer.js';

interface Pending {
  resolve: (reply: unknown) => void;
  reject: (err: MtailorError) => void;
}

/** `Omit` applied to each member of a union (plain `Omit` would merge the members). */
type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

type Reply = { id: number; ok: true } | { id: number; ok: false; error: ErrorData };

/** One worker thread answering `{ id, ok, … }` replies to `{ id, … }` requests. */
export class WorkerChannel<Req extends { id: number }, Rep extends Reply> {
  readonly #worker: Worker;
  readonly #name: string;
  readonly #pending = new Map<number, Pending>();
  /** Resolved when no call is pending any more (see {@link terminate}). */
  #idle: (() => void) | undefined;
  #nextId = 1;
  #exited = false;
  #terminating = false;

  /**
   * @param name - how errors name this worker ("decode worker 1").
   * @param onUnexpectedExit - told when the thread exits without {@link terminate}.
   */
  constructor(worker: Worker, name: string, onUnexpectedExit?: (code: number) => void) {
    this.#worker = worker;
    this.#name = name;
    worker.on('message', (reply: Rep) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#settled(reply.id);
      if (reply.ok) pending.resolve(reply);
      else pending.reject(fromErrorData(reply.error));
    });
    worker.on('error', (err) => this.#failAll(err));
    worker.on('exit', (code) => {
      this.#exited = true;
      this.#failAll(new Error(`exited with code ${code}`));
      if (!this.#terminating) onUnexpectedExit?.(code);
    });
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
  }

  /** Calls not answered yet. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** False once the thread has exited. */
  get alive(): boolean {
    return !this.#exited;
  }

  /** Sends `message` (its `id` is assigned here) and resolves with the matching reply; rejects with its error. */
  call(message: OmitEach<Req, 'id'>, transfer: ArrayBuffer[] = []): Promise<Extract<Rep, { ok: true }>> {
    if (this.#exited) return Promise.reject(new InferenceError(`${this.#name} is not running`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.#worker.postMessage({ ...message, id }, transfer);
    });
  }

  #settled(id: number): void {
    this.#pending.delete(id);
    if (this.#pending.size === 0) {
      this.#worker.unref();
      this.#idle?.();
    }
  }

  #failAll(err: Error): void {
    const error = new InferenceError(`${this.#name} failed: ${err.message}`, { cause: err });
    for (const [id, pending] of this.#pending) {
      this.#settled(id);
      pending.reject(error);
    }
  }

  /**
   * Stops the thread once the calls in flight have been answered (at most `graceMs`; then pending calls reject).
   * Stopping a thread in the middle of a native call is not safe: onnxruntime-node aborts the whole process
   * ("terminate called after throwing an instance of 'Napi::Error'") when its thread goes away during `run()`.
   */
  async terminate(graceMs = 30_000): Promise<void> {
    this.#terminating = true;
    if (this.#pending.size > 0 && !this.#exited) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
    }
    await this.#worker.terminate();
  }
}
