/**
 * `quantizeModel`: float ONNX image classifier + calibration images → static int8 QDQ model + accuracy report.
 * preflight → fold BatchNorm → plan → calibrate → ranges → QDQ rewrite → write + validate → kernels, accuracy
 * (in-sample, on eval images, or k-fold cross-validated), speed.
 * @module
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImagePreprocessor, Int8KernelsReport } from '@mtailor/core';
import type { PreprocessRecipe, PresetName } from '@mtailor/preprocess';
import { ConverterError, invalidOption } from '../errors.js';
import { defaultManifestPath, relativeToManifest, writeManifestFile } from '../manifest.js';
import { modelForRuntime } from '../model-file.js';
import { describeValue } from '../validate/onnx-proto.js';
import { type ValidationReport, validateModel } from '../validate/validate-model.js';
import { collectStatistics, ImageTensors, listImageFiles, pickEvenly } from './calibrate.js';
import { checkFoldsFit, crossValidate } from './cross-validate.js';
import {
  accuracyAgainstFloat,
  computeLogits,
  inspectKernels,
  type LogitPairs,
  measureSpeed,
  servedInt8Model,
} from './evaluate.js';
import { foldBatchNorms } from './fold-batchnorm.js';
import { DEFAULT_FOLDS } from './folds.js';
import {
  cloneModel,
  decodeModel,
  encodeModel,
  GraphIndex,
  type LoadedModel,
  NameAllocator,
  pruneDeadCode,
} from './graph.js';
import { planQuantization } from './plan.js';
import { preflight } from './preflight.js';
import {
  type ActivationType,
  activationParams,
  type CalibrationMethod,
  chooseRange,
  DEFAULT_PERCENTILE,
  type QuantParams,
  WEIGHT_MAX,
} from './ranges.js';
import { rewriteToQdq } from './rewrite.js';
import type {
  AccuracyReport,
  CrossValidationReport,
  KernelReport,
  RewriteSummary,
  SpeedOptions,
  SpeedReport,
} from './summary.js';

/**
 * Default `minAgreement`: the quantized top-1 must match the float top-1 on at least 97 % of the images.
 *
 * @example
 * ```ts
 * const report = await quantizeModel({ model, calibration, out, minAgreement: DEFAULT_MIN_AGREEMENT });
 * ```
 */
export const DEFAULT_MIN_AGREEMENT = 0.97;

/**
 * Options of {@link quantizeModel}.
 *
 * @example
 * ```ts
 * const options: QuantizeOptions = {
 *   model: 'mobilenet_v2_float.onnx',
 *   calibration: 'calibration-images/',
 *   out: 'mobilenet_v2_int8.onnx',
 *   eval: 'held-out-images/',
 * };
 * ```
 */
export interface QuantizeOptions {
  /** The float ONNX model. Optional when `manifest` names it. */
  model?: string;
  /** Calibration images: a folder (searched recursively) or a list of files. */
  calibration: string | readonly string[];
  /**
   * Where to write the quantized model. A manifest is written beside it (`<out minus .onnx>.manifest.json`, as
   * `convertCheckpoint` names it) when the input has one.
   */
  out: string;
  /**
   * The input model's manifest (recipe, labels). Default: `<model minus .onnx>.manifest.json` (what `convertCheckpoint`
   * writes) when that file exists. Its recipe preprocesses the calibration images; it is copied, pointing at `out`,
   * to `<out minus .onnx>.manifest.json`.
   */
  manifest?: string;
  /** Preprocessing recipe or preset when there is no manifest. Default `'resize-224'`. */
  recipe?: PreprocessRecipe | PresetName;
  /** Apply EXIF orientation as the server does (default true, as `ImageClassifier`). */
  autoOrient?: boolean;
  /** Range method (default `'percentile'`). */
  method?: CalibrationMethod;
  /** Percentile of the `percentile` method (default 99.999). */
  percentile?: number;
  /** One weight scale per output channel (default true); false: one per weight tensor. */
  perChannel?: boolean;
  /**
   * 7-bit weights, in [−64, 64] (default true), as onnxruntime's `reduce_range`, for every Conv / Gemm / MatMul
   * but depthwise convolutions (onnxruntime's depthwise kernels do not add in int16) and the first and last layer
   * (small, and the most sensitive), which keep [−127, 127]: onnxruntime's fast U8S8 kernels then stay exact on
   * x86 CPUs without VNNI for all but those two layers, which `@mtailor/core` runs on its exact U8U8 kernels there.
   * `false`: 8-bit weights everywhere, a little more precise, but on x86 CPUs without VNNI all int8 layers then
   * run on the exact, slower U8U8 kernels (`int8Kernels`).
   */
  reduceRange?: boolean;
  /** Quantized activation type (default `'uint8'`, measured faster here: see the README). */
  activations?: ActivationType;
  /** Zero point 0 for activations (default false; Relu / Clip then stay float between the int8 nodes). */
  symmetricActivations?: boolean;
  /**
   * Correct each Conv / Gemm bias for the mean output shift its rounded weights cause (ΔW · E[x], with E[x] from
   * the calibration images). Default true.
   */
  biasCorrection?: boolean;
  /** Use this many calibration images, spread evenly over the list (default: all). */
  calibrationSize?: number;
  /** Node names to keep in float (e.g. the first Conv, the classifier Gemm). */
  exclude?: readonly string[];
  /** Held-out images to measure agreement on (folder or files). */
  eval?: string | readonly string[];
  /**
   * Without `eval`: k-fold cross-validation over the calibration images (default 2 folds, at least 2): image `i` of
   * the sorted list is held out by fold `i % k`, and each fold is measured on a model calibrated, with the same
   * settings, on the other folds, which gives a held-out agreement ({@link QuantizationReport} `accuracy.crossValidated`)
   * that `minAgreement` is judged on. The model written is calibrated on all the images. `false`: no
   * cross-validation, judged on the calibration images themselves (in-sample). A number is refused with `eval`
   * (the eval images are the held-out set then); fewer images than folds is a TOO_FEW_IMAGES error.
   */
  folds?: number | false;
  /**
   * `ok` requires at least this top-1 agreement: on `eval` when given, else the cross-validated held-out agreement
   * (else, with `folds: false`, the in-sample one on the calibration images). Default 0.97.
   */
  minAgreement?: number;
  /** Speed measurement settings, or false to skip it. */
  speed?: SpeedOptions | false;
  /** Progress callback (stage, images done / total when the stage counts images). */
  onProgress?: (progress: QuantizeProgress) => void;
  /** Cancels the work between batches (ConverterError ABORTED). */
  signal?: AbortSignal;
}

/** A progress event of {@link quantizeModel}. */
export interface QuantizeProgress {
  /** The stage running. */
  stage: 'prepare' | 'calibrate' | 'rewrite' | 'validate' | 'evaluate' | 'cross-validate' | 'speed';
  /** A line for a person. */
  message: string;
  /** Work done in this stage (images), when counted. */
  done?: number;
  /** Work in this stage, when counted. */
  total?: number;
}

/** Everything known about a quantization run (what `mtailor quantize --json` prints). */
export interface QuantizationReport {
  /** True when the quantized model is valid and its top-1 agreement reaches `minAgreement`. */
  ok: boolean;
  /** Absolute paths. */
  files: { float: string; int8: string; manifest: string | null };
  /** Sizes in bytes. */
  bytes: { float: number; int8: number };
  /** The settings used. */
  settings: {
    method: CalibrationMethod;
    percentile: number | null;
    perChannel: boolean;
    reduceRange: boolean;
    activations: ActivationType;
    symmetricActivations: boolean;
    biasCorrection: boolean;
    recipe: string;
    calibrationImages: number;
    exclude: string[];
    minAgreement: number;
    /** Cross-validation folds (null: none, because `eval` images were given or `folds: false`). */
    folds: number | null;
  };
  /** What changed in the graph. */
  graph: {
    /** Quantized nodes by operator. */
    quantized: Record<string, number>;
    /** Relu / Clip nodes replaced by the output quantization. */
    activationsFolded: number;
    /** BatchNormalization nodes folded into their Conv. */
    batchNormsFolded: number;
    /** Quantizable nodes left in float and why. */
    skipped: { node: string; opType: string; reason: string }[];
  } & Omit<RewriteSummary, 'removedActivations'>;
  /** The kernels onnxruntime runs after its QDQ fusions. */
  kernels: KernelReport;
  /**
   * Agreement with the float model: `calibration` is the written model's on its own calibration images (in-sample);
   * `eval` on the `eval` images; `crossValidated` the k-fold held-out estimate from the calibration images (when
   * there are no `eval` images, unless `folds: false`).
   */
  accuracy: {
    calibration: AccuracyReport;
    eval: AccuracyReport | null;
    crossValidated: CrossValidationReport | null;
  };
  /** Which figure `ok` was judged on: `eval`, else `cross-validation`, else (`folds: false`) `calibration`. */
  judgedOn: 'eval' | 'cross-validation' | 'calibration';
  /**
   * How `@mtailor/core` runs the int8 model on this machine by default (`int8Kernels: 'exact'`), which the accuracy
   * and speed above were measured with: the kernels, why, and the CPU (int8 flags, saturation probe — always run
   * here, so the report says whether this CPU's U8S8 kernels saturate).
   */
  int8Kernels: Int8KernelsReport;
  /** Speed of both models in onnxruntime (null when skipped). */
  speed: SpeedReport | null;
  /** `mtailor validate` of the written model. */
  validation: ValidationReport;
}

const METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'entropy', 'mse'];
const OPTION_KEYS = new Set([
  'model',
  'calibration',
  'out',
  'manifest',
  'recipe',
  'autoOrient',
  'method',
  'percentile',
  'perChannel',
  'reduceRange',
  'activations',
  'symmetricActivations',
  'calibrationSize',
  'biasCorrection',
  'exclude',
  'eval',
  'folds',
  'minAgreement',
  'speed',
  'onProgress',
  'signal',
]);

function checkOptions(options: QuantizeOptions): void {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
  for (const key of Object.keys(options))
    if (!OPTION_KEYS.has(key))
      throw invalidOption('options', `only known keys (${[...OPTION_KEYS].join(', ')})`, key);
  const { model, out, manifest, calibration, method, percentile, calibrationSize, minAgreement } = options;
  if (model !== undefined && (typeof model !== 'string' || !model))
    throw invalidOption('model', 'file path', model);
  if (model === undefined && manifest === undefined)
    throw invalidOption('model', 'file path (or a manifest naming the model)', model);
  if (typeof out !== 'string' || !out) throw invalidOption('out', 'file path', out);
  if (manifest !== undefined && (typeof manifest !== 'string' || !manifest))
    throw invalidOption('manifest', 'file path', manifest);
  if (manifest !== undefined && options.recipe !== undefined)
    throw new ConverterError(
      'INVALID_OPTION',
      'Give a recipe or a manifest (which holds the recipe), not both',
    );
  const isList = (v: unknown): boolean =>
    (typeof v === 'string' && v.length > 0) || (Array.isArray(v) && v.every((f) => typeof f === 'string'));
  if (!isList(calibration))
    throw invalidOption('calibration', 'folder path or array of image paths', calibration);
  if (options.eval !== undefined && !isList(options.eval))
    throw invalidOption('eval', 'folder path or array of image paths', options.eval);
  const { folds } = options;
  if (folds !== undefined && folds !== false && !(Number.isSafeInteger(folds) && folds >= 2))
    throw invalidOption('folds', 'integer ≥ 2, or false', folds);
  if (typeof folds === 'number' && options.eval !== undefined)
    throw new ConverterError(
      'INVALID_OPTION',
      'Give eval images or cross-validation folds, not both (the eval images are the held-out set)',
    );
  if (method !== undefined && !METHODS.includes(method))
    throw invalidOption('method', `one of ${METHODS.join(', ')}`, method);
  if (percentile !== undefined && !(typeof percentile === 'number' && percentile > 50 && percentile <= 100))
    throw invalidOption('percentile', 'number in (50, 100]', percentile);
  if (calibrationSize !== undefined && !(Number.isSafeInteger(calibrationSize) && calibrationSize > 0))
    throw invalidOption('calibrationSize', 'positive integer', calibrationSize);
  if (
    minAgreement !== undefined &&
    !(typeof minAgreement === 'number' && minAgreement >= 0 && minAgreement <= 1)
  )
    throw invalidOption('minAgreement', 'number in [0, 1]', minAgreement);
  if (options.activations !== undefined && options.activations !== 'uint8' && options.activations !== 'int8')
    throw invalidOption('activations', 'uint8 or int8', options.activations);
  for (const key of [
    'perChannel',
    'reduceRange',
    'symmetricActivations',
    'autoOrient',
    'biasCorrection',
  ] as const)
    if (options[key] !== undefined && typeof options[key] !== 'boolean')
      throw invalidOption(key, 'boolean', options[key]);
  if (
    options.exclude !== undefined &&
    !(Array.isArray(options.exclude) && options.exclude.every((e) => typeof e === 'string'))
  )
    throw invalidOption('exclude', 'array of node names', options.exclude);
  const { speed } = options;
  if (speed !== undefined && speed !== false) {
    if (typeof speed !== 'object' || speed === null)
      throw invalidOption('speed', 'false or an object { runs, threads, batch }', speed);
    for (const key of ['runs', 'threads', 'batch'] as const) {
      const v = speed[key];
      if (v !== undefined && !(Number.isSafeInteger(v) && v > 0))
        throw invalidOption(`speed.${key}`, 'positive integer', v);
    }
  }
}

/** The manifest of the input model, as read by `@mtailor/core` and as written (JSON), or undefined. */
interface InputManifest {
  file: string;
  json: Record<string, unknown>;
  recipe: string | PreprocessRecipe;
  labels: readonly string[];
  modelPath: string;
}

async function readInputManifest(file: string): Promise<InputManifest> {
  const core = await import('@mtailor/core');
  try {
    const manifest = await core.readManifest(file);
    const json = JSON.parse(await readFile(manifest.path, 'utf8')) as Record<string, unknown>;
    return {
      file: manifest.path,
      json,
      recipe: manifest.recipe,
      labels: manifest.labels,
      modelPath: manifest.modelPath,
    };
  } catch (err) {
    throw new ConverterError('MANIFEST_INVALID', (err as Error).message, { cause: err });
  }
}

/**
 * The input manifest carried over to the quantized model, written where `convertCheckpoint` would put it
 * (`<out minus .onnx>.manifest.json`): same fields, `model` pointing at `out`, a labels file re-pointed from the
 * new place.
 */
async function writeOutputManifest(input: InputManifest, out: string): Promise<string> {
  const file = defaultManifestPath(out);
  // The int8 model is written as one file, by this quantizer: the float model's data file and export facts are not its.
  const { externalData: _data, export: _export, ...fields }: Record<string, unknown> = input.json;
  const labels = input.json.labels;
  if (typeof labels === 'string' && labels !== 'imagenet1k')
    fields.labels = relativeToManifest(file, path.resolve(path.dirname(input.file), labels));
  await writeManifestFile(file, out, fields);
  return file;
}

function recipeName(recipe: string | PreprocessRecipe): string {
  return typeof recipe === 'string' ? recipe : (recipe.name ?? 'custom recipe');
}

/** The model's bytes with any external data inlined from beside it (read as the classifier reads it), decoded. */
async function readModel(file: string): Promise<{ bytes: Uint8Array; model: LoadedModel }> {
  const bytes = await modelForRuntime(file, 'MODEL_UNREADABLE');
  if (typeof bytes === 'string')
    throw new ConverterError(
      'MODEL_UNREADABLE',
      `${file} with its external data is over 2 GB: too large to quantize in memory`,
    );
  try {
    return { bytes, model: decodeModel(bytes) };
  } catch (err) {
    throw new ConverterError('MODEL_UNREADABLE', `${file} is not an ONNX model: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The serving preprocessing (`@mtailor/core`, exact engine, NCHW) and the image size it ends in, if fixed. */
async function makePreprocessor(
  recipe: string | PreprocessRecipe,
  autoOrient: boolean,
): Promise<{ preprocessor: ImagePreprocessor; imageSize: { width: number; height: number } | undefined }> {
  // Loaded on first use: validating or converting models never pulls in sharp.
  const core = await import('@mtailor/core');
  let preprocessor: ImagePreprocessor;
  try {
    preprocessor = new core.ImagePreprocessor({
      recipe: recipe as PreprocessRecipe | PresetName,
      resize: 'exact',
      autoOrient,
    }).withLayout('NCHW');
  } catch (err) {
    throw new ConverterError('INVALID_OPTION', `Invalid recipe: ${(err as Error).message}`, { cause: err });
  }
  const { outputWidth: width, outputHeight: height } = preprocessor;
  return {
    preprocessor,
    imageSize: width === undefined || height === undefined ? undefined : { width, height },
  };
}

/**
 * Options of {@link compareModels}.
 *
 * @example
 * ```ts
 * const options: CompareOptions = { float: 'float.onnx', int8: 'int8.onnx', images: 'held-out/' };
 * ```
 */
export interface CompareOptions {
  /** The float model. */
  float: string;
  /** A quantized version of it (any: made by {@link quantizeModel} or elsewhere). */
  int8: string;
  /** Images: a folder or files. */
  images: string | readonly string[];
  /** Preprocessing recipe or preset (default `'resize-224'`). */
  recipe?: PreprocessRecipe | PresetName;
  /** Apply EXIF orientation (default true). */
  autoOrient?: boolean;
  /** Labels for the worst-classes list. */
  labels?: readonly string[];
}

/**
 * Measure any quantized model against its float original on images: top-1 / top-5 agreement and logit error per
 * class (the accuracy part of {@link quantizeModel}'s report, for models made elsewhere too).
 *
 * @throws {ConverterError} MODEL_UNREADABLE | SHAPE_UNSUPPORTED | CALIBRATION_FAILED | QUANTIZE_RUN_FAILED
 *
 * @example
 * ```ts
 * import { compareModels } from '@mtailor/converter-bridge';
 * const acc = await compareModels({ float: 'float.onnx', int8: 'int8.onnx', images: 'held-out/' });
 * console.log(acc.top1Agreement, acc.logitError.rms);
 * ```
 */
export async function compareModels(options: CompareOptions): Promise<AccuracyReport> {
  const { bytes: floatBytes, model } = await readModel(options.float);
  const { bytes: int8 } = await readModel(options.int8);
  const recipe = options.recipe ?? 'resize-224';
  const { preprocessor, imageSize } = await makePreprocessor(recipe, options.autoOrient ?? true);
  const index = new GraphIndex(model.graph);
  const input = (model.graph.input ?? []).find((i) => index.inputs.has(i.name ?? ''));
  const dims = input ? describeValue(input).shape : null;
  const [, , height, width] = dims ?? [];
  if (
    typeof height !== 'number' ||
    typeof width !== 'number' ||
    !imageSize ||
    imageSize.width !== width ||
    imageSize.height !== height
  )
    throw new ConverterError(
      'SHAPE_UNSUPPORTED',
      `Recipe ${recipeName(recipe)} cannot feed input ${input?.name ?? '(none)'} [${(dims ?? []).join(', ')}]`,
    );
  const files = await listImageFiles(options.images, 'evaluation');
  const served = await servedInt8Model(int8);
  const pairs = await computeLogits(
    floatBytes,
    served.bytes,
    new ImageTensors(files, preprocessor, 3 * height * width),
    {
      int8SessionOptions: served.sessionOptions,
      inputName: input!.name ?? '',
      outputName: model.graph.output?.[0]?.name ?? '',
      batch: typeof dims?.[0] === 'number' ? dims[0] : 'dynamic',
      imageShape: [3, height, width],
    },
  );
  return accuracyAgainstFloat(pairs, options.labels);
}

/**
 * Quantize a float ONNX image classifier to static int8 (QDQ): calibrate activation ranges on images preprocessed
 * exactly as the model is served, write int8 per-channel weights, int32 biases and QuantizeLinear/DequantizeLinear
 * pairs that onnxruntime fuses into int8 kernels, validate the result, and measure it against the float model
 * (top-1 / top-5 agreement, logit error per class, speed).
 *
 * @throws {ConverterError} INVALID_OPTION | MODEL_UNREADABLE | MANIFEST_INVALID | ALREADY_QUANTIZED |
 *   MODEL_INVALID | SHAPE_UNSUPPORTED | NO_FLOAT_WEIGHTS | OPSET_UNSUPPORTED | CALIBRATION_FAILED |
 *   TOO_FEW_IMAGES (fewer calibration images than cross-validation folds) | OUTPUT_NOT_WRITABLE |
 *   QUANTIZE_RUN_FAILED | ABORTED. A model that quantizes but agrees too little is not an
 *   error: the report says `ok: false`.
 *
 * @example
 * ```ts
 * import { quantizeModel, formatQuantizationReport } from '@mtailor/converter-bridge';
 * const report = await quantizeModel({
 *   model: 'mobilenet_v2_float.onnx',
 *   calibration: 'calibration-images/',
 *   eval: 'held-out-images/',
 *   out: 'mobilenet_v2_int8.onnx',
 * });
 * console.log(formatQuantizationReport(report));
 * if (!report.ok) process.exitCode = 1;
 * ```
 */
export async function quantizeModel(options: QuantizeOptions): Promise<QuantizationReport> {
  checkOptions(options);
  const progress = (p: QuantizeProgress): void => options.onProgress?.(p);
  const method = options.method ?? 'percentile';
  const percentile = options.percentile ?? DEFAULT_PERCENTILE;
  const perChannel = options.perChannel ?? true;
  const reduceRange = options.reduceRange ?? true;
  const activations = options.activations ?? 'uint8';
  const symmetric = options.symmetricActivations ?? false;
  const minAgreement = options.minAgreement ?? DEFAULT_MIN_AGREEMENT;
  const biasCorrection = options.biasCorrection ?? true;

  // Manifest: explicit, else the one beside the model.
  let manifestFile = options.manifest;
  if (manifestFile === undefined && options.model && existsSync(defaultManifestPath(options.model)))
    manifestFile = defaultManifestPath(options.model);
  const manifest = manifestFile === undefined ? undefined : await readInputManifest(manifestFile);
  const modelPath = path.resolve(options.model ?? manifest!.modelPath);
  const outPath = path.resolve(options.out);
  if (outPath === modelPath) throw invalidOption('out', 'a path other than the input model', options.out);
  const recipe = manifest?.recipe ?? options.recipe ?? 'resize-224';

  progress({ stage: 'prepare', message: `reading ${modelPath}` });
  const { bytes: floatBytes, model } = await readModel(modelPath);
  const { preprocessor, imageSize } = await makePreprocessor(recipe, options.autoOrient ?? true);
  const facts = preflight(model, floatBytes, {
    imageSize,
    recipeName: recipeName(recipe),
    perChannel,
    baseDir: path.dirname(modelPath),
  });

  const calibrationFiles = pickEvenly(
    await listImageFiles(options.calibration, 'calibration'),
    options.calibrationSize,
  );
  const evalFiles = options.eval === undefined ? undefined : await listImageFiles(options.eval, 'evaluation');
  const folds = evalFiles || options.folds === false ? null : (options.folds ?? DEFAULT_FOLDS);
  if (folds !== null) checkFoldsFit(calibrationFiles.length, folds);
  const imageShape = [3, facts.height, facts.width] as const;
  const size = 3 * facts.height * facts.width;
  const calibrationImages = new ImageTensors(calibrationFiles, preprocessor, size);

  // Fold BatchNorm, then plan on the folded float graph.
  const folded = cloneModel(model);
  const batchNormsFolded = foldBatchNorms(folded, new NameAllocator(folded.graph));
  pruneDeadCode(folded.graph);
  const planOptions = { exclude: options.exclude ?? [], perChannel, symmetricActivations: symmetric };
  const plan = planQuantization(new GraphIndex(folded.graph), planOptions);
  if (plan.quantized.size === 0)
    throw new ConverterError(
      'NO_FLOAT_WEIGHTS',
      `Nothing left to quantize${plan.excluded.length ? ` after excluding ${plan.excluded.join(', ')}` : ''}`,
      { details: { skipped: plan.skipped } },
    );

  /** Calibrate on `images` and rewrite a copy of the folded graph (the plan is per copy: it holds its nodes). */
  const quantizeOn = async (
    images: ImageTensors,
    stage: 'calibrate' | 'cross-validate',
  ): Promise<{ model: LoadedModel; rewrite: RewriteSummary }> => {
    const target = cloneModel(folded);
    const targetPlan = planQuantization(new GraphIndex(target.graph), planOptions);
    const stats = await collectStatistics({
      model: target,
      inputName: facts.inputName,
      batch: facts.batch,
      imageShape,
      targets: targetPlan.calibrate,
      images,
      method,
      ...(stage === 'calibrate'
        ? {
            onProgress: (done: number, total: number) =>
              progress({ stage, message: 'calibrating', done, total }),
          }
        : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const params = new Map<string, QuantParams>();
    for (const [tensor, s] of stats)
      params.set(
        tensor,
        activationParams(chooseRange(s, method, { percentile, symmetric }), activations, symmetric),
      );
    const inputMeans = new Map<string, Float64Array>();
    if (biasCorrection)
      for (const [tensor, s] of stats) {
        const means = s.channelMeans();
        if (means) inputMeans.set(tensor, means);
      }
    const rewrite = rewriteToQdq(target, targetPlan, params, {
      inputMeans,
      weightMax: reduceRange ? WEIGHT_MAX.reduced : WEIGHT_MAX.full,
    });
    return { model: target, rewrite };
  };

  progress({
    stage: 'calibrate',
    message: `calibrating ${plan.calibrate.length} tensors on ${calibrationFiles.length} images (${method})`,
  });
  const { model: quantized, rewrite } = await quantizeOn(calibrationImages, 'calibrate');
  progress({ stage: 'rewrite', message: 'writing the QDQ graph' });
  const settings: QuantizationReport['settings'] = {
    method,
    percentile: method === 'percentile' ? percentile : null,
    perChannel,
    reduceRange,
    activations,
    symmetricActivations: symmetric,
    biasCorrection,
    recipe: recipeName(recipe),
    calibrationImages: calibrationFiles.length,
    exclude: plan.excluded,
    minAgreement,
    folds,
  };
  // The model records how it was made; the acceptance threshold and the measurement are about this run.
  const { minAgreement: _threshold, folds: _folds, ...howMade } = settings;
  quantized.metadataProps = [
    ...(quantized.metadataProps ?? []).filter((p) => p.key !== 'mtailor.quantize'),
    { key: 'mtailor.quantize', value: JSON.stringify(howMade) },
  ];
  const int8Bytes = encodeModel(quantized);
  try {
    await mkdir(path.dirname(outPath), { recursive: true });
    await writeFile(outPath, int8Bytes);
  } catch (err) {
    throw new ConverterError('OUTPUT_NOT_WRITABLE', `Cannot write ${outPath}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const manifestOut = manifest ? await writeOutputManifest(manifest, outPath) : null;

  progress({ stage: 'validate', message: `validating ${outPath}` });
  const validation = await validateModel(outPath, { load: true });
  const kernels = await inspectKernels(int8Bytes);
  // Accuracy and speed as @mtailor/core serves the model by default: its exact integer arithmetic on this CPU.
  const served = await servedInt8Model(int8Bytes);

  const logitRun = {
    inputName: facts.inputName,
    outputName: facts.outputName,
    batch: facts.batch,
    imageShape,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const logitPairs = (images: ImageTensors, what: string): Promise<LogitPairs> =>
    computeLogits(floatBytes, served.bytes, images, {
      ...logitRun,
      int8SessionOptions: served.sessionOptions,
      onProgress: (done, total) =>
        progress({ stage: 'evaluate', message: `comparing on ${what} images`, done, total }),
    });
  const calibrationPairs = await logitPairs(calibrationImages, 'calibration');
  // As the classifier names classes: the manifest's labels, else ImageNet-1k's for a 1000-class model.
  const labels =
    manifest?.labels ??
    (calibrationPairs.classes === 1000 ? (await import('@mtailor/core')).IMAGENET1K_LABELS : undefined);
  const calibrationAccuracy = accuracyAgainstFloat(calibrationPairs, labels);
  const evalAccuracy = evalFiles
    ? accuracyAgainstFloat(
        await logitPairs(new ImageTensors(evalFiles, preprocessor, size), 'evaluation'),
        labels,
      )
    : null;

  let crossValidated: CrossValidationReport | null = null;
  if (folds !== null) {
    progress({
      stage: 'cross-validate',
      message: `${folds}-fold cross-validation: quantizing on ${folds - 1} of ${folds} parts of the calibration images, measuring on the rest`,
    });
    crossValidated = await crossValidate({
      folds,
      images: calibrationImages,
      // The float logits do not depend on the fold: computed once, above.
      floatLogits: calibrationPairs.float,
      quantizeOn: async (images, fold) => {
        progress({
          stage: 'cross-validate',
          message: `fold ${fold + 1} of ${folds}: calibrating on ${images.count} image${images.count === 1 ? '' : 's'}`,
        });
        return encodeModel((await quantizeOn(images, 'cross-validate')).model);
      },
      logitRun,
      ...(labels ? { labels } : {}),
    });
  }

  let speed: SpeedReport | null = null;
  if (options.speed !== false) {
    progress({ stage: 'speed', message: 'timing the float and the int8 model' });
    const image = new Float32Array(size);
    await calibrationImages.load(0, image, 0);
    speed = await measureSpeed(
      floatBytes,
      served.bytes,
      { name: facts.inputName, image, shape: imageShape },
      options.speed ?? {},
      served.sessionOptions,
    );
  }

  const judged = evalAccuracy ?? crossValidated?.heldOut ?? calibrationAccuracy;
  const quantizedOps: Record<string, number> = {};
  for (const node of plan.quantized)
    quantizedOps[node.opType ?? ''] = (quantizedOps[node.opType ?? ''] ?? 0) + 1;
  const { removedActivations, ...rewriteCounts } = rewrite;
  return {
    ok: validation.ok && judged.top1Agreement >= minAgreement,
    files: { float: modelPath, int8: outPath, manifest: manifestOut },
    bytes: { float: floatBytes.byteLength, int8: int8Bytes.byteLength },
    settings,
    graph: {
      quantized: quantizedOps,
      activationsFolded: removedActivations,
      batchNormsFolded: batchNormsFolded.length,
      skipped: plan.skipped,
      ...rewriteCounts,
    },
    kernels,
    accuracy: { calibration: calibrationAccuracy, eval: evalAccuracy, crossValidated },
    judgedOn: evalAccuracy ? 'eval' : crossValidated ? 'cross-validation' : 'calibration',
    int8Kernels: served.report,
    speed,
    validation,
  };
}
