/**
 * Loading the model for the engine, the same on the calling thread and in the inference worker: one session (shared
 * per process, see {@link ONNXModel.load}), warmed by one blank run, its identity (SHA-256) and its {@link ModelInfo}.
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ONNXModel } from '../model/onnx-model.js';
import type { ModelOptions } from '../model/session-options.js';
import type { ModelInfo } from './executors.js';

/** SHA-256 (hex) of a model file or its bytes: the model's identity in replies, health reports and self-tests. */
export async function modelSha256(source: string | Uint8Array): Promise<string> {
  const hash = createHash('sha256');
  if (typeof source !== 'string') return hash.update(source).digest('hex');
  for await (const chunk of createReadStream(source)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A model loaded for the engine: the session, what is known about it, and whether the engine must release it. */
export interface EngineModel {
  model: ONNXModel;
  info: ModelInfo;
  /** False for an {@link ONNXModel} the caller passed in (the caller releases it). */
  owned: boolean;
}

/**
 * Loads a model for the engine (or takes the caller's loaded one), warms it with one blank run and hashes its file.
 *
 * @throws the load error: `ModelLoadError`, `ModelShapeError`, …
 */
export async function loadEngineModel(
  source: string | Uint8Array | ONNXModel,
  options: ModelOptions,
): Promise<EngineModel> {
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
