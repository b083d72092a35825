/**
 * Named recipes for the two pipelines almost every torchvision classifier uses.
 * @module
 */
import { PreprocessError } from './errors.js';
import { IMAGENET_MEAN, IMAGENET_STD } from './tensor.js';
import type { PreprocessRecipe } from './types.js';

/**
 * Names of the built-in presets.
 *
 * @example
 * ```ts
 * const name: PresetName = 'imagenet-eval';
 * ```
 */
export type PresetName = 'resize-224' | 'imagenet-eval';

/**
 * The built-in recipes (read-only; {@link getPreset} returns an editable copy):
 * - `'resize-224'`: `convert('RGB')`, `Resize((224, 224))` bilinear, `ToTensor()`, `Normalize(ImageNet)` — the
 *   seed model's pipeline and the one `../shared/reference` was computed with;
 * - `'imagenet-eval'`: `convert('RGB')`, `Resize(256)` bilinear, `CenterCrop(224)`, `ToTensor()`,
 *   `Normalize(ImageNet)` — torchvision's standard evaluation transform.
 * Both produce NCHW RGB; set `tensor.layout` to the model's layout.
 *
 * @example
 * ```ts
 * import { PRESETS } from '@mtailor/preprocess';
 * Object.keys(PRESETS); // ['resize-224', 'imagenet-eval']
 * ```
 */
export const PRESETS: Readonly<Record<PresetName, Readonly<PreprocessRecipe>>> = deepFreeze({
  'resize-224': {
    name: 'resize-224',
    steps: [{ op: 'toRGB' }, { op: 'resize', width: 224, height: 224, filter: 'bilinear' }],
    tensor: { mean: IMAGENET_MEAN, std: IMAGENET_STD, scale: 255, channelOrder: 'RGB', layout: 'NCHW' },
  },
  'imagenet-eval': {
    name: 'imagenet-eval',
    steps: [
      { op: 'toRGB' },
      { op: 'resizeShorterSide', size: 256, filter: 'bilinear' },
      { op: 'centerCrop', width: 224, height: 224 },
    ],
    tensor: { mean: IMAGENET_MEAN, std: IMAGENET_STD, scale: 255, channelOrder: 'RGB', layout: 'NCHW' },
  },
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * A fresh, mutable copy of a built-in preset. Throws `INVALID_RECIPE` for an unknown name.
 *
 * @example
 * ```ts
 * import { getPreset } from '@mtailor/preprocess';
 * const recipe = getPreset('imagenet-eval');
 * recipe.tensor.layout = 'NHWC';
 * ```
 */
export function getPreset(name: PresetName): PreprocessRecipe {
  if (typeof name !== 'string' || !Object.hasOwn(PRESETS, name)) {
    throw new PreprocessError(
      'INVALID_RECIPE',
      `Unknown preset ${JSON.stringify(name)}; expected one of ${Object.keys(PRESETS).join(', ')}`,
    );
  }
  return JSON.parse(JSON.stringify(PRESETS[name])) as PreprocessRecipe;
}
