/**
 * The engine's front door: {@link startEngine} picks the decode and inference executors for the options (in the
 * style of onnxruntime-common's `backend-impl.ts`: the choice lives beside the implementations, not in their user),
 * starts them, sizes the tensor slots and returns the running {@link ClassificationEngine}. `ImageClassifier` keeps
 * what is about classification (manifest, labels, recipe, self-test) and calls it.
 * @module
 */
import { InvalidOptionError } from '../errors.js';
import type { ONNXModel } from '../model/onnx-model.js';
import type { ModelOptions } from '../model/session-options.js';
import { createPreprocessor, type DecodeSettings } from './decode-into-slot.js';
import { ClassificationEngine, type EngineOptions } from './engine.js';
import {
  CHUNKS_PER_WORKER,
  type DecodeExecutor,
  type InferenceExecutor,
  type ModelInfo,
} from './executors.js';
import { InThreadDecodeExecutor, InThreadInferenceExecutor } from './in-thread.js';
import { loadEngineModel } from './load-model.js';
import { TensorSlots } from './tensor-slots.js';
import type { InferenceWorkerData } from './worker-protocol.js';
import { type WarningHandler, WorkerDecodeExecutor, WorkerInferenceExecutor } from './worker-threads.js';

/**
 * Where onnxruntime runs:
 * - `'worker'`: its own thread (one session), fed by the decode workers — a batch never waits behind a decode, so
 *   latency stays low while the calling thread's event loop stays free;
 * - `'caller'`: the calling thread (blocks it for each batch; required for an `ONNXModel` passed in);
 * - `'decode-workers'`: every decode worker loads its own session and also runs batches — as many batches at once as
 *   workers and no thread beyond them: the cheapest layout per image, for bulk jobs on any number of cores.
 */
export type InferenceThread = 'worker' | 'caller' | 'decode-workers';

/** What {@link startEngine} needs: the model, where each stage runs, batching, and the decode settings. */
export interface StartEngineOptions extends EngineOptions {
  /** Model file, its bytes, or a loaded {@link ONNXModel} (which runs on the calling thread; the caller owns it). */
  model: string | Uint8Array | ONNXModel;
  /** Session options for a model the engine loads. */
  modelOptions: ModelOptions;
  /** Decode worker threads; `0` decodes on the calling thread. */
  workers: number;
  /** Where onnxruntime runs: see {@link InferenceThread}. */
  inferenceThread: InferenceThread;
  /** Told about problems that are no request's fault (a worker thread died). */
  onWarning: WarningHandler;
  /**
   * Called once the model is loaded, with what is known about it: checks it against the caller's expectations and
   * returns the decode settings (the recipe resolved against the model's input). Throwing stops the start-up.
   */
  configure(model: ModelInfo): Promise<DecodeSettings>;
}

/**
 * Starts the engine: decode workers (now, so their start-up overlaps the model's load), the inference executor with
 * the warmed model, then — once `configure` has accepted the model — the tensor slots and the decode settings.
 * Whatever started is stopped again if a step fails. Internal: `ImageClassifier.create` is its caller (and through
 * it the CLI and the server).
 *
 * @throws the model's load error (`ModelLoadError`, `ModelShapeError`, …) or what `configure` throws.
 */
export async function startEngine(options: StartEngineOptions): Promise<ClassificationEngine> {
  const { workers, onWarning } = options;
  const batchModel = options.inferenceThread === 'decode-workers' ? workerModel(options) : undefined;
  const decodePool = workers > 0 ? new WorkerDecodeExecutor(workers, onWarning, batchModel) : undefined;
  let inference: InferenceExecutor;
  try {
    inference = batchModel && decodePool ? await decodePool.startInference() : await startInference(options);
  } catch (err) {
    await decodePool?.close();
    throw err;
  }
  let decode: DecodeExecutor | undefined = decodePool;
  try {
    const model = inference.model;
    const settings = await options.configure(model);
    const batch = model.batchDim === 'dynamic' ? options.maxBatchSize : model.batchDim;
    // Enough slots for the running batches and the next one forming (with chunks: each worker's running and queued
    // chunk), and two images per decoder in flight.
    const batchesHeld = inference.runChunk
      ? inference.concurrency * CHUNKS_PER_WORKER
      : inference.concurrency + 1;
    const tensorSlots = new TensorSlots(
      batchesHeld * batch + 2 * Math.max(workers, 2),
      model.inputElementsPerImage,
      model.numClasses,
    );
    if (decodePool) await decodePool.configure(settings, tensorSlots);
    else decode = new InThreadDecodeExecutor(createPreprocessor(settings), tensorSlots);
    const { maxBatchSize, maxDelayMs, maxQueue, maxInputBytes, onBatch } = options;
    return new ClassificationEngine(decode as DecodeExecutor, inference, tensorSlots, {
      maxBatchSize,
      maxDelayMs,
      maxQueue,
      maxInputBytes,
      onBatch,
    });
  } catch (err) {
    await Promise.allSettled([inference.close(), decode?.close()]);
    throw err;
  }
}

/**
 * The model as each decode worker loads it: by path or bytes, one intra-op thread unless asked otherwise (the
 * workers are the parallelism).
 */
function workerModel(options: StartEngineOptions): InferenceWorkerData {
  const { model, modelOptions, maxBatchSize } = options;
  if (typeof model !== 'string' && !(model instanceof Uint8Array))
    throw new InvalidOptionError("inferenceThread 'decode-workers' loads the model from its path or bytes");
  if (options.workers < 1)
    throw new InvalidOptionError("inferenceThread 'decode-workers' needs at least one decode worker");
  return { model, options: { intraOpThreads: 1, ...modelOptions }, maxBatchSize };
}

/** The inference executor: the model loaded in its own worker thread, or on the calling thread. */
async function startInference(options: StartEngineOptions): Promise<InferenceExecutor> {
  const { model, modelOptions, maxBatchSize } = options;
  if (options.inferenceThread === 'worker' && (typeof model === 'string' || model instanceof Uint8Array))
    return WorkerInferenceExecutor.start(model, modelOptions, maxBatchSize, options.onWarning);
  const loaded = await loadEngineModel(model, modelOptions);
  return new InThreadInferenceExecutor(loaded.model, loaded.info, loaded.owned, maxBatchSize);
}
