/**
 * The model manifest: a small JSON file that keeps a model and how to feed it together.
 *
 * ```json
 * { "model": "mobilenet_v2_int8_qdq.onnx", "recipe": "resize-224", "labels": "imagenet1k",
 *   "numClasses": 1000, "outputKind": "logits" }
 * ```
 * Paths are relative to the manifest file.
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { PRESETS, type PreprocessRecipe, validateRecipe } from '@mtailor/preprocess';
import { ExternalDataMissingError, ManifestError } from '../errors.js';
import * as is from '../is.js';
import { loadLabels } from '../labels/load-labels.js';

/** What the model's output holds: raw scores (softmax applied by us) or probabilities (used as they are). */
export type OutputKind = 'logits' | 'probabilities';

/** The manifest file's JSON, as written by people. */
export interface ManifestJson {
  /** Model file, relative to the manifest. */
  model: string;
  /** A `@mtailor/preprocess` preset name (e.g. `'resize-224'`) or a full recipe. */
  recipe: string | PreprocessRecipe;
  /** `'imagenet1k'`, a labels file relative to the manifest (one per line or a JSON array), or the labels inline. */
  labels: string | string[];
  /** Expected number of classes: checked against the model's output and the labels. */
  numClasses: number;
  /** Default `'logits'`. */
  outputKind?: OutputKind;
  /** Where the model and its preprocessing come from, for people (not read by the classifier). */
  description?: string;
  /**
   * The external-data file holding the model's weights, relative to the manifest (it sits beside the model, which
   * names it). Deploy it with the model; checked to exist when the manifest is read.
   */
  externalData?: string;
  /** How the model was made (exporter, opset, library versions), for people and tools (not read by the classifier). */
  export?: Record<string, unknown>;
}

/** A validated manifest with paths resolved and labels loaded. */
export interface Manifest {
  /** Absolute path of the manifest file. */
  path: string;
  /** Absolute path of the model file. */
  modelPath: string;
  /** Preset name or recipe, as given. */
  recipe: string | PreprocessRecipe;
  /** One label per class, in class-index order. */
  labels: readonly string[];
  numClasses: number;
  outputKind: OutputKind;
}

const KEYS = new Set([
  'model',
  'recipe',
  'labels',
  'numClasses',
  'outputKind',
  '$schema',
  'description',
  'externalData',
  'export',
]);

/**
 * Reads and validates a manifest file without loading the model: JSON shape, types, labels (count equal to
 * `numClasses`). `ImageClassifier.create({ manifest })` reads it this way, then checks it against the model.
 *
 * @throws {@link ManifestError} naming the file and the field at fault.
 * @throws {@link ExternalDataMissingError} when the `externalData` file it names is missing.
 *
 * @example
 * ```ts
 * const manifest = await readManifest('models/mobilenet.json');
 * console.log(manifest.modelPath, manifest.labels[0]);
 * ```
 */
export async function readManifest(file: string): Promise<Manifest> {
  const manifestPath = path.resolve(file);
  const dir = path.dirname(manifestPath);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (err) {
    throw new ManifestError(`Cannot read manifest ${manifestPath}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const fail = (message: string): never => {
    throw new ManifestError(`${manifestPath}: ${message}`);
  };
  if (!is.plainObject(json)) return fail('expected a JSON object');
  for (const key of Object.keys(json)) if (!KEYS.has(key)) fail(`unknown field "${key}"`);
  const { model, recipe, labels, numClasses, outputKind = 'logits' } = json;
  if (!is.nonEmptyString(model)) fail(`"model" must be a file name (string), got ${JSON.stringify(model)}`);
  if (typeof recipe === 'string') {
    if (!Object.hasOwn(PRESETS, recipe))
      fail(
        `"recipe" ${JSON.stringify(recipe)} is not a preset; expected one of ${Object.keys(PRESETS).join(', ')} or a recipe object`,
      );
  } else if (is.plainObject(recipe)) {
    try {
      validateRecipe(recipe);
    } catch (err) {
      throw new ManifestError(`${manifestPath}: "recipe": ${(err as Error).message}`, { cause: err });
    }
  } else fail('"recipe" must be a preset name or a recipe object { steps: [...], tensor: {...} }');
  if (!is.positiveInteger(numClasses))
    fail(`"numClasses" must be a positive integer, got ${JSON.stringify(numClasses)}`);
  if (outputKind !== 'logits' && outputKind !== 'probabilities')
    fail(`"outputKind" must be "logits" or "probabilities", got ${JSON.stringify(outputKind)}`);
  if (json.export !== undefined && !is.plainObject(json.export))
    fail(`"export" must be an object, got ${JSON.stringify(json.export)}`);
  if (json.externalData !== undefined) {
    if (!is.nonEmptyString(json.externalData))
      fail(`"externalData" must be a file name (string), got ${JSON.stringify(json.externalData)}`);
    const dataPath = path.resolve(dir, json.externalData as string);
    try {
      if (!(await stat(dataPath)).isFile()) throw new Error('not a regular file');
    } catch (err) {
      throw new ExternalDataMissingError(
        `${manifestPath}: "externalData" ${dataPath} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); it holds the model's weights and must be deployed beside the model`,
        { cause: err },
      );
    }
  }
  let labelList: readonly string[];
  try {
    if (labels === 'imagenet1k')
      labelList = await loadLabels('imagenet1k', { numClasses: numClasses as number });
    else if (is.nonEmptyString(labels))
      labelList = await loadLabels({ file: labels }, { baseDir: dir, numClasses: numClasses as number });
    else if (Array.isArray(labels) && labels.every((l) => typeof l === 'string'))
      labelList = await loadLabels(labels as string[], { numClasses: numClasses as number });
    else return fail('"labels" must be "imagenet1k", a labels file name or an array of strings');
  } catch (err) {
    if (err instanceof ManifestError && !err.message.startsWith(manifestPath))
      throw new ManifestError(`${manifestPath}: ${err.message}`, { cause: err });
    throw err;
  }
  return {
    path: manifestPath,
    modelPath: path.resolve(dir, model as string),
    recipe: recipe as string | PreprocessRecipe,
    labels: labelList,
    numClasses: numClasses as number,
    outputKind: outputKind as OutputKind,
  };
}

/**
 * Checks that a manifest describes `model`: same number of classes.
 * @throws {@link ManifestError} when they disagree.
 *
 * @example
 * ```ts
 * const manifest = await readManifest('models/mobilenet.json');
 * const model = await ONNXModel.load(manifest.modelPath);
 * checkManifestAgainstModel(manifest, model); // throws ManifestError if numClasses differs
 * ```
 */
export function checkManifestAgainstModel(manifest: Manifest, model: { readonly numClasses: number }): void {
  if (model.numClasses !== manifest.numClasses)
    throw new ManifestError(
      `${manifest.path}: "numClasses" is ${manifest.numClasses} but model ${manifest.modelPath} outputs ${model.numClasses} classes`,
    );
}
