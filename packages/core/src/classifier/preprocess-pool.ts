/**
 * A pool of worker threads that decode and preprocess images while the main thread runs inference.
 * @module
 */
import { Worker } from 'node:worker_threads';
import { DisposedError, InferenceError, type MtailorError } from '../errors.js';
import { fromErrorData } from './error-transfer.js';
import type { PreprocessorSettings } from './image-classifier.js';
import type { TensorSlot, WorkerRequest, WorkerResponse, WorkerTimings } from './worker-protocol.js';

interface Pending {
  resolve: (timings: WorkerTimings) => void;
  reject: (err: MtailorError) => void;
}

interface PoolWorker {
  worker: Worker;
  inFlight: Map<number, Pending>;
}

/**
 * Worker threads each running an {@link ImagePreprocessor} built from the same settings. Work goes to the worker
 * with the fewest images in flight; several in flight per worker keep it busy while the main thread is blocked in
 * onnxruntime's `run()` and cannot hand out more.
 */
export class PreprocessWorkerPool {
  readonly #workers: PoolWorker[] = [];
  #nextId = 0;
  #closed = false;
  #inFlight = 0;

  /** Starts `size` workers (they load the built `dist/` code next to this file). */
  constructor(settings: PreprocessorSettings, size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./preprocess-worker.js', import.meta.url), {
        workerData: settings,
        execArgv: workerExecArgv(),
      });
      // Idle workers must not keep the process alive (a forgotten dispose() would hang it); #track() refs them
      // while work is in flight, so that awaiting a result does too.
      worker.unref();
      const entry: PoolWorker = { worker, inFlight: new Map() };
      worker.on('message', (response: WorkerResponse) => {
        const pending = entry.inFlight.get(response.id);
        if (!pending) return;
        entry.inFlight.delete(response.id);
        this.#track(-1);
        if (response.ok) pending.resolve(response.timings);
        else pending.reject(fromErrorData(response.error));
      });
      const failAll = (err: Error): void => {
        for (const pending of entry.inFlight.values())
          pending.reject(new InferenceError(`preprocessing worker failed: ${err.message}`, { cause: err }));
        this.#track(-entry.inFlight.size);
        entry.inFlight.clear();
      };
      worker.on('error', failAll);
      worker.on('exit', (code) => {
        if (!this.#closed) failAll(new Error(`exited with code ${code}`));
        const index = this.#workers.indexOf(entry);
        if (index >= 0) this.#workers.splice(index, 1);
      });
      this.#workers.push(entry);
    }
  }

  /** Number of live workers. */
  get size(): number {
    return this.#workers.length;
  }

  /**
   * Decodes and preprocesses one image (a file path is read inside the worker) into `slot`; resolves with the
   * stage timings once the tensor is there.
   */
  process(input: string | Uint8Array, slot: TensorSlot): Promise<WorkerTimings> {
    return new Promise((resolve, reject) => {
      let target = this.#workers[0];
      for (const w of this.#workers) if (target && w.inFlight.size < target.inFlight.size) target = w;
      if (this.#closed) {
        reject(new DisposedError('ImageClassifier'));
        return;
      }
      if (!target) {
        reject(new InferenceError('no live preprocessing worker'));
        return;
      }
      const id = this.#nextId++;
      target.inFlight.set(id, { resolve, reject });
      this.#track(1);
      const request: WorkerRequest = { id, input, slot };
      target.worker.postMessage(request);
    });
  }

  /** Keeps the process alive exactly while some image is in flight. */
  #track(delta: number): void {
    const before = this.#inFlight;
    this.#inFlight += delta;
    if (before === 0 && this.#inFlight > 0) for (const w of this.#workers) w.worker.ref();
    else if (before > 0 && this.#inFlight === 0) for (const w of this.#workers) w.worker.unref();
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    this.#closed = true;
    // Images still in flight will never come back: settle them now, so no caller waits forever.
    for (const w of this.#workers) {
      for (const pending of w.inFlight.values()) pending.reject(new DisposedError('ImageClassifier'));
      this.#track(-w.inFlight.size);
      w.inFlight.clear();
    }
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }
}

/**
 * The parent's Node flags minus those a worker refuses (`--input-type`, `-e`/`--eval`, `-p`/`--print`: a script run
 * with `node --input-type=module -e …` would otherwise fail to start any worker).
 */
function workerExecArgv(): string[] {
  const refused = /^(--input-type(=.*)?|-e|--eval|-p|--print)$/;
  return process.execArgv.filter((arg) => !refused.test(arg));
}
