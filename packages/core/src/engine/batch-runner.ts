/**
 * One batch through onnxruntime, the same on the calling thread and in the inference worker: the slots' tensors are
 * packed into one batch tensor, the session runs it, and each image's output row goes back into its slot. A thread
 * that decodes its own batches (the `decode-workers` layout) writes the images straight into a batch tensor instead
 * ({@link BatchRunner.takeBatchTensor}): the slots live in memory shared between threads, which JavaScript copies
 * word by word.
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { ONNXModel } from '../model/onnx-model.js';

/** Runs batches of slots on one {@link ONNXModel}, given float views of the slots' shared buffers. */
export class BatchRunner {
  readonly #model: ONNXModel;
  readonly #inputs: Float32Array;
  readonly #scores: Float32Array;
  /** Floats of one batch tensor: `maxBatchSize` images, rounded up to the model's fixed batch dim. */
  readonly #tensorLength: number;
  /** Batch tensors given back after their run, for {@link takeBatchTensor}. */
  readonly #spareTensors: Float32Array[] = [];
  /** The run before this one (settled or not): the next waits for it. */
  #previous: Promise<unknown> = Promise.resolve();

  /**
   * @param inputs - every slot's input tensor, slot after slot.
   * @param scores - every slot's output row, slot after slot.
   * @param maxBatchSize - most images per batch (each batch tensor has room for this many).
   */
  constructor(model: ONNXModel, inputs: Float32Array, scores: Float32Array, maxBatchSize: number) {
    this.#model = model;
    this.#inputs = inputs;
    this.#scores = scores;
    const fixed = model.batchDim === 'dynamic' ? 1 : model.batchDim;
    this.#tensorLength = Math.ceil(maxBatchSize / fixed) * fixed * model.inputElementsPerImage;
  }

  /**
   * Runs the tensor slots numbered `batch` as one batch, packed into a batch tensor of its own; their output rows
   * hold the scores when it resolves.
   */
  run(batch: readonly number[]): Promise<{ runMs: number }> {
    const per = this.#model.inputElementsPerImage;
    const tensor = this.takeBatchTensor();
    batch.forEach((slot, i) => {
      tensor.set(this.#inputs.subarray(slot * per, (slot + 1) * per), i * per);
    });
    return this.runFilled(tensor, batch);
  }

  /**
   * A batch tensor of room for `maxBatchSize` images, the caller's until it passes it to {@link runFilled} or
   * {@link returnBatchTensor}: image i of the batch goes at element `i × inputElementsPerImage`.
   */
  takeBatchTensor(): Float32Array {
    return this.#spareTensors.pop() ?? new Float32Array(this.#tensorLength);
  }

  /** Takes back a tensor from {@link takeBatchTensor} that is not run. */
  returnBatchTensor(tensor: Float32Array): void {
    this.#spareTensors.push(tensor);
  }

  /**
   * Runs the first `slots.length` images of `tensor` (from {@link takeBatchTensor}, filled by the caller) as one
   * batch; image i's output row goes into slot `slots[i]`. Runs queue behind each other (one session runs one batch
   * at a time); onnxruntime reads the tensor while it runs, off this thread, so it is taken back only once the run
   * has settled.
   */
  runFilled(tensor: Float32Array, slots: readonly number[]): Promise<{ runMs: number }> {
    const run = this.#previous.then(() => this.#runTensor(tensor, slots));
    this.#previous = run.catch(() => {});
    return run.finally(() => this.returnBatchTensor(tensor));
  }

  /** Runs the first `slots.length` images of `tensor`; image i's output row goes into slot `slots[i]`. */
  async #runTensor(tensor: Float32Array, slots: readonly number[]): Promise<{ runMs: number }> {
    const model = this.#model;
    const per = model.inputElementsPerImage;
    const classes = model.numClasses;
    const n = slots.length;
    // A fixed batch dim takes exactly that many images per call: pad with zeros (their rows are ignored).
    const rows = model.batchDim === 'dynamic' ? n : Math.ceil(n / model.batchDim) * model.batchDim;
    if (rows > n) tensor.fill(0, n * per, rows * per);
    const t0 = performance.now();
    const out = await model.run(tensor.subarray(0, rows * per), rows);
    const runMs = performance.now() - t0;
    slots.forEach((slot, i) => {
      this.#scores.set(out.subarray(i * classes, (i + 1) * classes), slot * classes);
    });
    return { runMs };
  }
}
