/**
 * `health()`: is the classifier able to answer, and what is it running on.
 * @module
 */
import { readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { toMtailorError } from '../classifier/error-transfer.js';
import type { ImageClassifier } from '../classifier/image-classifier.js';
import { type Prediction, toPredictions } from '../classifier/predictions.js';
import { ONNXModel } from '../model/onnx-model.js';
import type { InputLayout, TensorInfo } from '../model/signature.js';

/** Milliseconds per stage of the self-test (decode and preprocess are 0 for a bare model). */
export interface HealthTimings {
  decodeMs: number;
  preprocessMs: number;
  inferenceMs: number;
  totalMs: number;
}

/** What {@link health} reports. Sizes are in bytes. */
export interface HealthReport {
  /** `'ok'` when the model is loaded and the self-test inference gave a valid distribution. */
  status: 'ok' | 'error';
  model: {
    loaded: boolean;
    source: string;
    inputs: readonly TensorInfo[];
    outputs: readonly TensorInfo[];
    inputLayout: InputLayout;
    inputSize: { width: number; height: number };
    batchDim: number | 'dynamic';
    numClasses: number;
    executionProvider: string;
    fallbackMessage?: string;
  };
  /** The built-in test input (a synthetic PNG made in code) classified end to end. */
  selfTest: {
    ok: boolean;
    top1?: Prediction;
    timings?: HealthTimings;
    error?: { code: string; message: string };
  };
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  /** Free space of the volume holding the model file (or the working directory for a model given as bytes). */
  disk: { path: string; freeBytes: number; totalBytes: number } | { path: string; error: string };
  uptimeSeconds: number;
  versions: { node: string; onnxruntime: string; sharp: string; vips: string; mtailorCore: string };
}

let testImage: Promise<Buffer> | undefined;

/** A 64×48 PNG with colour gradients, made in code (the package ships no image data). */
function syntheticTestImage(): Promise<Buffer> {
  testImage ??= (() => {
    const width = 64;
    const height = 48;
    const pixels = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 3;
        pixels[i] = Math.round((x / (width - 1)) * 255);
        pixels[i + 1] = Math.round((y / (height - 1)) * 255);
        pixels[i + 2] = (x + y) % 2 === 0 ? 200 : 40;
      }
    return sharp(pixels, { raw: { width, height, channels: 3 } })
      .png()
      .toBuffer();
  })();
  return testImage;
}

const coreVersion = (): string => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return 'unknown';
  }
};

/**
 * A bare model's self-test: a synthetic, ImageNet-normalised gradient tensor (no decoding), softmax, top-1.
 */
async function selfTestModel(
  model: ONNXModel,
): Promise<{ predictions: Prediction[]; timings: HealthTimings }> {
  const { width, height } = model.inputSize;
  const n = model.batchDim === 'dynamic' ? 1 : model.batchDim;
  const tensor = new Float32Array(n * model.inputElementsPerImage);
  for (let i = 0; i < width * height * 3; i++) tensor[i] = ((i % 251) / 250) * 4 - 2; // values in [-2, 2]
  const start = performance.now();
  const scores = await model.run(tensor, n);
  const inferenceMs = performance.now() - start;
  const predictions = toPredictions(scores, 0, model.numClasses, 1, undefined, 'auto');
  return {
    predictions,
    timings: { decodeMs: 0, preprocessMs: 0, inferenceMs, totalMs: performance.now() - start },
  };
}

/**
 * Checks a classifier end to end (or a bare {@link ONNXModel}: then the self-test feeds a synthetic tensor and
 * skips decoding) and reports the process's state: model IO metadata, a self-test inference on
 * a built-in synthetic image, memory, free disk of the model's volume, uptime and versions. Never throws for a
 * failing check: it reports `status: 'error'` with the reason.
 *
 * @example
 * ```ts
 * import { ImageClassifier, health } from '@mtailor/core';
 * const classifier = await ImageClassifier.create({ model: 'model.onnx' });
 * const report = await health(classifier);
 * console.log(report.status, report.selfTest.top1, report.disk);
 * ```
 */
export async function health(target: ImageClassifier | ONNXModel): Promise<HealthReport> {
  const model = target instanceof ONNXModel ? target : target.model;
  const loaded = !target.disposed && !model.disposed;
  let selfTest: HealthReport['selfTest'];
  try {
    const result =
      target instanceof ONNXModel
        ? await selfTestModel(target)
        : await target.classify(await syntheticTestImage(), { topK: 1 });
    const top1 = result.predictions[0];
    const ok =
      top1 !== undefined &&
      Number.isFinite(top1.probability) &&
      top1.probability >= 0 &&
      top1.probability <= 1;
    selfTest = ok
      ? { ok, top1, timings: result.timings }
      : { ok, error: { code: 'INFERENCE_FAILED', message: 'self-test produced no valid probability' } };
  } catch (err) {
    const e = toMtailorError(err);
    selfTest = { ok: false, error: { code: e.code, message: e.message } };
  }
  const diskPath = model.source === '<bytes>' ? process.cwd() : path.dirname(path.resolve(model.source));
  let disk: HealthReport['disk'];
  try {
    const s = await statfs(diskPath);
    disk = { path: diskPath, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch (err) {
    disk = { path: diskPath, error: (err as Error).message };
  }
  const m = process.memoryUsage();
  return {
    status: loaded && selfTest.ok ? 'ok' : 'error',
    model: {
      loaded,
      source: model.source,
      inputs: model.inputs,
      outputs: model.outputs,
      inputLayout: model.inputLayout,
      inputSize: { ...model.inputSize },
      batchDim: model.batchDim,
      numClasses: model.numClasses,
      executionProvider: model.executionProvider,
      ...(model.fallbackMessage ? { fallbackMessage: model.fallbackMessage } : {}),
    },
    selfTest,
    memory: {
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
    },
    disk,
    uptimeSeconds: process.uptime(),
    versions: {
      node: process.versions.node,
      onnxruntime: ONNXModel.runtimeVersion,
      sharp: sharp.versions.sharp ?? 'unknown',
      vips: sharp.versions.vips,
      mtailorCore: coreVersion(),
    },
  };
}
