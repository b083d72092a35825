/**
 * The model manifest `convertCheckpoint` writes beside the ONNX file: model file, preprocessing recipe, labels and
 * class count, in the format `@mtailor/core` reads (`readManifest`, `ImageClassifier.create({ manifest })`).
 * The recipe of a torchvision builder is the evaluation transform of its weights entry, read from torchvision's
 * metadata by the export script.
 * @module
 */
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ManifestJson } from '@mtailor/core';
import {
  PRESETS,
  type PreprocessRecipe,
  type PresetName,
  type ResampleFilter,
  recipeOutputSize,
  validateRecipe,
} from '@mtailor/preprocess';
import { ConverterError } from './errors.js';

/**
 * A torchvision weights entry's evaluation transform (`weights.transforms()`, an `ImageClassification`), as the
 * export script reports it. torchvision applies it to a PIL image: `Resize(resizeSize, interpolation)` (PIL,
 * always antialiased), `CenterCrop(cropSize)`, to float in [0, 1], `Normalize(mean, std)`.
 */
export interface TorchvisionEvalTransform {
  /** The weights entry, e.g. `MobileNet_V2_Weights.IMAGENET1K_V2`. */
  weights: string;
  /** The transform's class (always `ImageClassification`; others are refused). */
  transform: string;
  /** `[s]`: shorter side → s; `[h, w]`: exact size. */
  resizeSize: number[];
  /** `[c]` or `[c, c]`: square center crop. */
  cropSize: number[];
  /** torchvision's InterpolationMode value (`bilinear`, `bicubic`, …). */
  interpolation: string;
  /** The `@mtailor/preprocess` filter that reproduces PIL's resize with that interpolation exactly. */
  filter: ResampleFilter;
  /** Always true: PIL resizes with antialiasing. */
  antialias: boolean;
  /** Per-channel mean, R, G, B. */
  mean: number[];
  /** Per-channel std, R, G, B. */
  std: number[];
  /** Number of categories of the weights entry. */
  categories: number;
  /** The weights' minimum input size `[h, w]`. */
  minSize: number[];
}

/**
 * The manifest as `convertCheckpoint` writes it: `@mtailor/core`'s manifest format (`ManifestJson`, the one reader)
 * with the output kind and the description always filled in.
 */
export interface WrittenManifest extends ManifestJson {
  /** Always `'logits'` for a converted classifier. */
  outputKind: 'logits';
  /** Where the model and its preprocessing come from, for people. */
  description: string;
}

/**
 * The `@mtailor/preprocess` recipe equal to a torchvision evaluation transform on a PIL image:
 * `toRGB` (the caller's `convert('RGB')`), `resizeShorterSide` (or `resize` for a two-number size),
 * `centerCrop`, then `ToTensor` + `Normalize(mean, std)`.
 *
 * @example
 * ```ts
 * const recipe = recipeFromTorchvision({
 *   weights: 'MobileNet_V2_Weights.IMAGENET1K_V2', transform: 'ImageClassification', resizeSize: [232],
 *   cropSize: [224], interpolation: 'bilinear', filter: 'bilinear', antialias: true,
 *   mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], categories: 1000, minSize: [1, 1],
 * });
 * recipe.steps[1]; // { op: 'resizeShorterSide', size: 232, filter: 'bilinear' }
 * ```
 */
export function recipeFromTorchvision(t: TorchvisionEvalTransform): PreprocessRecipe {
  const [first, second] = t.resizeSize as [number, number | undefined];
  const crop = t.cropSize[0]!;
  const resize =
    second === undefined
      ? ({ op: 'resizeShorterSide', size: first, filter: t.filter } as const)
      : ({ op: 'resize', width: second, height: first, filter: t.filter } as const);
  return validateRecipe({
    name: `torchvision ${t.weights} eval`,
    steps: [{ op: 'toRGB' }, resize, { op: 'centerCrop', width: crop, height: crop }],
    tensor: { mean: t.mean, std: t.std, scale: 255, channelOrder: 'RGB', layout: 'NCHW' },
  });
}

/**
 * A recipe given by the caller: a preset name, a recipe object, or the path of a JSON recipe file.
 * @throws {ConverterError} INVALID_OPTION for an unknown preset, an unreadable file or an invalid recipe.
 *
 * @example
 * ```ts
 * loadRecipe('imagenet-eval'); // 'imagenet-eval' (a preset stays a name)
 * loadRecipe('recipes/my-model.json'); // the validated recipe object from the file
 * ```
 */
export function loadRecipe(recipe: string | PreprocessRecipe): string | PreprocessRecipe {
  const fail = (why: string, cause?: unknown): ConverterError =>
    new ConverterError('INVALID_OPTION', `Invalid recipe: ${why}`, { cause });
  if (typeof recipe === 'string') {
    if (Object.hasOwn(PRESETS, recipe)) return recipe;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(recipe, 'utf8'));
    } catch (err) {
      throw fail(
        `${JSON.stringify(recipe)} is neither a preset (${Object.keys(PRESETS).join(', ')}) nor a readable JSON recipe file: ${(err as Error).message}`,
        err,
      );
    }
    recipe = json as PreprocessRecipe;
  }
  try {
    return structuredClone(validateRecipe(recipe));
  } catch (err) {
    throw fail((err as Error).message, err);
  }
}

/**
 * The square size a recipe always produces (it ends with a fixed-size resize or crop), or undefined when the
 * size depends on the image or is not square: the model input size the recipe feeds.
 *
 * @example
 * ```ts
 * import { recipeSquareSize } from '@mtailor/converter-bridge';
 * recipeSquareSize('imagenet-eval'); // 224
 * recipeSquareSize({ steps: [{ op: 'toRGB' }], tensor: {} }); // undefined: the size follows the image
 * ```
 */
export function recipeSquareSize(recipe: string | PreprocessRecipe): number | undefined {
  const resolved = typeof recipe === 'string' ? PRESETS[recipe as PresetName] : recipe;
  const a = recipeOutputSize(resolved, 1000, 700);
  const b = recipeOutputSize(resolved, 700, 1000);
  return a.width === a.height && a.width === b.width && a.height === b.height ? a.width : undefined;
}

/**
 * `resize-224` for the seed's Classifier at 224 pixels; the same pipeline at another size otherwise.
 *
 * @example
 * ```ts
 * seedRecipe(224); // 'resize-224'
 * seedRecipe(160); // { name: 'resize-160', steps: [toRGB, resize 160×160 bilinear], tensor: ImageNet mean/std }
 * ```
 */
export function seedRecipe(inputSize: number): string | PreprocessRecipe {
  if (inputSize === 224) return 'resize-224';
  const recipe = structuredClone(PRESETS['resize-224']) as PreprocessRecipe;
  recipe.name = `resize-${inputSize}`;
  recipe.steps = recipe.steps.map((s) =>
    s.op === 'resize' ? { ...s, width: inputSize, height: inputSize } : s,
  );
  return recipe;
}

/**
 * Where `convertCheckpoint` writes the manifest by default: `<out minus .onnx>.manifest.json`.
 *
 * @example
 * ```ts
 * import { defaultManifestPath } from '@mtailor/converter-bridge';
 * defaultManifestPath('/models/resnet50.onnx'); // '/models/resnet50.manifest.json'
 * ```
 */
export function defaultManifestPath(modelPath: string): string {
  const base = modelPath.endsWith('.onnx') ? modelPath.slice(0, -'.onnx'.length) : modelPath;
  return `${base}.manifest.json`;
}

/**
 * Write the manifest atomically (temporary file, then rename), with the model path relative to it.
 * @throws {ConverterError} OUTPUT_NOT_WRITABLE.
 *
 * @example
 * ```ts
 * await writeManifest('/models/m.manifest.json', {
 *   modelPath: '/models/m.onnx', recipe: 'resize-224', labels: 'imagenet1k', numClasses: 1000,
 *   outputKind: 'logits', description: 'my model',
 * }); // → { model: 'm.onnx', … }
 * ```
 */
export async function writeManifest(
  manifestPath: string,
  content: Omit<WrittenManifest, 'model'> & { modelPath: string },
): Promise<WrittenManifest> {
  const { modelPath, ...rest } = content;
  return writeManifestFile(manifestPath, modelPath, rest);
}

/**
 * Writes `fields` as the manifest `manifestPath` (atomically: temporary file, then rename) with `model` set to
 * `modelPath` relative to the manifest, `/`-separated. The one writer of manifest files (`writeManifest`, and the
 * quantizer, which carries an input manifest's fields over to the int8 model).
 * @throws {ConverterError} OUTPUT_NOT_WRITABLE.
 */
export async function writeManifestFile<Fields extends object>(
  manifestPath: string,
  modelPath: string,
  fields: Fields,
): Promise<Omit<Fields, 'model'> & { model: string }> {
  const { model: _replaced, ...rest } = fields as Fields & { model?: unknown };
  const manifest = { model: relativeToManifest(manifestPath, modelPath), ...rest };
  const tmp = `${manifestPath}.tmp-${process.pid}`;
  try {
    await mkdir(path.dirname(manifestPath), { recursive: true });
    await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(tmp, manifestPath);
  } catch (err) {
    throw new ConverterError(
      'OUTPUT_NOT_WRITABLE',
      `Cannot write the manifest ${manifestPath}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return manifest;
}

/**
 * `file` as a manifest at `manifestPath` names it: relative to the manifest's folder, `/`-separated (manifests move
 * between machines with their files).
 *
 * @example
 * ```ts
 * relativeToManifest('/models/m.manifest.json', '/models/labels/classes.txt'); // 'labels/classes.txt'
 * ```
 */
export function relativeToManifest(manifestPath: string, file: string): string {
  const relative = path.relative(path.dirname(manifestPath), path.resolve(file)) || path.basename(file);
  return relative.split(path.sep).join('/');
}
