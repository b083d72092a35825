/**
 * The in-browser classifier: bytes → {@link decodeImage} → `@mtailor/preprocess` (Pillow-exact resize and
 * tensor) → onnxruntime-web (WASM backend, SIMD, threads when the page is cross-origin isolated) → softmax →
 * top-k with labels. The same stages, in the same order and arithmetic, as `@mtailor/core`'s exact engine.
 * @module
 */

import { type ClassifyTimings, type Prediction, toPredictions } from '@mtailor/core/predictions';
import {
  getPreset,
  type PreprocessRecipe,
  type PresetName,
  preprocess,
  recipeOutputSize,
  resampleBackend,
} from '@mtailor/preprocess';
import * as ort from 'onnxruntime-web/wasm';
import { type DecodeOptions, type DecoderName, decodeImage } from './decode.js';
import { ClassifyError, describe } from './errors.js';

/**
 * Options of {@link createBrowserClassifier}.
 *
 * @example
 * ```ts
 * await createBrowserClassifier({ model: '/model.onnx', labels: '/labels.json', recipe: 'resize-224', numThreads: 1 });
 * ```
 */
export interface BrowserClassifierOptions {
  /** URL of the ONNX model (one float32 rank-4 input with 3 channels, NCHW or NHWC; one `[N, classes]` output). */
  model: string;
  /** URL of a JSON array of labels in class-index order, or the array itself. Default `'/labels.json'`. */
  labels?: string | readonly string[];
  /** Preprocessing preset. Default `'resize-224'` (the recipe `../shared/reference` was computed with). */
  recipe?: PresetName;
  /**
   * Intra-op WASM threads. Default: onnxruntime-web's own rule, half the cores (at most 4) when the page is
   * cross-origin isolated, else 1. Half, because decoding and preprocessing run on the page's thread, and on the
   * 2-core test machine 2 threads were slower than 1 (see the README).
   */
  numThreads?: number;
  /** Where onnxruntime-web's `.mjs`/`.wasm` files are served. Default `'/vendor/ort/'`. */
  wasmPaths?: string;
  /** JPEG decoder: `'auto'` (libjpeg in WASM, Pillow-identical; default) or `'browser'`. */
  decoder?: DecodeOptions['decoder'];
}

// Logits → predictions is @mtailor/core's own code (its `./predictions` entry: no Node APIs), so the page ranks,
// breaks ties and computes probabilities exactly as the server does.
export type { ClassifyTimings, Prediction } from '@mtailor/core/predictions';

/**
 * Everything one classification produced.
 *
 * @example
 * ```ts
 * const { predictions, timings, decoder, width, height, logits } = await classifier.classifyDetailed(bytes, 5);
 * ```
 */
export interface DetailedResult {
  predictions: Prediction[];
  timings: ClassifyTimings;
  /** Which decoder read the pixels. */
  decoder: DecoderName;
  /** Decoded image size. */
  width: number;
  height: number;
  /** The model's raw output row (logits). */
  logits: Float32Array;
}

/**
 * A loaded classifier.
 *
 * @example
 * ```ts
 * const classifier: BrowserClassifier = await createBrowserClassifier({ model: '/model.onnx' });
 * console.log(classifier.engine); // 'onnxruntime-web 1.30.0 · wasm · SIMD · 1 thread · …'
 * ```
 */
export interface BrowserClassifier {
  /** The model URL. */
  readonly model: string;
  /** What runs: onnxruntime-web version, backend, SIMD, threads, preprocessing kernels. */
  readonly engine: string;
  /** Class labels in index order. */
  readonly labels: readonly string[];
  /** Top-k predictions for encoded image bytes (JPEG, PNG, GIF, WebP, AVIF, BMP). */
  classify(bytes: ArrayBuffer | Uint8Array, topK?: number): Promise<Prediction[]>;
  /** Predictions plus timings, decoder and logits. */
  classifyDetailed(bytes: ArrayBuffer | Uint8Array, topK?: number): Promise<DetailedResult>;
  /** Decode + preprocess only: the float32 tensor the model receives (for comparisons with Node). */
  tensor(bytes: ArrayBuffer | Uint8Array): Promise<Float32Array>;
  /** Releases the onnxruntime session. */
  dispose(): Promise<void>;
}

function asBytes(bytes: unknown): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new ClassifyError(
    'INVALID_OPTION',
    `Expected ArrayBuffer or Uint8Array for bytes but received ${describe(bytes)}`,
  );
}

function checkTopK(topK: unknown): number {
  if (!(typeof topK === 'number' && Number.isInteger(topK) && topK >= 1))
    throw new ClassifyError(
      'INVALID_OPTION',
      `Expected positive integer for topK but received ${describe(topK)}`,
    );
  return topK;
}

async function loadLabels(source: string | readonly string[]): Promise<readonly string[]> {
  if (typeof source !== 'string') return source;
  const res = await fetch(source);
  if (!res.ok) throw new ClassifyError('MODEL_LOAD_FAILED', `Labels ${source}: HTTP ${res.status}`);
  const json: unknown = await res.json();
  if (!Array.isArray(json) || !json.every((l) => typeof l === 'string'))
    throw new ClassifyError('MODEL_LOAD_FAILED', `Labels ${source}: expected a JSON array of strings`);
  return json;
}

/** The model's input layout and output width, checked the way `@mtailor/core` checks an image classifier. */
function signature(
  session: ort.InferenceSession,
  recipe: PreprocessRecipe,
): { layout: 'NCHW' | 'NHWC'; input: string; output: string } {
  const meta = session.inputMetadata[0];
  const input = session.inputNames[0];
  const output = session.outputNames[0];
  if (!meta || !input || !output || session.inputNames.length !== 1)
    throw new ClassifyError('MODEL_SHAPE', 'Expected a model with one image input and at least one output');
  if (!meta.isTensor || meta.type !== 'float32' || meta.shape.length !== 4)
    throw new ClassifyError('MODEL_SHAPE', `Expected a float32 rank-4 input, got ${JSON.stringify(meta)}`);
  const layout = meta.shape[1] === 3 ? 'NCHW' : meta.shape[3] === 3 ? 'NHWC' : undefined;
  if (!layout)
    throw new ClassifyError(
      'MODEL_SHAPE',
      `Expected 3 channels (NCHW or NHWC), input shape ${JSON.stringify(meta.shape)}`,
    );
  const size = recipeOutputSize(recipe, 1000, 1000);
  const [h, w] = layout === 'NCHW' ? [meta.shape[2], meta.shape[3]] : [meta.shape[1], meta.shape[2]];
  if ((typeof h === 'number' && h !== size.height) || (typeof w === 'number' && w !== size.width))
    throw new ClassifyError(
      'MODEL_SHAPE',
      `The model takes ${w}×${h} images but recipe ${recipe.name ?? ''} makes ${size.width}×${size.height}`,
    );
  return { layout, input, output };
}

/**
 * Loads a model and its labels and returns a classifier that runs entirely in this page.
 *
 * @throws {@link ClassifyError} `MODEL_LOAD_FAILED` (fetch or onnxruntime refused the model or labels),
 * `MODEL_SHAPE` (not an image classifier this recipe can feed), `INVALID_OPTION`.
 *
 * @example
 * ```ts
 * const classifier = await createBrowserClassifier({ model: '/model.onnx' });
 * const bytes = new Uint8Array(await (await fetch('tench.jpg')).arrayBuffer());
 * const [best] = await classifier.classify(bytes, 5); // { index: 0, label: 'tench', probability: 0.9924 }
 * ```
 */
export async function createBrowserClassifier(options: BrowserClassifierOptions): Promise<BrowserClassifier> {
  if (typeof options?.model !== 'string' || options.model === '')
    throw new ClassifyError(
      'INVALID_OPTION',
      `Expected non-empty string for model but received ${describe(options?.model)}`,
    );
  const isolated = globalThis.crossOriginIsolated === true;
  const numThreads =
    options.numThreads ?? (isolated ? Math.min(4, Math.ceil((navigator.hardwareConcurrency || 1) / 2)) : 1);
  if (!(Number.isInteger(numThreads) && numThreads >= 1))
    throw new ClassifyError(
      'INVALID_OPTION',
      `Expected positive integer for numThreads but received ${describe(numThreads)}`,
    );
  ort.env.wasm.wasmPaths = options.wasmPaths ?? '/vendor/ort/';
  // Without cross-origin isolation there is no SharedArrayBuffer, so more than one thread cannot start.
  ort.env.wasm.numThreads = isolated ? numThreads : 1;
  const presetName = options.recipe ?? 'resize-224';
  if (presetName !== 'resize-224' && presetName !== 'imagenet-eval')
    throw new ClassifyError(
      'INVALID_OPTION',
      `Expected 'resize-224' or 'imagenet-eval' for recipe but received ${describe(presetName)}`,
    );
  const recipe = getPreset(presetName);
  const decoder = options.decoder ?? 'auto';

  let session: ort.InferenceSession;
  let labels: readonly string[];
  try {
    [session, labels] = await Promise.all([
      ort.InferenceSession.create(options.model, { executionProviders: ['wasm'] }),
      loadLabels(options.labels ?? '/labels.json'),
    ]);
  } catch (err) {
    if (err instanceof ClassifyError) throw err;
    throw new ClassifyError(
      'MODEL_LOAD_FAILED',
      `Could not load ${options.model}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const sig = signature(session, recipe);
  recipe.tensor = { ...recipe.tensor, layout: sig.layout };
  const size = recipeOutputSize(recipe, 1000, 1000);
  const shape = sig.layout === 'NCHW' ? [1, 3, size.height, size.width] : [1, size.height, size.width, 3];
  const engine =
    `onnxruntime-web ${ort.env.versions.web} · wasm · SIMD · ${ort.env.wasm.numThreads} thread${ort.env.wasm.numThreads === 1 ? '' : 's'}` +
    `${isolated ? '' : ' (not cross-origin isolated)'} · preprocess ${resampleBackend()} · JPEG decode ${decoder === 'auto' ? 'libjpeg-turbo WASM' : 'browser'}`;

  async function prepare(bytes: ArrayBuffer | Uint8Array): Promise<{
    tensor: Float32Array;
    decoder: DecoderName;
    width: number;
    height: number;
    decodeMs: number;
    preprocessMs: number;
  }> {
    const t0 = performance.now();
    const decoded = await decodeImage(asBytes(bytes), { decoder });
    const t1 = performance.now();
    const { tensor } = preprocess(decoded.image, recipe);
    const t2 = performance.now();
    return {
      tensor,
      decoder: decoded.decoder,
      width: decoded.image.width,
      height: decoded.image.height,
      decodeMs: t1 - t0,
      preprocessMs: t2 - t1,
    };
  }

  async function classifyDetailed(bytes: ArrayBuffer | Uint8Array, topK = 5): Promise<DetailedResult> {
    const k = checkTopK(topK);
    const start = performance.now();
    const prepared = await prepare(bytes);
    const t2 = performance.now();
    let logits: Float32Array;
    try {
      const feeds = { [sig.input]: new ort.Tensor('float32', prepared.tensor, shape) };
      const out = await session.run(feeds);
      const value = out[sig.output];
      if (!value || !(value.data instanceof Float32Array))
        throw new ClassifyError('MODEL_SHAPE', `Output ${sig.output} is not a float32 tensor`);
      logits = value.data;
    } catch (err) {
      if (err instanceof ClassifyError) throw err;
      throw new ClassifyError('INFERENCE_FAILED', `Inference failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const t3 = performance.now();
    const predictions = toPredictions(logits, 0, logits.length, k, labels, 'auto');
    return {
      predictions,
      timings: {
        decodeMs: prepared.decodeMs,
        preprocessMs: prepared.preprocessMs,
        inferenceMs: t3 - t2,
        totalMs: performance.now() - start,
      },
      decoder: prepared.decoder,
      width: prepared.width,
      height: prepared.height,
      logits,
    };
  }

  return {
    model: options.model,
    engine,
    labels,
    classifyDetailed,
    classify: async (bytes, topK = 5) => (await classifyDetailed(bytes, topK)).predictions,
    tensor: async (bytes) => (await prepare(bytes)).tensor,
    dispose: () => session.release(),
  };
}
