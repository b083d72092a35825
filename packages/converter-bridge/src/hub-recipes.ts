/**
 * The `@mtailor/preprocess` recipes equal to timm's evaluation transform and to a Hugging Face transformers image
 * processor, from the plain data the export script reports about them (`hubTransform` in its result). What cannot
 * be reproduced exactly is refused (`RECIPE_UNSUPPORTED`), never approximated.
 * @module
 */
import {
  type PreprocessRecipe,
  type PreprocessStep,
  RESAMPLE_FILTERS,
  type ResampleFilter,
  TORCHVISION_FILTERS,
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
  /**
   * `generic` (the backend's own resize / crop / rescale / normalize), `convnext` (ConvNeXt's crop_pct resize) or
   * `efficientnet` (EfficientNet's rescale offset and second division by std).
   */
  rule: 'generic' | 'convnext' | 'efficientnet';
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
  /** EfficientNet's `rescale_offset`: 1 is subtracted after the rescale (pixels in [−1, 1]). */
  rescaleOffset: boolean;
  /** EfficientNet's `include_top`: the normalised pixels are divided by std once more. */
  includeTop: boolean;
  mean: number[];
  std: number[];
  /** The installed transformers' version. */
  transformersVersion: string;
  /** The folder's `preprocessor_config.json` as written. */
  preprocessorConfig: Record<string, unknown>;
}

/** What the export script reports about a hub model's own preprocessing. */
export type HubTransform = TimmEvalTransform | TransformersProcessor;

function unsupported(where: string, why: string): ConverterError {
  return new ConverterError(
    'RECIPE_UNSUPPORTED',
    `The preprocessing of ${where} cannot be recorded exactly: ${why}. Pass recipe (--recipe <preset|file.json>) to choose it yourself.`,
    { details: { where } },
  );
}

function pilFilter(name: string, where: string): ResampleFilter {
  const filter = RESAMPLE_FILTERS.find((f) => f === name);
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

/** Python 3's `round()`: halves go to the even neighbour. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The recipe equal to timm's evaluation transform on a PIL image (`transforms_imagenet_eval`): resize to
 * `floor(size / crop_pct)` as the crop mode says, center crop (or pad) to the input size, `ToTensor` + `Normalize`:
 *
 * - `center`, square input: `Resize(scale)` of the shorter side with the model's interpolation, `CenterCrop`;
 * - `center`, non-square input: timm's `ResizeKeepRatio(scale)` — with its own default interpolation, bilinear,
 *   whatever the model's is (timm passes none) — then `CenterCrop`;
 * - `squash`: `Resize((scale_h, scale_w))`, `CenterCrop`;
 * - `border`: `ResizeKeepRatio(scale, longest=1)` with the model's interpolation, `CenterCropOrPad` filled with
 *   `round(255 · mean)`.
 *
 * @throws {ConverterError} RECIPE_UNSUPPORTED for an interpolation or crop mode `@mtailor/preprocess` does not
 *   reproduce exactly.
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
  let steps: PreprocessStep[];
  if (t.cropMode === 'squash')
    steps = [
      { op: 'resize', width: scaleWidth, height: scaleHeight, filter },
      { op: 'centerCrop', width, height },
    ];
  else if (t.cropMode === 'border')
    steps = [
      { op: 'resizeKeepRatio', width: scaleWidth, height: scaleHeight, longest: 1, filter },
      { op: 'centerCrop', width, height, fill: t.mean.map((m) => roundHalfEven(255 * m)) },
    ];
  else if (t.cropMode === 'center' && scaleHeight === scaleWidth)
    steps = [
      { op: 'resizeShorterSide', size: scaleHeight, filter },
      { op: 'centerCrop', width, height },
    ];
  else if (t.cropMode === 'center')
    steps = [
      { op: 'resizeKeepRatio', width: scaleWidth, height: scaleHeight, longest: 0, filter: 'bilinear' },
      { op: 'centerCrop', width, height },
    ];
  else throw unsupported(where, `its crop mode '${t.cropMode}'`);
  return validateRecipe({
    name: `${where} eval`,
    steps: [{ op: 'toRGB' }, ...steps],
    tensor: tensorOf(t.mean, t.std, where),
  });
}

/**
 * The recipe equal to a transformers 5 image processor, for the backend its class runs: its resize (`size` as
 * height/width or shortest_edge, ConvNeXt's crop_pct rule: below 384 pixels resize the shorter side to
 * `int(shortest_edge / crop_pct)` and crop, else resize to a square), center crop, rescale and normalize — each
 * with that backend's arithmetic: PIL's resize, floor crop offsets and numpy's rescale-then-normalize for
 * `*ImageProcessorPil`; torch's antialiased uint8 resize, its crop offsets and the fused
 * `(x − 255·mean) / (255·std)` for the torchvision classes; EfficientNet's `rescale_offset` and `include_top`.
 *
 * @throws {ConverterError} RECIPE_UNSUPPORTED for a processor `@mtailor/preprocess` does not reproduce exactly.
 *
 * @example
 * ```ts
 * const recipe = recipeFromTransformers(processor); // processor: ConvertResult.hubTransform of an hf conversion
 * recipe.name; // 'transformers ViTImageProcessorPil'
 * ```
 */
export function recipeFromTransformers(t: TransformersProcessor): PreprocessRecipe {
  const where = `transformers ${t.processor}`;
  const backend = t.backend;
  const filter = pilFilter(t.resample, where);
  if (backend === 'torchvision' && !TORCHVISION_FILTERS.includes(filter))
    throw unsupported(
      where,
      `its torchvision backend resizes with '${filter}' (reproduced: ${TORCHVISION_FILTERS.join(', ')})`,
    );
  const offsets = backend === 'pil' ? 'transformers-pil' : 'transformers-torchvision';
  const size = t.size ?? {};
  const keys = Object.keys(size).sort().join(',');
  const steps: PreprocessStep[] = [{ op: 'toRGB' }];
  if (t.doResize) {
    if (keys === 'height,width')
      steps.push({ op: 'resize', width: size.width!, height: size.height!, filter, backend });
    else if (keys === 'shortest_edge' && t.rule === 'convnext' && size.shortest_edge! < 384) {
      const edge = size.shortest_edge!;
      const resized = Math.trunc(edge / (t.cropPct ?? 224 / 256));
      steps.push({ op: 'resizeShorterSide', size: resized, filter, backend });
      steps.push({ op: 'centerCrop', width: edge, height: edge, offsets });
    } else if (keys === 'shortest_edge' && t.rule === 'convnext') {
      const edge = size.shortest_edge!;
      steps.push({ op: 'resize', width: edge, height: edge, filter, backend });
    } else if (keys === 'shortest_edge')
      steps.push({ op: 'resizeShorterSide', size: size.shortest_edge!, filter, backend });
    else throw unsupported(where, `its size ${JSON.stringify(size)}`);
  }
  if (t.doCenterCrop) {
    const c = t.cropSize ?? {};
    if (!c.height || !c.width) throw unsupported(where, `its crop_size ${JSON.stringify(c)}`);
    steps.push({ op: 'centerCrop', width: c.width, height: c.height, offsets });
  }
  // Both backends divide by 1 / rescale_factor or multiply by rescale_factor; the recipe records scale =
  // 1 / rescale_factor, which must give rescale_factor back exactly.
  const scale = 1 / t.rescaleFactor;
  if (!t.doRescale || !t.doNormalize || 1 / scale !== t.rescaleFactor)
    throw unsupported(
      where,
      `it ${t.doRescale ? `rescales by ${t.rescaleFactor}` : 'does not rescale'} and ${t.doNormalize ? 'normalizes' : 'does not normalize'} (reproduced: both, with 1 / rescale_factor exact)`,
    );
  const tensor = {
    ...tensorOf(t.mean, t.std, where),
    scale,
    formula: offsets,
    ...(t.rescaleOffset ? { rescaleOffset: 1 } : {}),
    ...(t.includeTop ? { divideByStdTwice: true } : {}),
  } as const;
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
