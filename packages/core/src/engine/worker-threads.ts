/**
 * The worker-thread executors: decode + preprocess in a pool of worker threads, onnxruntime in one inference
 * worker. The calling thread only hands out slot numbers and forms batches, so its event loop stays free (a
 * server keeps answering `/health` while a batch runs).
 * @module
 */
import { Worker } from 'node:worker_threads';
import { ModelLoadError } from '../errors.js';
import type { ModelOptions } from '../model/session-options.js';
import type { DecodeSettings } from './decode-into-slot.js';
import { fromErrorData } from './error-transfer.js';
import {
  DECODES_PER_WORKER,
  type DecodeExecutor,
  type DecodeTimings,
  type EncodedImage,
  type InferenceExecutor,
  type ModelInfo,
} from './executors.js';
import type { TensorSlots } from './tensor-slots.js';
import { WorkerChannel } from './worker-channel.js';
import type {
  DecodeReply,
  DecodeRequest,
  InferenceHello,
  InferenceReply,
  InferenceRequest,
  InferenceWorkerData,
} from './worker-protocol.js';
import { workerExecArgv } from './worker-thread.js';

/** Called with a message about a problem that is no request's fault (a worker thread died). */
export type WarningHandler = (message: string) => void;

function startWorker(file: string, workerData: unknown): Worker {
  return new Worker(new URL(file, import.meta.url), { workerData, execArgv: workerExecArgv() });
}

/**
 * Decode + preprocess in `size` worker threads. Each image goes to the worker with the fewest in flight, at most
 * {@link DECODES_PER_WORKER} each (others wait here, in arrival order). A worker that dies is replaced (its images
 * fail).
 *
 * The threads start when this is constructed — before the model has loaded, so that loading sharp and the resize
 * kernels overlaps the model's load — and take their settings with {@link configure} once the model is known.
 */
export class WorkerDecodeExecutor implements DecodeExecutor {
  readonly #channels: WorkerChannel<DecodeRequest, DecodeReply>[] = [];
  readonly #onWarning: WarningHandler;
  /** Images waiting for a worker with room. */
  readonly #waiting: (() => void)[] = [];
  #configuration: Extract<DecodeRequest, { type: 'configure' }> | undefined;
  #closed = false;

  constructor(size: number, onWarning: WarningHandler) {
    this.#onWarning = onWarning;
    for (let i = 0; i < size; i++) this.#channels.push(this.#spawn(i));
  }

  #spawn(index: number): WorkerChannel<DecodeRequest, DecodeReply> {
    const name = `decode worker ${index + 1}`;
    const channel = new WorkerChannel<DecodeRequest, DecodeReply>(
      startWorker('./decode-worker.js', undefined),
      name,
      (code) => {
        if (this.#closed) return;
        this.#onWarning(`${name} exited (code ${code}); starting a new one`);
        this.#channels[index] = this.#spawn(index);
      },
    );
    // A replacement is configured like the worker it replaces (messages are handled in order).
    if (this.#configuration) void channel.call(this.#configuration).catch(() => {});
    return channel;
  }

  /** Gives the workers their settings and the tensor slots they write into; resolves once all have them. */
  async configure(settings: DecodeSettings, tensorSlots: TensorSlots): Promise<void> {
    this.#configuration = {
      type: 'configure',
      id: 0,
      settings,
      inputBuffer: tensorSlots.inputBuffer,
      elementsPerImage: tensorSlots.elementsPerImage,
    };
    const { id: _, ...message } = this.#configuration;
    await Promise.all(this.#channels.map((c) => c.call(message)));
  }

  get busy(): number {
    let n = 0;
    for (const c of this.#channels) n += c.inFlight;
    return n;
  }

  /** Number of decode worker threads. */
  get size(): number {
    return this.#channels.length;
  }

  /** The worker with the fewest images in flight. */
  #leastBusy(): WorkerChannel<DecodeRequest, DecodeReply> {
    let target = this.#channels[0] as WorkerChannel<DecodeRequest, DecodeReply>;
    for (const c of this.#channels) if (c.inFlight < target.inFlight) target = c;
    return target;
  }

  /** The least busy worker once it has room; images wait in arrival order, one woken per finished decode. */
  async #worker(): Promise<WorkerChannel<DecodeRequest, DecodeReply>> {
    const target = this.#leastBusy();
    if (target.inFlight < DECODES_PER_WORKER && this.#waiting.length === 0) return target;
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
    return this.#leastBusy();
  }

  async prepare(image: EncodedImage, slot: number): Promise<DecodeTimings> {
    const target = await this.#worker();
    let message: EncodedImage = image;
    const transfer: ArrayBuffer[] = [];
    if (image instanceof Uint8Array) {
      // A private copy to move: the caller's bytes may be a view into a larger (or pooled) buffer. (`new Uint8Array`
      // copies; a Buffer's own `slice()` would not, and moving its memory would empty the caller's buffer.)
      const copy = new Uint8Array(image);
      message = copy;
      transfer.push(copy.buffer as ArrayBuffer);
    } else if (typeof image !== 'string' && image.base64 instanceof Uint8Array) {
      const bytes = image.transfer === true ? image.base64 : new Uint8Array(image.base64);
      message = { base64: bytes, ...(image.field === undefined ? {} : { field: image.field }) };
      transfer.push(bytes.buffer as ArrayBuffer);
    } else if (typeof image !== 'string') {
      message = { base64: image.base64, ...(image.field === undefined ? {} : { field: image.field }) };
    }
    try {
      const reply = await target.call({ type: 'decode', slot, image: message }, transfer);
      return reply.timings;
    } finally {
      // A worker has room again: the longest waiting image goes next.
      this.#waiting.shift()?.();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#waiting.splice(0)) wake();
    await Promise.all(this.#channels.map((c) => c.terminate()));
  }
}

/** onnxruntime in one worker thread that owns the session. */
export class WorkerInferenceExecutor implements InferenceExecutor {
  readonly model: ModelInfo;
  readonly #channel: WorkerChannel<InferenceRequest, InferenceReply>;

  private constructor(model: ModelInfo, channel: WorkerChannel<InferenceRequest, InferenceReply>) {
    this.model = model;
    this.#channel = channel;
  }

  /**
   * Starts the worker and waits until it has loaded and warmed the model.
   * @throws the load error (`ModelLoadError`, `ModelShapeError`, …) the worker reports.
   */
  static async start(
    model: string | Uint8Array,
    options: ModelOptions,
    maxBatchSize: number,
    onWarning: WarningHandler,
  ): Promise<WorkerInferenceExecutor> {
    const data: InferenceWorkerData = { model, options, maxBatchSize };
    const worker = startWorker('./inference-worker.js', data);
    let hello: InferenceHello;
    try {
      hello = await new Promise<InferenceHello>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', (code) =>
          reject(new ModelLoadError(`the inference worker exited (code ${code}) while loading the model`)),
        );
      });
    } catch (err) {
      await worker.terminate();
      throw err;
    } finally {
      worker.removeAllListeners('error').removeAllListeners('exit');
    }
    if (!hello.loaded) {
      await worker.terminate();
      throw fromErrorData(hello.error);
    }
    const channel = new WorkerChannel<InferenceRequest, InferenceReply>(
      worker,
      'the inference worker',
      (code) => onWarning(`the inference worker exited (code ${code}); the classifier is no longer ready`),
    );
    return new WorkerInferenceExecutor(hello.model, channel);
  }

  get alive(): boolean {
    return this.#channel.alive;
  }

  attach(tensorSlots: TensorSlots): void {
    void this.#channel
      .call({ type: 'attach', inputBuffer: tensorSlots.inputBuffer, scoreBuffer: tensorSlots.scoreBuffer })
      .catch(() => {});
  }

  async run(batch: readonly number[]): Promise<{ runMs: number }> {
    const reply = await this.#channel.call({ type: 'run', slots: [...batch] });
    return { runMs: reply.runMs };
  }

  async close(): Promise<void> {
    await this.#channel.terminate();
  }
}
