/**
 * The in-thread executors: decode and inference on the calling thread. sharp still decodes on libuv's thread pool
 * (the calling thread only resizes), but onnxruntime's `run()` blocks the calling thread for the whole batch — use
 * these for scripts and batch jobs, not next to a server's event loop.
 * @module
 */
import type { ImagePreprocessor } from '../input/image-preprocessor.js';
import type { ONNXModel } from '../model/onnx-model.js';
import { BatchRunner } from './batch-runner.js';
import { decodeIntoSlot } from './decode-into-slot.js';
import {
  DECODES_PER_WORKER,
  type DecodeExecutor,
  type DecodeTimings,
  type EncodedImage,
  type InferenceExecutor,
  type ModelInfo,
} from './executors.js';
import type { TensorSlots } from './tensor-slots.js';

/**
 * Decodes on the calling thread (sharp on libuv's pool, the exact resize in JavaScript here), at most
 * {@link DECODES_PER_WORKER} at once — like one decode worker, so decoded full-size pixels do not pile up.
 */
export class InThreadDecodeExecutor implements DecodeExecutor {
  readonly #preprocessor: ImagePreprocessor;
  readonly #tensorSlots: TensorSlots;
  readonly #waiting: (() => void)[] = [];
  #busy = 0;

  constructor(preprocessor: ImagePreprocessor, tensorSlots: TensorSlots) {
    this.#preprocessor = preprocessor;
    this.#tensorSlots = tensorSlots;
  }

  get busy(): number {
    return this.#busy;
  }

  async prepare(image: EncodedImage, slot: number): Promise<DecodeTimings> {
    if (this.#busy >= DECODES_PER_WORKER || this.#waiting.length > 0)
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#busy += 1;
    try {
      return await decodeIntoSlot(this.#preprocessor, image, this.#tensorSlots.input(slot), 0);
    } finally {
      this.#busy -= 1;
      this.#waiting.shift()?.();
    }
  }

  async close(): Promise<void> {}
}

/** Runs onnxruntime on the calling thread, on a session loaded here. */
export class InThreadInferenceExecutor implements InferenceExecutor {
  readonly model: ModelInfo;
  readonly #session: ONNXModel;
  readonly #ownsSession: boolean;
  readonly #maxBatchSize: number;
  #runner: BatchRunner | undefined;
  /** The batch running now: the session is released only after it (releasing it mid-run is not safe). */
  #running: Promise<unknown> | undefined;

  /**
   * @param session - the loaded model; released by {@link close} when `ownsSession`.
   * @param maxBatchSize - most images per batch.
   */
  constructor(session: ONNXModel, info: ModelInfo, ownsSession: boolean, maxBatchSize: number) {
    this.#session = session;
    this.model = info;
    this.#ownsSession = ownsSession;
    this.#maxBatchSize = maxBatchSize;
  }

  get alive(): boolean {
    return !this.#session.disposed;
  }

  /** One batch at a time: the session runs on this thread. */
  get concurrency(): number {
    return 1;
  }

  attach(tensorSlots: TensorSlots): void {
    this.#runner = new BatchRunner(
      this.#session,
      new Float32Array(tensorSlots.inputBuffer),
      new Float32Array(tensorSlots.scoreBuffer),
      this.#maxBatchSize,
    );
  }

  run(batch: readonly number[]): Promise<{ runMs: number }> {
    if (!this.#runner) throw new Error('InThreadInferenceExecutor.run before attach');
    const run = this.#runner.run(batch);
    this.#running = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    await this.#running;
    if (this.#ownsSession) this.#session.dispose();
  }
}
