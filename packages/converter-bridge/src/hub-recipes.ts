/**
 * The `@mtailor/preprocess` recipes equal to timm's evaluation transform and to a Hugging Face transformers image
 * processor, from the plain data the export script reports about them (`hubTransform` in its result). What cannot
 * be reproduced exactly is refused (`RECIPE_UNSUPPORTED`), never approximated.
 * @module
 */
import {
  type PreprocessRecipe,
  type PreprocessStep,
  type ResampleFilter,
  validateRecipe,
} from '@mtailor/preprocess';
import { ConverterError } from './errors.js';

/**
 * timm's evaluation transform for a model and tag, as `timm.data.resolve_data_config({}, model=model)` resolves it
 * (the export script reports it; `transforms` are the class names `create_transform(is_training=False)` built).
 */
export interface TimmEvalTransform {
  family: 'timm';
  /** The timm architecture, e.g. `convnext_tiny`. */
  model: string | null;
  /** The pretrained tag whose config was used, e.g. `in12k_ft_in1k` (null: the architecture's default). */
  tag: string | null;
  /** `[3, height, width]` of the model input. */
  inputSize: [number, number, number];
  /** timm's interpolation name (`bilinear`, `bicubic`, …). */
  interpolation: string;
  /** The crop fraction: images are first resized to `floor(size / cropPct)`. */
  cropPct: number;
  /** `center`, `squash` or `border`. */
  cropMode: string;
  /** Per-channel mean, R, G, B. */
  mean: number[];
  /** Per-channel std, R, G, B. */
  std: number[];
  /** The transform classes timm built, in order (e.g. `Resize, CenterCrop, MaybeToTensor, Normalize`). */
  transforms: string[];
}

/** A Hugging Face transformers 5 image processor (a `preprocessor_config.json` loaded by `AutoImageProcessor`). */
export interface TransformersProcessor {
  family: 'transformers';
  /** Its class, e.g. `ViTImageProcessorPil` (PIL) or `ViTImageProcessor` (torchvision). */
  processor: string;
  /** Which of transformers' backends the class runs. */
  backend: 'pil' | 'torchvision';
  /** True when no backend was asked for: this is the one `AutoImageProcessor` picks by default. */
  defaultBackend: boolean;
  /** `generic` (the backend's own resize / crop / rescale / normalize) or `convnext` (ConvNeXt's crop_pct resize). */
  rule: 'generic' | 'convnext';
  doConvertRgb: boolean | null;
  doResize: boolean;
  /** `{ height, width }` or `{ shortest_edge }` (other keys are refused). */
  size: Record<string, number> | null;
  /** PIL's filter name. */
  resample: string;
  /** ConvNeXt's crop_pct (shortest_edge < 384: resize to shortest_edge / crop_pct, then crop). */
  cropPct: number | null;
  doCenterCrop: boolean;
  cropSize: Record<string, number> | null;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  mean: number[];
  std: number[];
  /** The installed transformers' version. */
  transformersVersion: string;
  /** The folder's `preprocessor_config.json` as written. */
  preprocessorConfig: Record<string, unknown>;
}

/** What the export script reports about a hub model's own preprocessing. */
export type HubTransform = TimmEvalTransform | TransformersProcessor;

const PIL_FILTERS: readonly ResampleFilter[] = ['nearest', 'box', 'bilinear', 'hamming', 'bicubic', 'lanczos'];

function unsupported(where: string, why: string): ConverterError {
  return new ConverterError(
    'RECIPE_UNSUPPORTED',
    `The preprocessing of ${where} cannot be recorded exactly: ${why}. Pass recipe (--recipe <preset|file.json>) to choose it yourself.`,
    { details: { where } },
  );
}

function pilFilter(name: string, where: string): ResampleFilter {
  const filter = PIL_FILTERS.find((f) => f === name);
  if (filter === undefined) throw unsupported(where, `it resizes with '${name}'`);
  return filter;
}

function tensorOf(mean: number[], std: number[], where: string): PreprocessRecipe['tensor'] {
  if (mean.length !== 3 || std.length !== 3)
    throw unsupported(where, `mean ${JSON.stringify(mean)} / std ${JSON.stringify(std)} are not 3 channels`);
  return {
    mean: [mean[0]!, mean[1]!, mean[2]!],
    std: [std[0]!, std[1]!, std[2]!],
    scale: 255,
    channelOrder: 'RGB',
    layout: 'NCHW',
  };
}

/** timm's name of a model and tag, e.g. `convnext_tiny.in12k_ft_in1k`. */
function timmName(t: TimmEvalTransform): string {
  return `timm ${t.model ?? 'model'}${t.tag ? `.${t.tag}` : ''}`;
}

/**
 * The recipe equal to timm's evaluation transform on a PIL image (`transforms_imagenet_eval`): resize to
 * `floor(size / crop_pct)` as the crop mode says, center crop to the input size, `ToTensor` + `Normalize`.
 *
 * @throws {ConverterError} RECIPE_UNSUPPORTED for a transform `@mtailor/preprocess` does not reproduce exactly.
 *
 * @example
 * ```ts
 * const recipe = recipeFromTimm({
 *   family: 'timm', model: 'resnet18', tag: 'a1_in1k', inputSize: [3, 224, 224], interpolation: 'bicubic',
 *   cropPct: 0.95, cropMode: 'center', mean: [0.485, 0.456, 0.406],
 *   std: [0.229, 0.224, 0.225], transforms: ['Resize', 'CenterCrop', 'MaybeToTensor', 'Normalize'],
 * });
 * recipe.steps[1]; // { op: 'resizeShorterSide', size: 235, filter: 'bicubic' }
 * ```
 */
export function recipeFromTimm(t: TimmEvalTransform): PreprocessRecipe {
  const where = timmName(t);
  const [, height, width] = t.inputSize;
  const scaleHeight = Math.floor(height / t.cropPct);
  const scaleWidth = Math.floor(width / t.cropPct);
  const filter = pilFilter(t.interpolation, where);
  const crop: PreprocessStep = { op: 'centerCrop', width, height };
  let resize: PreprocessStep;
  if (t.cropMode === 'squash')
    resize = { op: 'resize', width: scaleWidth, height: scaleHeight, filter };
  else if (t.cropMode === 'center' && scaleHeight === scaleWidth)
    resize = { op: 'resizeShorterSide', size: scaleHeight, filter };
  else
    throw unsupported(
      where,
      `crop mode '${t.cropMode}' at ${width}×${height} uses timm's ResizeKeepRatio${t.cropMode === 'border' ? ' and CenterCropOrPad' : ''}`,
    );
  return validateRecipe({
    name: `${where} eval`,
    steps: [{ op: 'toRGB' }, resize, crop],
    tensor: tensorOf(t.mean, t.std, where),
  });
}

/**
 * The recipe equal to a transformers image processor: its resize (`size` as height/width or shortest_edge, with
 * ConvNeXt's crop_pct rule), center crop, rescale and normalize, for the backend it runs.
 *
 * @throws {ConverterError} RECIPE_UNSUPPORTED for a processor `@mtailor/preprocess` does not reproduce exactly.
 *
 * @example
 * ```ts
 * const recipe = recipeFromTransformers(processor); // processor: ConvertResult.hubTransform of an --hf conversion
 * recipe.name; // 'transformers ViTImageProcessorPil'
 * ```
 */
export function recipeFromTransformers(t: TransformersProcessor): PreprocessRecipe {
  const where = `transformers ${t.processor}`;
  if (t.backend !== 'pil') throw unsupported(where, 'its torchvision backend');
  const filter = pilFilter(t.resample, where);
  const size = t.size ?? {};
  const keys = Object.keys(size).sort().join(',');
  const steps: PreprocessStep[] = [{ op: 'toRGB' }];
  let current: { width: number; height: number } | undefined; // fixed size after the steps so far, if any
  const crop = (width: number, height: number): void => {
    if (current !== undefined && (width > current.width || height > current.height))
      throw unsupported(where, `it pads a ${current.width}×${current.height} image to crop ${width}×${height}`);
    steps.push({ op: 'centerCrop', width, height });
    current = { width, height };
  };
  if (t.doResize) {
    if (keys === 'height,width') {
      steps.push({ op: 'resize', width: size.width!, height: size.height!, filter });
      current = { width: size.width!, height: size.height! };
    } else if (keys === 'shortest_edge' && t.rule === 'convnext' && size.shortest_edge! < 384) {
      const edge = size.shortest_edge!;
      steps.push({ op: 'resizeShorterSide', size: Math.trunc(edge / (t.cropPct ?? 224 / 256)), filter });
      crop(edge, edge);
    } else if (keys === 'shortest_edge' && t.rule === 'convnext') {
      const edge = size.shortest_edge!;
      steps.push({ op: 'resize', width: edge, height: edge, filter });
      current = { width: edge, height: edge };
    } else if (keys === 'shortest_edge') {
      steps.push({ op: 'resizeShorterSide', size: size.shortest_edge!, filter });
      if (t.doCenterCrop && t.cropSize && (t.cropSize.width! > size.shortest_edge! || t.cropSize.height! > size.shortest_edge!))
        throw unsupported(where, `it pads images to crop ${t.cropSize.width}×${t.cropSize.height}`);
    } else throw unsupported(where, `its size ${JSON.stringify(size)}`);
  }
  if (t.doCenterCrop) {
    const c = t.cropSize ?? {};
    if (!c.height || !c.width) throw unsupported(where, `its crop_size ${JSON.stringify(c)}`);
    crop(c.width, c.height);
  }
  if (!t.doRescale || Math.fround(t.rescaleFactor) !== Math.fround(1 / 255))
    throw unsupported(where, `it rescales by ${t.doRescale ? t.rescaleFactor : 1}, not 1/255`);
  const tensor = t.doNormalize
    ? tensorOf(t.mean, t.std, where)
    : tensorOf([0, 0, 0], [1, 1, 1], where);
  return validateRecipe({ name: where, steps, tensor });
}

/**
 * The recipe of a hub model's own preprocessing: {@link recipeFromTimm} or {@link recipeFromTransformers}.
 *
 * @example
 * ```ts
 * const recipe = recipeFromHub(result.hubTransform!); // after convertCheckpoint({ arch: 'timm:…' } or { hf })
 * ```
 */
export function recipeFromHub(t: HubTransform): PreprocessRecipe {
  return t.family === 'timm' ? recipeFromTimm(t) : recipeFromTransformers(t);
}

/**
 * A short description of a hub model's preprocessing for the manifest's `description`.
 *
 * @example
 * ```ts
 * describeHubTransform(result.hubTransform!); // 'timm resnet18.a1_in1k eval (bicubic, crop_pct 0.95, center, 224×224)'
 * ```
 */
export function describeHubTransform(t: HubTransform): string {
  if (t.family === 'timm')
    return `${timmName(t)} eval (${t.interpolation}, crop_pct ${t.cropPct}, ${t.cropMode}, ${t.inputSize[2]}×${t.inputSize[1]}, mean [${t.mean}], std [${t.std}])`;
  return `transformers ${t.transformersVersion} ${t.processor} (${t.backend} backend${t.defaultBackend ? ', the default' : ''})`;
}
