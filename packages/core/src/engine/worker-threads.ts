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
  CHUNKS_PER_WORKER,
  type ChunkOutcome,
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
  ChunkReply,
  ChunkRequest,
  DecodeReply,
  DecodeRequest,
  InferenceHello,
  InferenceReply,
  InferenceRequest,
  InferenceWorkerData,
} from './worker-protocol.js';
import { workerExecArgv } from './worker-thread.js';

/** What a decode worker is asked (decodes; batches and chunks too when it runs the model). */
type WorkerRequest = DecodeRequest | InferenceRequest | ChunkRequest;
/** What a decode worker answers. */
type WorkerReply = DecodeReply | InferenceReply | ChunkReply;

/** The first message of a worker loading a model: loaded, or why not; a worker that exits first failed to load. */
function modelLoaded(worker: Worker, name: string): Promise<InferenceHello> {
  return new Promise<InferenceHello>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new ModelLoadError(`${name} exited (code ${code}) while loading the model`)),
    );
  });
}

/** Called with a message about a problem that is no request's fault (a worker thread died). */
export type WarningHandler = (message: string) => void;

/**
 * A private copy of `bytes` whose memory is added to `transfer` (moved to the worker, not cloned): the caller's bytes
 * may be a view into a larger (or pooled) buffer, which cloning would copy whole. (`new Uint8Array` copies; a Buffer's
 * own `slice()` would not, and moving its memory would empty the caller's buffer.)
 */
function movableCopy(bytes: Uint8Array, transfer: ArrayBuffer[]): Uint8Array {
  const copy = new Uint8Array(bytes);
  transfer.push(copy.buffer as ArrayBuffer);
  return copy;
}

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
  readonly #channels: WorkerChannel<WorkerRequest, WorkerReply>[] = [];
  readonly #onWarning: WarningHandler;
  /** Images and chunks waiting for a worker with room. */
  readonly #waiting: (() => void)[] = [];
  /** The model every worker also loads and runs batches on (the `decode-workers` layout). */
  readonly #batchModel: InferenceWorkerData | undefined;
  /** Each first worker's model load (`#batchModel` only). */
  readonly #hellos: Promise<InferenceHello>[] = [];
  /** Workers running a batch now. */
  readonly #runningBatch = new Set<WorkerChannel<WorkerRequest, WorkerReply>>();
  #configuration: Extract<DecodeRequest, { type: 'configure' }> | undefined;
  #attachment: Extract<InferenceRequest, { type: 'attach' }> | undefined;
  #closed = false;

  /**
   * @param batchModel - when given, every worker also loads this model and runs batches: see {@link startInference}.
   */
  constructor(size: number, onWarning: WarningHandler, batchModel?: InferenceWorkerData) {
    this.#onWarning = onWarning;
    this.#batchModel = batchModel;
    for (let i = 0; i < size; i++) this.#channels.push(this.#spawn(i));
  }

  #spawn(index: number): WorkerChannel<WorkerRequest, WorkerReply> {
    const name = `decode worker ${index + 1}`;
    const worker = startWorker('./decode-worker.js', this.#batchModel);
    const channel = new WorkerChannel<WorkerRequest, WorkerReply>(worker, name, (code) => {
      if (this.#closed) return;
      this.#onWarning(`${name} exited (code ${code}); starting a new one`);
      this.#channels[index] = this.#spawn(index);
    });
    if (this.#batchModel && this.#hellos.length === index) {
      // The model load is awaited (startInference): the thread keeps the process alive until it answers.
      worker.ref();
      const hello = modelLoaded(worker, name);
      hello.then(
        () => worker.unref(),
        () => {}, // startInference reports it; a pool closed before that must not leave it unhandled
      );
      this.#hellos.push(hello);
    }
    // A replacement is configured like the worker it replaces (messages are handled in order).
    if (this.#configuration) void channel.call(this.#configuration).catch(() => {});
    if (this.#attachment) void channel.call(this.#attachment).catch(() => {});
    return channel;
  }

  /**
   * For a pool started with a model: waits until every worker has loaded it, and returns the inference executor
   * that runs batches on these workers — as many batches at once as there are workers, each on a worker not running
   * one, the least busy first. Closing either executor closes the pool.
   *
   * @throws the load error a worker reports (`ModelLoadError`, `ModelShapeError`, …).
   */
  async startInference(): Promise<InferenceExecutor> {
    const hellos = await Promise.all(this.#hellos);
    const first = hellos[0];
    if (first === undefined) throw new Error('startInference on a pool started without a model');
    for (const hello of hellos) if (!hello.loaded) throw fromErrorData(hello.error);
    const model = (first as Extract<InferenceHello, { loaded: true }>).model;
    const channels = this.#channels;
    return {
      model,
      concurrency: channels.length,
      get alive() {
        return channels.some((c) => c.alive);
      },
      attach: (tensorSlots) => {
        this.#attachment = {
          type: 'attach',
          id: 0,
          inputBuffer: tensorSlots.inputBuffer,
          scoreBuffer: tensorSlots.scoreBuffer,
        };
        const { id: _, ...message } = this.#attachment;
        for (const c of this.#channels) void c.call(message).catch(() => {});
      },
      run: (batch) => this.#runBatch(batch),
      runChunk: (images, slots) => this.#runChunk(images, slots),
      close: () => this.close(),
    };
  }

  /**
   * A chunk on the worker with the fewest calls in flight, once one has fewer than {@link CHUNKS_PER_WORKER}: each
   * worker has its next chunk queued while it runs one, and no worker gets ahead of the others.
   */
  async #runChunk(images: readonly (string | Uint8Array)[], slots: readonly number[]): Promise<ChunkOutcome> {
    const target = await this.#worker(CHUNKS_PER_WORKER);
    try {
      const transfer: ArrayBuffer[] = [];
      const message = images.map((image) =>
        typeof image === 'string' ? image : movableCopy(image, transfer),
      );
      const reply = (await target.call(
        { type: 'chunk', slots: [...slots], images: message },
        transfer,
      )) as Extract<ChunkReply, { ok: true }>;
      return {
        runMs: reply.runMs,
        images: reply.images.map((r) => (r.ok ? r : { ok: false, error: fromErrorData(r.error) })),
      };
    } finally {
      // A worker has room again: the longest waiting image or chunk goes next.
      this.#waiting.shift()?.();
    }
  }

  async #runBatch(batch: readonly number[]): Promise<{ runMs: number }> {
    let target: WorkerChannel<WorkerRequest, WorkerReply> | undefined;
    for (const c of this.#channels)
      if (!this.#runningBatch.has(c) && (!target || c.inFlight < target.inFlight)) target = c;
    target ??= this.#leastBusy();
    this.#runningBatch.add(target);
    try {
      const reply = (await target.call({ type: 'run', slots: [...batch] })) as { runMs: number };
      return { runMs: reply.runMs };
    } finally {
      this.#runningBatch.delete(target);
    }
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
  #leastBusy(): WorkerChannel<WorkerRequest, WorkerReply> {
    let target = this.#channels[0] as WorkerChannel<WorkerRequest, WorkerReply>;
    for (const c of this.#channels) if (c.inFlight < target.inFlight) target = c;
    return target;
  }

  /**
   * The least busy worker once it has fewer than `room` calls in flight; images and chunks wait in one queue, in
   * arrival order, one woken per finished decode or chunk.
   */
  async #worker(room: number): Promise<WorkerChannel<WorkerRequest, WorkerReply>> {
    const target = this.#leastBusy();
    if (target.inFlight < room && this.#waiting.length === 0) return target;
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
    return this.#leastBusy();
  }

  async prepare(image: EncodedImage, slot: number): Promise<DecodeTimings> {
    const target = await this.#worker(DECODES_PER_WORKER);
    let message: EncodedImage = image;
    const transfer: ArrayBuffer[] = [];
    if (image instanceof Uint8Array) {
      message = movableCopy(image, transfer);
    } else if (typeof image !== 'string' && image.base64 instanceof Uint8Array) {
      const bytes = image.transfer === true ? image.base64 : new Uint8Array(image.base64);
      message = { base64: bytes, ...(image.field === undefined ? {} : { field: image.field }) };
      transfer.push(bytes.buffer as ArrayBuffer);
    } else if (typeof image !== 'string') {
      message = { base64: image.base64, ...(image.field === undefined ? {} : { field: image.field }) };
    }
    try {
      const reply = await target.call({ type: 'decode', slot, image: message }, transfer);
      return (reply as Extract<DecodeReply, { ok: true }>).timings;
    } finally {
      // A worker has room again: the longest waiting image goes next.
      this.#waiting.shift()?.();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
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

  /** One batch at a time: one session on one thread. */
  get concurrency(): number {
    return 1;
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
