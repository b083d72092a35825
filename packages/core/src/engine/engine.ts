/**
 * The classification engine: the one path every image takes — admission (bounded, back-pressure), a tensor slot,
 * decode + preprocess (a {@link DecodeExecutor}), a micro-batch, onnxruntime (an {@link InferenceExecutor}), the
 * output row — and the drain on `close()`. `ImageClassifier` (and through it the CLI and the server) runs on it.
 * @module
 */
import { performance } from 'node:perf_hooks';
import {
  InvalidInputError,
  type MtailorError,
  NotReadyError,
  OverloadedError,
  ShuttingDownError,
} from '../errors.js';
import { type ImageInput, readImageBytes } from '../input/read-image-bytes.js';
import { toMtailorError } from './error-transfer.js';
import type {
  Base64Image,
  ChunkOutcome,
  DecodeExecutor,
  EncodedImage,
  InferenceExecutor,
  ModelInfo,
} from './executors.js';
import { MicroBatcher } from './micro-batcher.js';
import type { TensorSlots } from './tensor-slots.js';

/**
 * An already preprocessed image: one image's input tensor in the model's layout (`3 × H × W` floats, normalised as
 * the model expects). It skips decoding and goes straight to batching.
 *
 * @example
 * ```ts
 * await classifier.classify({ tensor: new Float32Array(3 * 224 * 224) });
 * ```
 */
export interface TensorImage {
  tensor: Float32Array;
}

/** Anything the engine classifies: an image (path, bytes, stream), base64 text, or a ready tensor. */
export type EngineInput = ImageInput | Base64Image | TensorImage;

/** Settings of {@link ClassificationEngine}. */
export interface EngineOptions {
  /** Most images per onnxruntime call (a fixed batch dim wins). */
  maxBatchSize: number;
  /** Longest an image waits for others to join its batch while more are being decoded. */
  maxDelayMs: number;
  /** Most images in progress (waiting for a slot, decoding, batched, running); more are refused `OVERLOADED`. */
  maxQueue: number;
  /** Largest encoded input read from a stream on the calling thread. */
  maxInputBytes: number;
  /** Called with the size and onnxruntime time of each batch once it ran. */
  onBatch?: ((size: number, runMs: number) => void) | undefined;
}

/** Milliseconds per stage of one image, and the batch it ran in. */
export interface EngineTimings {
  /** Reading the file or stream. */
  readMs: number;
  /** Decoding to pixels (base64 decoding included). */
  decodeMs: number;
  /** Resize, crop, tensor. */
  preprocessMs: number;
  /** Waiting: for a free slot, for its batch to form and the session to free up, and passing messages. */
  queueMs: number;
  /** onnxruntime time of the batch it ran in. */
  inferenceMs: number;
  /** Images in that batch. */
  batchSize: number;
  /** From admission to the output row. */
  totalMs: number;
}

/** One image of {@link ClassificationEngine.runChunk}: its value and timings, or its error. */
export type ChunkItem<T> =
  | { ok: true; value: T; timings: EngineTimings }
  | { ok: false; error: MtailorError };

/** What the engine is doing, for health and readiness checks and metrics. */
export interface EngineStatus {
  /** `running`, `closing` (draining: new work refused), `closed`. */
  state: 'running' | 'closing' | 'closed';
  /** Taking work: running, and the inference thread alive. */
  ready: boolean;
  /** Images admitted and not finished. */
  inProgress: number;
  /** Images waiting for a free tensor slot. */
  waitingForSlot: number;
  /** Images being decoded. */
  decoding: number;
  /** Images waiting for a batch. */
  queued: number;
  /** The most recent batch: when it finished and its onnxruntime time. */
  lastInference: { at: Date; ms: number } | undefined;
}

function isTensorImage(input: EngineInput): input is TensorImage {
  return typeof input === 'object' && input !== null && 'tensor' in input;
}

function isBase64Image(input: EngineInput): input is Base64Image {
  return typeof input === 'object' && input !== null && 'base64' in input;
}

/**
 * Runs images through a decode executor and an inference executor that share one set of tensor slots. Internal:
 * `ImageClassifier` builds one and is its public face (`engine.run('cat.jpg', (scores) => argmax(scores))` is what
 * its `classify` does, with top-k and labels as the `consume` step).
 */
export class ClassificationEngine {
  readonly #decode: DecodeExecutor;
  readonly #inference: InferenceExecutor;
  readonly #tensorSlots: TensorSlots;
  readonly #options: EngineOptions;
  readonly #batcher: MicroBatcher;
  #state: EngineStatus['state'] = 'running';
  #inProgress = 0;
  #decoding = 0;
  #lastInference: EngineStatus['lastInference'];
  #drained: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    decode: DecodeExecutor,
    inference: InferenceExecutor,
    tensorSlots: TensorSlots,
    options: EngineOptions,
  ) {
    this.#decode = decode;
    this.#inference = inference;
    this.#tensorSlots = tensorSlots;
    this.#options = options;
    this.#batcher = new MicroBatcher({
      maxBatchSize: this.maxBatchSize,
      maxDelayMs: options.maxDelayMs,
      run: (batch) => this.#inference.run(batch),
      maxRunning: inference.concurrency,
      expectMore: () => this.#decoding > 0,
      onBatch: (size, runMs) => {
        this.#lastInference = { at: new Date(), ms: runMs };
        options.onBatch?.(size, runMs);
      },
    });
    inference.attach(tensorSlots);
  }

  /** The model the engine runs. */
  get model(): ModelInfo {
    return this.#inference.model;
  }

  /** Most images per onnxruntime call. */
  get maxBatchSize(): number {
    const fixed = this.model.batchDim;
    return fixed === 'dynamic' ? this.#options.maxBatchSize : fixed;
  }

  /** Tensor slots: images that can be in decode, batch or inference at once. */
  get slotCount(): number {
    return this.#tensorSlots.count;
  }

  /** The settings it runs with. */
  get options(): Readonly<EngineOptions> {
    return this.#options;
  }

  /** What the engine is doing now. */
  status(): EngineStatus {
    return {
      state: this.#state,
      ready: this.#state === 'running' && this.#inference.alive,
      inProgress: this.#inProgress,
      waitingForSlot: this.#tensorSlots.waiting,
      decoding: this.#decoding,
      queued: this.#batcher.queued,
      lastInference: this.#lastInference,
    };
  }

  /**
   * Classifies one input: `consume` receives its output row (a view valid only during the call) and its result is
   * returned with the stage timings.
   *
   * @param signal - abandons the image while it waits for a slot (a client that hung up).
   * @throws {@link OverloadedError} when `maxQueue` images are in progress; {@link ShuttingDownError} after
   *   `close()`; {@link NotReadyError} when the inference thread died; the image's own typed error.
   */
  async run<T>(
    input: EngineInput,
    consume: (scores: Float32Array) => T,
    signal?: AbortSignal,
  ): Promise<{ value: T; timings: EngineTimings }> {
    this.#admit(1);
    this.#inProgress += 1;
    const start = performance.now();
    try {
      return await this.#runAdmitted(input, consume, start, signal);
    } catch (err) {
      throw this.#closeAware(err);
    } finally {
      this.#inProgress -= 1;
      if (this.#inProgress === 0) this.#drained?.();
    }
  }

  async #runAdmitted<T>(
    input: EngineInput,
    consume: (scores: Float32Array) => T,
    start: number,
    signal: AbortSignal | undefined,
  ): Promise<{ value: T; timings: EngineTimings }> {
    let readMs = 0;
    let image: EncodedImage | TensorImage;
    if (isTensorImage(input)) {
      const per = this.#tensorSlots.elementsPerImage;
      if (!(input.tensor instanceof Float32Array) || input.tensor.length !== per)
        throw new InvalidInputError(
          `an image tensor must be a Float32Array of ${per} floats (3 × ${this.model.inputSize.height} × ${this.model.inputSize.width}), not ${describe(input.tensor)}`,
        );
      image = input;
    } else if (typeof input === 'string' || input instanceof Uint8Array || isBase64Image(input)) {
      image = input;
    } else {
      // Streams cannot cross threads, and an ArrayBuffer is read as bytes: both become bytes here.
      const t0 = performance.now();
      image = await readImageBytes(input, this.#options.maxInputBytes);
      readMs = performance.now() - t0;
    }
    const slot = await this.#tensorSlots.acquire(signal);
    try {
      let decode = { readMs: 0, decodeMs: 0, preprocessMs: 0 };
      if (isTensorImage(image)) {
        this.#tensorSlots.input(slot).set(image.tensor);
      } else {
        this.#decoding += 1;
        try {
          decode = await this.#decode.prepare(image, slot);
        } finally {
          this.#decoding -= 1;
          // One fewer image on its way: a batch waiting for company may leave now.
          this.#batcher.poke();
        }
      }
      const batch = await this.#batcher.submit(slot);
      const value = consume(this.#tensorSlots.scores(slot));
      const totalMs = performance.now() - start;
      const worked = readMs + decode.readMs + decode.decodeMs + decode.preprocessMs + batch.inferenceMs;
      return {
        value,
        timings: {
          readMs: readMs + decode.readMs,
          decodeMs: decode.decodeMs,
          preprocessMs: decode.preprocessMs,
          // Everything not spent working on this image: slot wait, batch wait, messages between threads.
          queueMs: Math.max(0, totalMs - worked),
          inferenceMs: batch.inferenceMs,
          batchSize: batch.batchSize,
          totalMs,
        },
      };
    } finally {
      this.#tensorSlots.release(slot);
    }
  }

  /**
   * Whether {@link runChunk} works here: the `decode-workers` layout, whose threads decode and run whole batches.
   */
  get runsChunks(): boolean {
    return this.#inference.runChunk !== undefined;
  }

  /**
   * Classifies up to a batch of files or encoded images as one unit of work for one thread — decoded there and run
   * there as one batch, with one message each way instead of several per image (bulk jobs: the CLI's folders).
   * Each image gets its own outcome: one that fails to decode fails alone. Needs {@link runsChunks}.
   *
   * @throws {@link OverloadedError} when the chunk does not fit under `maxQueue`; {@link ShuttingDownError} after
   *   `close()`; {@link NotReadyError} when the threads died. A failed batch rejects each image's outcome, not this.
   */
  async runChunk<T>(
    inputs: readonly (string | Uint8Array)[],
    consume: (scores: Float32Array) => T,
  ): Promise<ChunkItem<T>[]> {
    const runChunk = this.#inference.runChunk?.bind(this.#inference);
    if (!runChunk) throw new Error('runChunk needs the decode-workers layout');
    if (inputs.length === 0) return [];
    if (inputs.length > this.maxBatchSize)
      throw new InvalidInputError(`a chunk holds at most ${this.maxBatchSize} images, not ${inputs.length}`);
    this.#admit(inputs.length);
    this.#inProgress += inputs.length;
    const start = performance.now();
    const slots: number[] = [];
    try {
      for (let i = 0; i < inputs.length; i++) slots.push(await this.#tensorSlots.acquire());
      let outcome: ChunkOutcome;
      try {
        outcome = await runChunk(inputs, slots);
      } catch (err) {
        const error = this.#closeAware(err);
        return inputs.map(() => ({ ok: false, error }));
      }
      const decoded = outcome.images.filter((r) => r.ok).length;
      const totalMs = performance.now() - start;
      return outcome.images.map((r, i): ChunkItem<T> => {
        if (!r.ok) return { ok: false, error: r.error };
        const { readMs, decodeMs, preprocessMs } = r.timings;
        const worked = readMs + decodeMs + preprocessMs + outcome.runMs;
        return {
          ok: true,
          value: consume(this.#tensorSlots.scores(slots[i] as number)),
          timings: {
            readMs,
            decodeMs,
            preprocessMs,
            queueMs: Math.max(0, totalMs - worked),
            inferenceMs: outcome.runMs,
            batchSize: decoded,
            totalMs,
          },
        };
      });
    } finally {
      for (const slot of slots) this.#tensorSlots.release(slot);
      this.#inProgress -= inputs.length;
      if (this.#inProgress === 0) this.#drained?.();
    }
  }

  /** Refuses new work when closing, not ready, or when `count` more images would exceed `maxQueue`. */
  #admit(count: number): void {
    if (this.#state !== 'running')
      throw new ShuttingDownError(
        `the classifier is ${this.#state === 'closing' ? 'shutting down' : 'closed'}`,
      );
    if (!this.#inference.alive) throw new NotReadyError('the inference thread is not running');
    if (this.#inProgress + count > this.#options.maxQueue)
      throw new OverloadedError(
        `${this.#options.maxQueue} images are already in progress (maxQueue); retry later`,
      );
  }

  /** An error of work in progress: a thread stopped or a session released by close() is the close's doing. */
  #closeAware(err: unknown): MtailorError {
    const error = toMtailorError(err);
    // (The state may have moved on while the work was in progress: TypeScript narrowed it at admission.)
    const closed = (this.#state as EngineStatus['state']) === 'closed';
    return closed && (error.code === 'INFERENCE_FAILED' || error.code === 'DISPOSED')
      ? new ShuttingDownError('the classifier closed before this image was finished', { cause: err })
      : error;
  }

  /**
   * Stops taking work (new images get `SHUTTING_DOWN`), lets the images in progress finish for up to `timeoutMs`,
   * then stops the executors; images still unfinished then reject with `SHUTTING_DOWN`. Idempotent.
   */
  close(timeoutMs = 10_000): Promise<void> {
    this.#closing ??= this.#drain(timeoutMs);
    return this.#closing;
  }

  async #drain(timeoutMs: number): Promise<void> {
    this.#state = 'closing';
    if (this.#inProgress > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    this.#state = 'closed';
    this.#tensorSlots.rejectWaiters(
      new ShuttingDownError('the classifier closed before this image got a tensor slot'),
    );
    await Promise.allSettled([this.#decode.close(), this.#inference.close()]);
  }
}

function describe(value: unknown): string {
  if (value instanceof Float32Array) return `${value.length} floats`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return `a value of type ${typeof value}`;
}
