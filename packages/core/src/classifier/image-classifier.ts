/**
 * {@link ImageClassifier}: image bytes → decode → preprocess → tensor → session → logits → predictions.
 * @module
 */
import type { PreprocessRecipe, PresetName } from '@mtailor/preprocess';
import { DisposedError, InvalidOptionError, ManifestError, type MtailorError } from '../errors.js';
import type { ImageInput, ImagePreprocessor, ResizeEngine } from '../input/index.js';
import * as is from '../is.js';
import type { LabelsSource } from '../labels/load-labels.js';
import { checkManifestAgainstModel, type Manifest, readManifest } from '../manifest/manifest.js';
import { ONNXModel } from '../model/onnx-model.js';
import { MODEL_OPTION_NAMES, type ModelOptions } from '../model/session-options.js';
import { toMtailorError } from './error-transfer.js';
import { type ClassifyResult, type SoftmaxMode, toPredictions } from './predictions.js';
import { checkKnownKeys, createPreprocessor, resolveLabels, resolveRecipe } from './setup.js';

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
  /** Default `'exact'`. */
  engine?: ResizeEngine;
  /** Rotate by EXIF orientation before preprocessing. Default `true`; `false` reproduces torchvision. */
  autoOrient?: boolean;
  /** Largest accepted input in bytes (see {@link ImagePreprocessor}). */
  maxInputBytes?: number;
  /** Largest accepted image in pixels (see {@link ImagePreprocessor}). */
  maxPixels?: number;
  /** Most images per onnxruntime call when the model's batch dim is dynamic. Default 8. */
  maxBatchSize?: number;
  /**
   * Apply softmax to the output. Default `'auto'`: the manifest's `outputKind` when given, else detected per
   * image (an output row already in [0, 1] that sums to 1 is used as is).
   */
  softmax?: SoftmaxMode;
}

/** Options of {@link ImageClassifier.classify}. */
export interface ClassifyOptions {
  /** How many predictions to return (1 … numClasses). Default 5. */
  topK?: number;
}

/** The result of one image of a batch: its predictions, or the typed error that stopped it. */
export type ClassifyOutcome = ({ ok: true } & ClassifyResult) | { ok: false; error: MtailorError };

/** What {@link ImageClassifier.create} resolved, for workers that rebuild the same preprocessor. */
export interface PreprocessorSettings {
  recipe: PreprocessRecipe;
  engine: ResizeEngine;
  autoOrient: boolean;
  maxInputBytes: number | undefined;
  maxPixels: number | undefined;
}

const MODEL_OPTION_KEYS = MODEL_OPTION_NAMES;

const CREATE_OPTION_KEYS: readonly string[] = [
  ...MODEL_OPTION_KEYS,
  'model',
  'manifest',
  'labels',
  'recipe',
  'engine',
  'autoOrient',
  'maxInputBytes',
  'maxPixels',
  'maxBatchSize',
  'softmax',
];

/**
 * Classifies images with an ONNX model: PyTorch-identical preprocessing (Pillow-exact resize), onnxruntime,
 * softmax, top-k, labels. One model session for the classifier's life; `dispose()` releases it.
 *
 * @example
 * ```ts
 * import { ImageClassifier } from '@mtailor/core';
 * const classifier = await ImageClassifier.create({ model: '../shared/models/mobilenet_v2_int8_qdq.onnx' });
 * const { predictions, timings } = await classifier.classify('../shared/images/n01440764_tench.JPEG', { topK: 3 });
 * console.log(predictions[0]); // { index: 0, label: 'tench', probability: 0.99… }
 * classifier.dispose();
 * ```
 */
export class ImageClassifier {
  /** The model session. */
  readonly model: ONNXModel;
  /** The preprocessor (layout set to the model's). */
  readonly preprocessor: ImagePreprocessor;
  /** Labels in class-index order, or `undefined` (predictions labelled `class <index>`). */
  readonly labels: readonly string[] | undefined;
  /** Images per onnxruntime call. */
  readonly maxBatchSize: number;
  /** How the model output is turned into probabilities. */
  readonly softmax: SoftmaxMode;
  /** The manifest this classifier was created from, if any. */
  readonly manifest: Manifest | undefined;
  /** The preprocessing settings, as plain data (what pipeline workers rebuild their preprocessor from). */
  readonly preprocessorSettings: PreprocessorSettings;
  readonly #ownsModel: boolean;
  readonly #disposers: (() => void)[] = [];
  #disposed = false;

  private constructor(init: {
    model: ONNXModel;
    ownsModel: boolean;
    preprocessor: ImagePreprocessor;
    settings: PreprocessorSettings;
    labels: readonly string[] | undefined;
    maxBatchSize: number;
    softmax: SoftmaxMode;
    manifest: Manifest | undefined;
  }) {
    this.model = init.model;
    this.#ownsModel = init.ownsModel;
    this.preprocessor = init.preprocessor;
    this.preprocessorSettings = init.settings;
    this.labels = init.labels;
    this.maxBatchSize = init.maxBatchSize;
    this.softmax = init.softmax;
    this.manifest = init.manifest;
  }

  /**
   * Loads the model (one shared session per model and options), the labels and the preprocessor, and checks
   * that they fit together (recipe output size = model input size, labels count = classes).
   *
   * @throws {@link InvalidOptionError}, {@link ManifestError}, {@link ModelLoadError}, {@link ModelShapeError}.
   */
  static async create(options: ImageClassifierOptions): Promise<ImageClassifier> {
    if (!is.plainObject(options as unknown)) throw is.invalidParameterError('options', 'object', options);
    checkKnownKeys(options, CREATE_OPTION_KEYS, 'ImageClassifier.create');
    const { maxBatchSize = 8, softmax = 'auto', engine = 'exact', autoOrient = true } = options;
    if (!is.positiveInteger(maxBatchSize))
      throw is.invalidParameterError('maxBatchSize', 'positive integer', maxBatchSize);
    if (softmax !== 'auto' && !is.bool(softmax))
      throw is.invalidParameterError('softmax', "'auto' or boolean", softmax);
    if (!is.oneOf(engine, ['exact', 'fast'] as const))
      throw is.invalidParameterError('engine', 'one of exact, fast', engine);
    if (!is.bool(autoOrient)) throw is.invalidParameterError('autoOrient', 'boolean', autoOrient);
    if (options.model === undefined && options.manifest === undefined)
      throw new InvalidOptionError('Expected model or manifest in options but received neither');

    const manifest = options.manifest === undefined ? undefined : await readManifest(options.manifest);
    const modelOptions: ModelOptions = {};
    for (const key of MODEL_OPTION_KEYS)
      if (options[key] !== undefined) Object.assign(modelOptions, { [key]: options[key] });

    let model: ONNXModel;
    let ownsModel = true;
    if (options.model instanceof ONNXModel) {
      if (options.model.disposed)
        throw new InvalidOptionError('Expected a live ONNXModel for model but it was disposed');
      const given = Object.keys(modelOptions);
      if (given.length > 0)
        throw new InvalidOptionError(
          `Session options (${given.join(', ')}) apply when the classifier loads the model; pass them to ONNXModel.load for a model you load yourself`,
        );
      model = options.model;
      ownsModel = false;
    } else {
      model = await ONNXModel.load(options.model ?? manifest!.modelPath, modelOptions);
    }
    try {
      if (manifest) checkManifestAgainstModel(manifest, model);
      const labels = await resolveLabels(options.labels, manifest, model.numClasses);
      const recipe = resolveRecipe(options.recipe ?? manifest?.recipe, model);
      const settings: PreprocessorSettings = {
        recipe,
        engine,
        autoOrient,
        maxInputBytes: options.maxInputBytes,
        maxPixels: options.maxPixels,
      };
      const preprocessor = createPreprocessor(settings);
      const { width, height } = model.inputSize;
      if (preprocessor.outputWidth !== width || preprocessor.outputHeight !== height) {
        const where = options.recipe === undefined && manifest ? `${manifest.path}: ` : '';
        const Err = where ? ManifestError : InvalidOptionError;
        const makes =
          preprocessor.outputWidth === undefined
            ? 'images whose size depends on the input (end it with resize or centerCrop)'
            : `${preprocessor.outputWidth}×${preprocessor.outputHeight} images`;
        throw new Err(
          `${where}recipe ${recipe.name ?? '(unnamed)'} makes ${makes} but model ${model.source} takes ${width}×${height}`,
        );
      }
      const effectiveSoftmax: SoftmaxMode =
        softmax !== 'auto' || !manifest ? softmax : manifest.outputKind === 'logits';
      return new ImageClassifier({
        model,
        ownsModel,
        preprocessor,
        settings,
        labels,
        maxBatchSize: model.batchDim === 'dynamic' ? maxBatchSize : model.batchDim,
        softmax: effectiveSoftmax,
        manifest,
      });
    } catch (err) {
      if (ownsModel) model.dispose();
      throw err;
    }
  }

  /**
   * Classifies one image: a file path, its bytes (`Uint8Array`/`Buffer`/`ArrayBuffer`) or a readable stream.
   *
   * @throws {@link UnsupportedImageError}, {@link InvalidImageError}, {@link ImageTooLargeError} for bad images;
   * {@link InferenceError} when onnxruntime fails; {@link InvalidOptionError} for a bad `topK`.
   *
   * @example
   * ```ts
   * const { predictions } = await classifier.classify(await readFile('cat.jpg'), { topK: 1 });
   * ```
   */
  async classify(input: ImageInput, options: ClassifyOptions = {}): Promise<ClassifyResult> {
    this.#checkLive();
    const k = this.#topK(options);
    const start = performance.now();
    const image = await this.preprocessor.process(input);
    const size = this.model.batchDim === 'dynamic' ? 1 : this.model.batchDim;
    let tensor = image.tensor;
    if (size > 1) {
      tensor = new Float32Array(size * this.model.inputElementsPerImage);
      tensor.set(image.tensor);
    }
    const inferenceStart = performance.now();
    const scores = await this.model.run(tensor, size);
    const inferenceMs = performance.now() - inferenceStart;
    const predictions = toPredictions(scores, 0, this.model.numClasses, k, this.labels, this.softmax);
    return {
      predictions,
      timings: {
        decodeMs: image.timings.readMs + image.timings.decodeMs,
        preprocessMs: image.timings.preprocessMs,
        inferenceMs,
        totalMs: performance.now() - start,
      },
    };
  }

  /**
   * Classifies several images with one onnxruntime call per batch of up to {@link maxBatchSize} images (one
   * image per call for a model with a fixed batch of 1). A bad image does not stop the others: each item is
   * `{ ok: true, predictions, timings }` or `{ ok: false, error }`, in input order.
   *
   * @example
   * ```ts
   * const results = await classifier.classifyBatch(['a.jpg', 'b.png', 'notes.txt']);
   * for (const r of results) console.log(r.ok ? r.predictions[0]?.label : r.error.code);
   * ```
   */
  async classifyBatch(
    inputs: readonly ImageInput[],
    options: ClassifyOptions = {},
  ): Promise<ClassifyOutcome[]> {
    this.#checkLive();
    if (!Array.isArray(inputs)) throw is.invalidParameterError('inputs', 'array', inputs);
    const k = this.#topK(options);
    const out: ClassifyOutcome[] = [];
    for (let start = 0; start < inputs.length; start += this.maxBatchSize) {
      out.push(...(await this.#classifyChunk(inputs.slice(start, start + this.maxBatchSize), k)));
    }
    return out;
  }

  async #classifyChunk(inputs: readonly ImageInput[], k: number): Promise<ClassifyOutcome[]> {
    const start = performance.now();
    const per = this.model.inputElementsPerImage;
    const fixed = this.model.batchDim === 'dynamic' ? undefined : this.model.batchDim;
    const batch = new Float32Array(Math.max(inputs.length, fixed ?? 0) * per);
    // Decode all images concurrently (sharp decodes on libuv's pool); each writes straight into its batch slot.
    const settled = await Promise.allSettled(
      inputs.map((input, slot) => this.preprocessor.process(input, { out: batch, offset: slot * per })),
    );
    // Pack the images that decoded to the front of the batch, so that failed ones cost no inference.
    let count = 0;
    const rowOf: number[] = [];
    settled.forEach((s, slot) => {
      if (s.status !== 'fulfilled') return;
      if (count !== slot) batch.copyWithin(count * per, slot * per, (slot + 1) * per);
      rowOf[slot] = count++;
    });
    let scores: Float32Array | undefined;
    let inferenceMs = 0;
    let inferenceError: MtailorError | undefined;
    if (count > 0) {
      const runSize = fixed === undefined ? count : Math.ceil(count / fixed) * fixed;
      if (runSize > count) batch.fill(0, count * per, runSize * per);
      const inferenceStart = performance.now();
      try {
        scores = await this.model.run(batch.subarray(0, runSize * per), runSize);
      } catch (err) {
        inferenceError = toMtailorError(err);
      }
      inferenceMs = (performance.now() - inferenceStart) / count;
    }
    const end = performance.now();
    return settled.map((s, slot): ClassifyOutcome => {
      if (s.status === 'rejected') return { ok: false, error: toMtailorError(s.reason) };
      if (!scores) return { ok: false, error: inferenceError! };
      const row = rowOf[slot]!;
      return {
        ok: true,
        predictions: toPredictions(scores, row, this.model.numClasses, k, this.labels, this.softmax),
        timings: {
          decodeMs: s.value.timings.readMs + s.value.timings.decodeMs,
          preprocessMs: s.value.timings.preprocessMs,
          inferenceMs,
          totalMs: end - start,
        },
      };
    });
  }

  /**
   * Releases the model session (unless the model was passed in by the caller) and stops the pipeline's
   * preprocessing workers. Idempotent.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const fn of this.#disposers.splice(0)) fn();
    if (this.#ownsModel) this.model.dispose();
  }

  /** @internal Runs `fn` on {@link ImageClassifier.dispose} (used by the pipeline to stop its workers). */
  onDispose(fn: () => void): void {
    if (this.#disposed) fn();
    else this.#disposers.push(fn);
  }

  /** True after {@link ImageClassifier.dispose}. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** @internal Checks `topK` against the model. */
  #topK(options: ClassifyOptions): number {
    if (!is.plainObject(options as unknown)) throw is.invalidParameterError('options', 'object', options);
    checkKnownKeys(options, ['topK'], 'classify');
    const { topK = 5 } = options;
    if (!is.positiveInteger(topK)) throw is.invalidParameterError('topK', 'positive integer', topK);
    if (topK > this.model.numClasses)
      throw is.invalidParameterError('topK', `integer between 1 and ${this.model.numClasses}`, topK);
    return topK;
  }

  #checkLive(): void {
    if (this.#disposed) throw new DisposedError('ImageClassifier');
  }
}
