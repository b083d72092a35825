/**
 * One batch through onnxruntime, the same on the calling thread and in the inference worker: the slots' tensors are
 * packed into one batch tensor, the session runs it, and each image's output row goes back into its slot.
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ONNXModel } from '../model/onnx-model.js';
import type { ModelOptions } from '../model/session-options.js';
import type { ModelInfo } from './executors.js';

/** Runs batches of slots on one {@link ONNXModel}, given float views of the slots' shared buffers. */
export class BatchRunner {
  readonly #model: ONNXModel;
  readonly #inputs: Float32Array;
  readonly #scores: Float32Array;
  readonly #batch: Float32Array;

  /**
   * @param inputs - every slot's input tensor, slot after slot.
   * @param scores - every slot's output row, slot after slot.
   * @param maxBatchSize - most images per batch (the batch tensor is allocated once at this size).
   */
  constructor(model: ONNXModel, inputs: Float32Array, scores: Float32Array, maxBatchSize: number) {
    this.#model = model;
    this.#inputs = inputs;
    this.#scores = scores;
    const fixed = model.batchDim === 'dynamic' ? 1 : model.batchDim;
    const rows = Math.ceil(maxBatchSize / fixed) * fixed;
    this.#batch = new Float32Array(rows * model.inputElementsPerImage);
  }

  /** Runs `slots` as one batch; their output rows hold the scores when it resolves. */
  async run(slots: readonly number[]): Promise<{ runMs: number }> {
    const model = this.#model;
    const per = model.inputElementsPerImage;
    const classes = model.numClasses;
    const n = slots.length;
    // A fixed batch dim takes exactly that many images per call: pad with zeros (their rows are ignored).
    const rows = model.batchDim === 'dynamic' ? n : Math.ceil(n / model.batchDim) * model.batchDim;
    slots.forEach((slot, i) => {
      this.#batch.set(this.#inputs.subarray(slot * per, (slot + 1) * per), i * per);
    });
    if (rows > n) this.#batch.fill(0, n * per, rows * per);
    const t0 = performance.now();
    const out = await model.run(this.#batch.subarray(0, rows * per), rows);
    const runMs = performance.now() - t0;
    slots.forEach((slot, i) => {
      this.#scores.set(out.subarray(i * classes, (i + 1) * classes), slot * classes);
    });
    return { runMs };
  }
}

/** SHA-256 (hex) of a model file or its bytes: the model's identity in replies, health reports and self-tests. */
export async function modelSha256(source: string | Uint8Array): Promise<string> {
  const hash = createHash('sha256');
  if (typeof source !== 'string') return hash.update(source).digest('hex');
  for await (const chunk of createReadStream(source)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Loads a model for the engine: one session (shared per process, see {@link ONNXModel.load}), warmed by one blank
 * run, and its {@link ModelInfo}.
 */
export async function loadEngineModel(
  source: string | Uint8Array | ONNXModel,
  options: ModelOptions,
): Promise<{ model: ONNXModel; info: ModelInfo; owned: boolean }> {
  const started = performance.now();
  const owned = !(source instanceof ONNXModel);
  const model = source instanceof ONNXModel ? source : await ONNXModel.load(source, options);
  try {
    // A session the caller loaded from bytes has no file to hash: its identity is then unknown.
    const hashed =
      source instanceof ONNXModel ? (model.source === '<bytes>' ? undefined : model.source) : source;
    const [sha256] = await Promise.all([
      hashed === undefined ? 'unknown' : modelSha256(hashed),
      model.warmup(1),
    ]);
    return { model, info: describeModel(model, sha256, performance.now() - started), owned };
  } catch (err) {
    if (owned) model.dispose();
    throw err;
  }
}

/** The {@link ModelInfo} of a loaded model. */
export function describeModel(model: ONNXModel, sha256: string, loadMs: number): ModelInfo {
  return {
    source: model.source,
    sha256,
    inputs: model.inputs,
    outputs: model.outputs,
    inputName: model.inputName,
    outputName: model.outputName,
    inputLayout: model.inputLayout,
    inputSize: { width: model.inputSize.width, height: model.inputSize.height },
    batchDim: model.batchDim,
    numClasses: model.numClasses,
    inputElementsPerImage: model.inputElementsPerImage,
    executionProvider: model.executionProvider,
    ...(model.fallbackMessage === undefined ? {} : { fallbackMessage: model.fallbackMessage }),
    int8Kernels: model.int8Kernels,
    onnxruntimeVersion: ONNXModel.runtimeVersion,
    loadMs,
  };
}
