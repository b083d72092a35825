/**
 * A worker thread with request/reply by id: `call(message)` resolves with the reply carrying the same id. If the
 * worker dies, every pending call is rejected (nothing hangs).
 * @module
 */
import type { Worker } from 'node:worker_threads';
import { type WireError, WorkerTaskError } from './protocol.js';

interface Pending {
  resolve: (reply: unknown) => void;
  reject: (err: Error) => void;
}

/** One worker thread speaking the `{ id, ok, … }` protocol of `protocol.ts`. */
export class WorkerClient<Req extends { id: number }, Rep extends { id: number; ok: boolean }> {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited = false;
  /** Calls not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  constructor(
    readonly worker: Worker,
    private readonly onUnexpectedExit?: (code: number) => void,
  ) {
    worker.on('message', (reply: Rep) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply);
      else p.reject(new WorkerTaskError((reply as unknown as { error: WireError }).error));
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => {
      const wasExpected = this.exited;
      this.exited = true;
      this.failAll(new Error(`worker thread exited (code ${code})`));
      if (!wasExpected) this.onUnexpectedExit?.(code);
    });
  }

  /** Sends `message` (its `id` is assigned here) and resolves with the matching reply. */
  call(message: Omit<Req, 'id'>, transfer: ArrayBuffer[] = []): Promise<Rep> {
    if (this.exited) return Promise.reject(new Error('worker thread has exited'));
    const id = this.nextId++;
    return new Promise<Rep>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Stops the thread. */
  async terminate(): Promise<void> {
    this.exited = true;
    await this.worker.terminate();
  }
}
