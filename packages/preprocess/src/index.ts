/**
 * `@mtailor/preprocess`: Pillow/torchvision-exact image preprocessing on typed arrays, zero dependencies, no Node
 * APIs. The data path: {@link RawImage} → {@link toRGB} → {@link resize} / {@link resizeShorterSide} →
 * {@link centerCrop} → {@link toTensor}, or all of it from a JSON recipe with {@link preprocess}. Resizes reproduce
 * Pillow (default) or torch's uint8 tensor resize (`backend: 'torchvision'`); recipes also express timm's eval
 * transforms and transformers' image processors exactly.
 *
 * @example
 * ```ts
 * import { getPreset, preprocess } from '@mtailor/preprocess';
 * const { tensor } = preprocess({ data, width, height, channels: 3 }, getPreset('resize-224'));
 * ```
 * @module
 */

export { toRGB } from './colour.js';
export { CENTER_CROP_OFFSETS, type CropWindow, centerCrop, centerCropWindow } from './crop.js';
export { PreprocessError, type PreprocessErrorCode } from './errors.js';
export { assertRawImage, createImage, MAX_DIMENSION, MAX_PIXELS } from './image.js';
export { getPreset, PRESETS, type PresetName } from './presets.js';
export { preprocess, recipeOutputSize, validateRecipe } from './recipe.js';
export { RESAMPLE_FILTERS } from './resample/filters.js';
export { type ResampleBackend, resampleBackend, setResampleBackend } from './resample/wasm/engine.js';
export {
  keepRatioOutputSize,
  RESIZE_BACKENDS,
  resize,
  resizeShorterSide,
  shorterSideOutputSize,
  TORCHVISION_FILTERS,
} from './resize.js';
export {
  createBatchTensor,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type ResolvedTensorOptions,
  resolveTensorOptions,
  TENSOR_FORMULAS,
  tensorLookupTable,
  tensorShape,
  toTensor,
} from './tensor.js';
export type * from './types.js';
