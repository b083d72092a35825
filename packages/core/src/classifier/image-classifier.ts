/**
 * {@link ImageClassifier}: image bytes → decode → preprocess → tensor → session → logits → predictions, on the one
 * classification engine (`../engine/`).
 * @module
 */
import type { PreprocessRecipe, PresetName } from '@mtailor/preprocess';
import { CLASSIFIER_DEFAULTS } from '../defaults.js';
import { availableCpus } from '../engine/available-cpus.js';
import { createPreprocessor, type DecodeSettings } from '../engine/decode-into-slot.js';
import type { ClassificationEngine, EngineInput, EngineStatus, EngineTimings } from '../engine/engine.js';
import type { ModelInfo } from '../engine/executors.js';
import { type InferenceThread, startEngine } from '../engine/start-engine.js';
import { InvalidOptionError, ManifestError, type MtailorError, NotReadyError } from '../errors.js';
import { DEFAULT_MAX_INPUT_BYTES, type ResizeEngine } from '../input/image-preprocessor.js';
import * as is from '../is.js';
import type { LabelsSource } from '../labels/load-labels.js';
import { checkManifestAgainstModel, type Manifest, readManifest } from '../manifest/manifest.js';
import { ONNXModel } from '../model/onnx-model.js';
import { MODEL_OPTION_NAMES, type ModelOptions } from '../model/session-options.js';
import { type Prediction, type SoftmaxMode, toPredictions } from './predictions.js';
import { loadTestImage, type SelfTestImage, type SelfTestResult, type TestImage } from './self-test.js';
import { checkKnownKeys, resolveLabels, resolveRecipe } from './setup.js';

/** Options of {@link ImageClassifier.create}. Give `model` or `manifest` (or both: `model` wins for the file). */
export interface ImageClassifierOptions extends ModelOptions {
  /** Model file path, its bytes, or an already loaded {@link ONNXModel} (then the caller keeps ownership). */
  model?: string | Uint8Array | ONNXModel;
  /** Path of a model manifest (model file, recipe, labels, class count, output kind). */
  manifest?: string;
  /**
   * Class labels. Default: the manifest's; else the shipped ImageNet-1k labels for a 1000-class model; else
   * none (predictions are labelled `class <index>`).
   */
  labels?: LabelsSource;
  /**
   * Preprocessing: a `@mtailor/preprocess` recipe or preset name. Default: the manifest's; else `'resize-224'`
   * (torchvision `Resize((224, 224))` + ImageNet normalisation) resized to the model's input size.
   */
  recipe?: PreprocessRecipe | PresetName;
  /** Resize engine. Default `'exact'` (Pillow-identical); `'fast'` resizes with libvips. */
  resize?: ResizeEngine;
  /** Rotate by EXIF orientation before preprocessing. Default `true`; `false` reproduces torchvision. */
  autoOrient?: boolean;
  /** Largest accepted encoded input in bytes. Default 50 MiB. */
  maxInputBytes?: number;
  /** Largest accepted image in pixels. Default 100 000 000. */
  maxPixels?: number;
  /**
   * Apply softmax to the output. Default `'auto'`: the manifest's `outputKind` when given, else detected per
   * image (an output row already in [0, 1] that sums to 1 is used as is).
   */
  softmax?: SoftmaxMode;
  /**
   * Decode + preprocess worker threads. Default: the CPUs this process may use (container quota included). `0`
   * decodes on the calling thread (sharp on libuv's pool, the exact resize here).
   */
  workers?: number;
  /**
   * Where onnxruntime runs. Default `'worker'`: its own thread, so the calling thread's event loop never blocks on
   * a batch. `'caller'`: the calling thread (fine for scripts; required for an `ONNXModel` you pass in, whose
   * session lives on this thread). `'decode-workers'`: each decode worker loads its own session (one intra-op
   * thread unless `intraOpThreads` says otherwise) and runs batches too — the most images per CPU-second, for bulk
   * jobs (what `mtailor classify` uses on large folders); a batch may then wait behind a decode.
   */
  inferenceThread?: InferenceThread;
  /** Most images per onnxruntime call when the model's batch dim is dynamic. Default 8. */
  maxBatchSize?: number;
  /**
   * Longest an image waits for others to join its batch while more are being decoded, in ms. Default 2. An image
   * with nothing else on its way never waits.
   */
  maxDelayMs?: number;
  /**
   * Most images in progress at once (waiting, decoding, batched, running); beyond it `classify` rejects with
   * `OverloadedError` at once instead of queueing without bound. Default 512.
   */
  maxQueue?: number;
  /**
   * Classify a test image when created and fail creation if it does not get its class: `true` for the built-in
   * synthetic image (its class is known for the shared MobileNetV2 models, else recorded by this first run), or an
   * image of yours with its true class. Default `false`. See {@link ImageClassifier.selfTest}.
   */
  selfTest?: boolean | SelfTestImage;
  /** Called with each batch's size and onnxruntime time once it ran (metrics). */
  onBatch?: (size: number, runMs: number) => void;
  /** Told about problems that are no request's fault (a worker thread died). Default: `process.emitWarning`. */
  onWarning?: (message: string) => void;
}

/** Options of {@link ImageClassifier.classify}. */
export interface ClassifyOptions {
  /** How many predictions to return (1 … numClasses). Default 5. */
  topK?: number;
  /** Abandons the image while it still waits for the engine (e.g. the HTTP client hung up). */
  signal?: AbortSignal;
  /** Also return the model's raw output row as `scores`. Default `false`. */
  includeScores?: boolean;
}

/** Milliseconds per stage of one image (see {@link EngineTimings}). */
export type ClassifyTimings = EngineTimings;

/** What {@link ImageClassifier.classify} returns for one image. */
export interface ClassifyResult {
  /** The `topK` most probable classes, most probable first; equal scores ordered by lower index. */
  predictions: Prediction[];
  timings: ClassifyTimings;
  /** The model's output row (`numClasses` floats), when `includeScores` was asked for. */
  scores?: Float32Array;
}

/** The result of one image of a batch or stream: its predictions, or the typed error that stopped it. */
export type ClassifyOutcome = ({ ok: true } & ClassifyResult) | { ok: false; error: MtailorError };

/** Anything a classifier classifies: a file path, bytes, a stream, base64 text, or a preprocessed tensor. */
export type ClassifierInput = EngineInput;

/** One result of {@link ImageClassifier.classifyStream}: the input, its position in the stream, its outcome. */
export type StreamItem<I extends ClassifierInput = ClassifierInput> = {
  input: I;
  index: number;
} & ClassifyOutcome;

/** Options of {@link ImageClassifier.classifyStream}. */
export interface StreamOptions {
  /** How many predictions per image. Default 5. */
  topK?: number;
  /** Images in progress ahead of the one being yielded. Default: the engine's tensor slots. */
  readAhead?: number;
}

/** What a classifier is doing, for readiness checks and metrics. */
export interface ClassifierStatus extends EngineStatus {
  /** Taking work: the engine is ready and, when a self-test is configured, it passed. */
  ready: boolean;
  /** The last self-test, if one ran. */
  selfTest: SelfTestResult | undefined;
}

const CREATE_OPTION_KEYS: readonly string[] = [
  ...MODEL_OPTION_NAMES,
  'model',
  'manifest',
  'labels',
  'recipe',
  'resize',
  'autoOrient',
  'maxInputBytes',
  'maxPixels',
  'softmax',
  'workers',
  'inferenceThread',
  'maxBatchSize',
  'maxDelayMs',
  'maxQueue',
  'selfTest',
  'onBatch',
  'onWarning',
];

interface Resolved {
  engine: ClassificationEngine;
  labels: readonly string[] | undefined;
  recipe: PreprocessRecipe;
  softmax: SoftmaxMode;
  manifest: Manifest | undefined;
  workers: number;
  inferenceThread: InferenceThread;
  selfTest: SelfTestImage | boolean;
}

/**
 * Classifies images with an ONNX model: PyTorch-identical preprocessing (Pillow-exact resize), onnxruntime,
 * softmax, top-k, labels. Decoding runs in worker threads and onnxruntime in its own thread by default; concurrent
 * calls are micro-batched into one onnxruntime run. `close()` drains and releases everything.
 *
 * @example
 * ```ts
 * import { ImageClassifier } from '@mtailor/core';
 * const classifier = await ImageClassifier.create({ model: 'mobilenet_v2_int8_qdq.onnx' });
 * const { predictions } = await classifier.classify('n01440764_tench.JPEG', { topK: 3 });
 * console.log(predictions[0]); // { index: 0, label: 'tench', probability: 0.9924 }
 * await classifier.close();
 * ```
 */
export class ImageClassifier {
  /** The model: signature, source, SHA-256, execution provider. */
  readonly model: ModelInfo;
  /** Labels in class-index order, or `undefined` (predictions labelled `class <index>`). */
  readonly labels: readonly string[] | undefined;
  /** The preprocessing recipe, resolved against the model (size, layout). */
  readonly recipe: PreprocessRecipe;
  /** Images per onnxruntime call. */
  readonly maxBatchSize: number;
  /** How the model output is turned into probabilities. */
  readonly softmax: SoftmaxMode;
  /** The manifest this classifier was created from, if any. */
  readonly manifest: Manifest | undefined;
  /** Decode worker threads (0: decoding on the calling thread). */
  readonly workers: number;
  /** Where onnxruntime runs. */
  readonly inferenceThread: InferenceThread;
  readonly #engine: ClassificationEngine;
  readonly #selfTestImage: SelfTestImage | boolean;
  #testImage: Promise<TestImage> | undefined;
  #selfTest: SelfTestResult | undefined;

  private constructor(init: Resolved) {
    this.#engine = init.engine;
    this.model = init.engine.model;
    this.labels = init.labels;
    this.recipe = init.recipe;
    this.maxBatchSize = init.engine.maxBatchSize;
    this.softmax = init.softmax;
    this.manifest = init.manifest;
    this.workers = init.workers;
    this.inferenceThread = init.inferenceThread;
    this.#selfTestImage = init.selfTest;
  }

  /**
   * Reads the manifest, starts the engine (`startEngine`: decode workers, the model loaded in the inference thread),
   * checks that model, labels and recipe fit together (recipe output size = model input size, labels count =
   * classes), and runs the self-test when asked for.
   *
   * @throws {@link InvalidOptionError}, {@link ManifestError}, {@link ModelLoadError}, {@link ModelShapeError};
   *   {@link NotReadyError} when the self-test fails.
   *
   * @example
   * ```ts
   * const classifier = await ImageClassifier.create({ manifest: 'models/mobilenet.manifest.json', workers: 2 });
   * ```
   */
  static async create(options: ImageClassifierOptions): Promise<ImageClassifier> {
    if (!is.plainObject(options as unknown)) throw is.invalidParameterError('options', 'object', options);
    checkKnownKeys(options, CREATE_OPTION_KEYS, 'ImageClassifier.create');
    const settings = checkCreateOptions(options);
    const manifest = options.manifest === undefined ? undefined : await readManifest(options.manifest);
    const modelOptions = pickModelOptions(options);
    const source = options.model ?? (manifest as Manifest).modelPath;
    const inferenceThread = resolveInferenceThread(source, options.inferenceThread, modelOptions);
    let resolved: { labels: readonly string[] | undefined; recipe: PreprocessRecipe } | undefined;
    const engine = await startEngine({
      model: source,
      modelOptions,
      workers: settings.workers,
      inferenceThread,
      maxBatchSize: settings.maxBatchSize,
      maxDelayMs: settings.maxDelayMs,
      maxQueue: settings.maxQueue,
      maxInputBytes: options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES,
      onBatch: options.onBatch,
      onWarning: options.onWarning ?? ((message: string) => process.emitWarning(message, 'MtailorWarning')),
      configure: async (model) => {
        if (manifest) checkManifestAgainstModel(manifest, model);
        const labels = await resolveLabels(options.labels, manifest, model.numClasses);
        const recipe = resolveRecipe(options.recipe ?? manifest?.recipe, model);
        const decodeSettings: DecodeSettings = {
          recipe,
          resize: settings.resize,
          autoOrient: settings.autoOrient,
          maxInputBytes: options.maxInputBytes,
          maxPixels: options.maxPixels,
        };
        checkRecipeSize(decodeSettings, model, options.recipe === undefined ? manifest : undefined);
        resolved = { labels, recipe };
        return decodeSettings;
      },
    });
    const { labels, recipe } = resolved as NonNullable<typeof resolved>;
    const classifier = new ImageClassifier({
      engine,
      labels,
      recipe,
      softmax: settings.softmax !== 'auto' || !manifest ? settings.softmax : manifest.outputKind === 'logits',
      manifest,
      workers: settings.workers,
      inferenceThread,
      selfTest: options.selfTest ?? false,
    });
    if (options.selfTest !== undefined && options.selfTest !== false) await classifier.#passSelfTest();
    return classifier;
  }

  /** Runs the self-test at creation; on a miss (or an error) closes the classifier and throws. */
  async #passSelfTest(): Promise<void> {
    try {
      const result = await this.selfTest();
      if (!result.ok)
        throw new NotReadyError(
          `self-test failed: ${result.source} classified as ${result.top1.index} (${result.top1.label}), expected ${result.expectedClass}`,
        );
    } catch (err) {
      await this.close({ timeoutMs: 0 });
      throw err;
    }
  }

  /**
   * Classifies one image: a file path, its bytes (`Uint8Array`/`Buffer`/`ArrayBuffer`), a readable stream,
   * `{ base64 }` text or a ready `{ tensor }`. Concurrent calls share onnxruntime runs (micro-batching).
   *
   * @throws {@link UnsupportedImageError}, {@link InvalidImageError}, {@link ImageTooLargeError},
   *   {@link InvalidInputError} for bad input; {@link OverloadedError} when `maxQueue` images are in progress;
   *   {@link ShuttingDownError} after `close()`; {@link InferenceError} when onnxruntime fails.
   *
   * @example
   * ```ts
   * const { predictions, timings } = await classifier.classify(await readFile('cat.jpg'), { topK: 1 });
   * ```
   */
  async classify(input: ClassifierInput, options: ClassifyOptions = {}): Promise<ClassifyResult> {
    const { topK, includeScores, signal } = this.#classifyOptions(options);
    const { value, timings } = await this.#engine.run(
      input,
      (row) => ({
        predictions: this.#predictionsOf(row, topK),
        scores: includeScores ? row.slice() : undefined,
      }),
      signal,
    );
    return value.scores
      ? { predictions: value.predictions, timings, scores: value.scores }
      : { predictions: value.predictions, timings };
  }

  /**
   * Classifies several images; they share onnxruntime runs. A bad image does not stop the others: each item is
   * `{ ok: true, predictions, timings }` or `{ ok: false, error }`, in input order.
   *
   * @example
   * ```ts
   * const results = await classifier.classifyBatch(['a.jpg', 'b.png', 'notes.txt']);
   * for (const r of results) console.log(r.ok ? r.predictions[0]?.label : r.error.code);
   * ```
   */
  async classifyBatch(
    inputs: readonly ClassifierInput[],
    options: Omit<ClassifyOptions, 'signal'> = {},
  ): Promise<ClassifyOutcome[]> {
    if (!Array.isArray(inputs)) throw is.invalidParameterError('inputs', 'array', inputs);
    const { topK, includeScores } = this.#classifyOptions(options);
    const out: ClassifyOutcome[] = new Array(inputs.length);
    let next = 0;
    // As many at once as the engine has slots: the engine stays busy and this batch never overloads it.
    const lane = async (): Promise<void> => {
      while (next < inputs.length) {
        const i = next++;
        out[i] = await this.#outcome(inputs[i] as ClassifierInput, { topK, includeScores });
      }
    };
    await Promise.all(Array.from({ length: Math.min(inputs.length, this.#engine.slotCount) }, lane));
    return out;
  }

  /**
   * Classifies a stream of images as fast as the machine allows; yields one item per input, in input order, with
   * its predictions or its typed error (a bad image never stops the stream). File paths are read by the decode
   * workers.
   *
   * @example
   * ```ts
   * for await (const item of classifier.classifyStream(['a.jpg', 'b.jpg'], { topK: 1 })) {
   *   console.log(item.input, item.ok ? item.predictions[0]?.label : item.error.code);
   * }
   * ```
   */
  async *classifyStream<I extends ClassifierInput>(
    inputs: Iterable<I> | AsyncIterable<I>,
    options: StreamOptions = {},
  ): AsyncGenerator<StreamItem<I>, void, undefined> {
    if (!is.plainObject(options as unknown)) throw is.invalidParameterError('options', 'object', options);
    checkKnownKeys(options, ['topK', 'readAhead'], 'classifyStream');
    const { topK } = this.#classifyOptions({ topK: options.topK });
    const readAhead = options.readAhead ?? this.#engine.slotCount;
    if (!is.positiveInteger(readAhead) || readAhead > this.#engine.options.maxQueue)
      throw is.invalidParameterError(
        'readAhead',
        `integer from 1 to maxQueue (${this.#engine.options.maxQueue})`,
        readAhead,
      );
    const iterator =
      Symbol.asyncIterator in inputs
        ? (inputs as AsyncIterable<I>)[Symbol.asyncIterator]()
        : (inputs as Iterable<I>)[Symbol.iterator]();
    const pending: { input: I; index: number; outcome: Promise<ClassifyOutcome> }[] = [];
    // With the decode-workers layout, paths and bytes go in chunks of a batch, each decoded and run by one thread.
    const chunks = this.#engine.runsChunks
      ? new ChunkGatherer(this.#engine.maxBatchSize, this.#chunkRunner(topK))
      : undefined;
    let exhausted = false;
    let index = 0;
    try {
      for (;;) {
        while (!exhausted && pending.length < readAhead) {
          const r = await iterator.next();
          if (r.done) {
            exhausted = true;
            break;
          }
          const input = r.value;
          let outcome: Promise<ClassifyOutcome>;
          if (chunks && (typeof input === 'string' || input instanceof Uint8Array))
            outcome = chunks.add(input);
          else {
            chunks?.flush();
            outcome = this.#outcome(input, { topK });
          }
          pending.push({ input, index: index++, outcome });
        }
        const head = pending.shift();
        if (!head) return;
        // The filling chunk holds the newest inputs (anything else flushes it): when it holds the head too, it leaves
        // now, part full, rather than wait for inputs not read yet.
        if (chunks && (exhausted || chunks.filling > pending.length)) chunks.flush();
        yield { input: head.input, index: head.index, ...(await head.outcome) };
      }
    } finally {
      if (!exhausted) await iterator.return?.();
    }
  }

  /**
   * Classifies the self-test image — the one given as `selfTest` at creation, else the built-in synthetic image —
   * and checks its top-1 class. For the synthetic image on a model it was not measured with, the first run records
   * the class it gets, so later runs prove the model still answers the same (not that it is right). The result
   * also shows in {@link status}.
   *
   * @example
   * ```ts
   * const { ok, top1, expectedClass } = await classifier.selfTest();
   * ```
   */
  async selfTest(): Promise<SelfTestResult> {
    const image = await this.testImage();
    const start = performance.now();
    const { predictions } = await this.classify(image.bytes, { topK: 1 });
    const top1 = predictions[0] as Prediction;
    if (image.expectedClass === undefined) image.expectedClass = top1.index;
    this.#selfTest = {
      ok: top1.index === image.expectedClass,
      top1,
      expectedClass: image.expectedClass,
      expectation: image.expectation,
      source: image.source,
      ms: performance.now() - start,
      at: new Date(),
    };
    return this.#selfTest;
  }

  /** The self-test image and its expected class (the server's `test_mode` classifies it). */
  testImage(): Promise<TestImage> {
    this.#testImage ??= loadTestImage(
      this.model.sha256,
      typeof this.#selfTestImage === 'object' ? this.#selfTestImage : undefined,
    );
    return this.#testImage;
  }

  /** What the classifier is doing: ready or not, images in progress, the last batch and self-test. */
  status(): ClassifierStatus {
    const engine = this.#engine.status();
    const needsSelfTest = this.#selfTestImage !== false;
    return {
      ...engine,
      ready: engine.ready && (!needsSelfTest || this.#selfTest?.ok === true),
      selfTest: this.#selfTest,
    };
  }

  /**
   * Stops taking work (new images get `ShuttingDownError`), lets the images in progress finish for up to
   * `timeoutMs` (default 10 s), then stops the worker threads and releases the session. Idempotent.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => void classifier.close({ timeoutMs: 25_000 }));
   * ```
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    const { timeoutMs = 10_000 } = options;
    if (!is.integer(timeoutMs) || timeoutMs < 0)
      throw is.invalidParameterError('timeoutMs', 'non-negative integer', timeoutMs);
    return this.#engine.close(timeoutMs);
  }

  /** The top-`topK` predictions of one row of scores, with this classifier's labels and softmax. */
  #predictionsOf(row: Float32Array, topK: number): Prediction[] {
    return toPredictions(row, 0, this.model.numClasses, topK, this.labels, this.softmax);
  }

  /** Runs one chunk of paths and bytes through the engine: each image's outcome, in order. */
  #chunkRunner(topK: number): (inputs: readonly (string | Uint8Array)[]) => Promise<ClassifyOutcome[]> {
    const toResult = (row: Float32Array) => ({
      predictions: this.#predictionsOf(row, topK),
    });
    return async (inputs) => {
      try {
        const items = await this.#engine.runChunk(inputs, toResult);
        return items.map((item) =>
          item.ok ? { ok: true, predictions: item.value.predictions, timings: item.timings } : item,
        );
      } catch (err) {
        return inputs.map(() => ({ ok: false, error: err as MtailorError }));
      }
    };
  }

  async #outcome(input: ClassifierInput, options: ClassifyOptions): Promise<ClassifyOutcome> {
    try {
      return { ok: true, ...(await this.classify(input, options)) };
    } catch (err) {
      return { ok: false, error: err as MtailorError };
    }
  }

  #classifyOptions(options: ClassifyOptions): { topK: number; includeScores: boolean; signal?: AbortSignal } {
    if (!is.plainObject(options as unknown)) throw is.invalidParameterError('options', 'object', options);
    checkKnownKeys(options, ['topK', 'signal', 'includeScores'], 'classify');
    const { topK = 5, includeScores = false, signal } = options;
    if (!is.positiveInteger(topK)) throw is.invalidParameterError('topK', 'positive integer', topK);
    if (topK > this.model.numClasses)
      throw is.invalidParameterError('topK', `integer between 1 and ${this.model.numClasses}`, topK);
    if (!is.bool(includeScores)) throw is.invalidParameterError('includeScores', 'boolean', includeScores);
    if (signal !== undefined && !(signal instanceof AbortSignal))
      throw is.invalidParameterError('signal', 'AbortSignal', signal);
    return signal === undefined ? { topK, includeScores } : { topK, includeScores, signal };
  }
}

/** Checks and defaults the engine and preprocessing options of {@link ImageClassifier.create}. */
function checkCreateOptions(options: ImageClassifierOptions): {
  maxBatchSize: number;
  maxDelayMs: number;
  maxQueue: number;
  workers: number;
  softmax: SoftmaxMode;
  resize: ResizeEngine;
  autoOrient: boolean;
} {
  const {
    maxBatchSize = CLASSIFIER_DEFAULTS.maxBatchSize,
    maxDelayMs = CLASSIFIER_DEFAULTS.maxDelayMs,
    maxQueue = CLASSIFIER_DEFAULTS.maxQueue,
    workers = availableCpus(),
    softmax = 'auto',
    resize = 'exact',
    autoOrient = true,
  } = options;
  if (!is.positiveInteger(maxBatchSize))
    throw is.invalidParameterError('maxBatchSize', 'positive integer', maxBatchSize);
  if (!is.integer(maxDelayMs) || maxDelayMs < 0)
    throw is.invalidParameterError('maxDelayMs', 'non-negative integer', maxDelayMs);
  if (!is.positiveInteger(maxQueue)) throw is.invalidParameterError('maxQueue', 'positive integer', maxQueue);
  if (!is.integer(workers) || workers < 0 || workers > 256)
    throw is.invalidParameterError('workers', 'integer from 0 to 256', workers);
  if (softmax !== 'auto' && !is.bool(softmax))
    throw is.invalidParameterError('softmax', "'auto' or boolean", softmax);
  if (!is.oneOf(resize, ['exact', 'fast'] as const))
    throw is.invalidParameterError('resize', 'one of exact, fast', resize);
  if (!is.bool(autoOrient)) throw is.invalidParameterError('autoOrient', 'boolean', autoOrient);
  if (
    options.inferenceThread !== undefined &&
    !is.oneOf(options.inferenceThread, ['worker', 'caller', 'decode-workers'] as const)
  )
    throw is.invalidParameterError(
      'inferenceThread',
      'one of worker, caller, decode-workers',
      options.inferenceThread,
    );
  if (options.inferenceThread === 'decode-workers' && workers === 0)
    throw new InvalidOptionError("inferenceThread 'decode-workers' needs workers ≥ 1");
  if (options.model === undefined && options.manifest === undefined)
    throw new InvalidOptionError('Expected model or manifest in options but received neither');
  const { selfTest } = options;
  if (
    selfTest !== undefined &&
    !is.bool(selfTest) &&
    !(
      is.plainObject(selfTest) &&
      (typeof selfTest.image === 'string' || selfTest.image instanceof Uint8Array) &&
      is.integer(selfTest.expectedClass) &&
      selfTest.expectedClass >= 0
    )
  )
    throw is.invalidParameterError('selfTest', 'boolean or { image, expectedClass }', selfTest);
  for (const hook of ['onBatch', 'onWarning'] as const)
    if (options[hook] !== undefined && typeof options[hook] !== 'function')
      throw is.invalidParameterError(hook, 'function', options[hook]);
  return { maxBatchSize, maxDelayMs, maxQueue, workers, softmax, resize, autoOrient };
}

/** The onnxruntime session options given among the create options. */
function pickModelOptions(options: ImageClassifierOptions): ModelOptions {
  const modelOptions: ModelOptions = {};
  for (const key of MODEL_OPTION_NAMES)
    if (options[key] !== undefined) Object.assign(modelOptions, { [key]: options[key] });
  return modelOptions;
}

/**
 * Where onnxruntime runs: as asked (default its own worker thread), except that an {@link ONNXModel} passed in runs on
 * the calling thread, where its session lives — and then asking for a worker, or for session options, is an error.
 */
function resolveInferenceThread(
  source: string | Uint8Array | ONNXModel,
  asked: InferenceThread | undefined,
  modelOptions: ModelOptions,
): InferenceThread {
  if (!(source instanceof ONNXModel)) return asked ?? 'worker';
  if (asked !== undefined && asked !== 'caller')
    throw new InvalidOptionError(
      `An ONNXModel you pass in runs on the calling thread; drop inferenceThread: '${asked}' or pass the model path`,
    );
  if (source.disposed)
    throw new InvalidOptionError('Expected a live ONNXModel for model but it was disposed');
  const given = Object.keys(modelOptions);
  if (given.length > 0)
    throw new InvalidOptionError(
      `Session options (${given.join(', ')}) apply when the classifier loads the model; pass them to ONNXModel.load for a model you load yourself`,
    );
  return 'caller';
}

/**
 * The recipe must make images of the model's input size. The error names the manifest when the recipe came from it
 * (`ManifestError`), else it is the caller's option (`InvalidOptionError`).
 */
function checkRecipeSize(settings: DecodeSettings, model: ModelInfo, manifest: Manifest | undefined): void {
  const preprocessor = createPreprocessor(settings);
  const { width, height } = model.inputSize;
  if (preprocessor.outputWidth === width && preprocessor.outputHeight === height) return;
  const where = manifest ? `${manifest.path}: ` : '';
  const Err = manifest ? ManifestError : InvalidOptionError;
  const makes =
    preprocessor.outputWidth === undefined
      ? 'images whose size depends on the input (end it with resize or centerCrop)'
      : `${preprocessor.outputWidth}×${preprocessor.outputHeight} images`;
  throw new Err(
    `${where}recipe ${settings.recipe.name ?? '(unnamed)'} makes ${makes} but model ${model.source} takes ${width}×${height}`,
  );
}

/**
 * Gathers stream inputs into chunks of up to a batch: each input gets the promise of its own outcome at once; the
 * chunk runs when full or flushed.
 */
class ChunkGatherer {
  readonly #size: number;
  readonly #run: (inputs: readonly (string | Uint8Array)[]) => Promise<ClassifyOutcome[]>;
  #inputs: (string | Uint8Array)[] = [];
  /** The filling chunk's outcomes, once it has run; `#settle` gives them. */
  #outcomes!: Promise<ClassifyOutcome[]>;
  #settle!: (outcomes: ClassifyOutcome[]) => void;

  constructor(size: number, run: (inputs: readonly (string | Uint8Array)[]) => Promise<ClassifyOutcome[]>) {
    this.#size = size;
    this.#run = run;
    this.#startChunk();
  }

  #startChunk(): void {
    this.#inputs = [];
    this.#outcomes = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  /** Adds an input to the filling chunk; runs the chunk once it is full. */
  add(input: string | Uint8Array): Promise<ClassifyOutcome> {
    const position = this.#inputs.length;
    this.#inputs.push(input);
    const outcome = this.#outcomes.then((outcomes) => outcomes[position] as ClassifyOutcome);
    if (this.#inputs.length >= this.#size) this.flush();
    return outcome;
  }

  /** Inputs in the chunk still filling. */
  get filling(): number {
    return this.#inputs.length;
  }

  /** Runs the filling chunk now, however full. */
  flush(): void {
    if (this.#inputs.length === 0) return;
    const inputs = this.#inputs;
    const settle = this.#settle;
    this.#startChunk();
    void this.#run(inputs).then(settle);
  }
}
