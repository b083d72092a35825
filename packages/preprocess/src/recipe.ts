/**
 * Preprocessing recipes: plain JSON data describing image steps + the tensor conversion, and the one
 * `preprocess(image, recipe)` entry point that runs them.
 * @module
 */

import { toRGBUnchecked } from './colour.js';
import { assertCenterCropOptions, centerCropUnchecked } from './crop.js';
import { PreprocessError } from './errors.js';
import { assertOutputSize, assertRawImage } from './image.js';
import * as is from './is.js';
import {
  assertKeepRatioOptions,
  assertShorterSideOptions,
  keepRatioOutputSize,
  resizeUnchecked,
  resolveResampling,
  shorterSideOutputSize,
} from './resize.js';
import { resolveTensorOptions, tensorTables, writeTensor } from './tensor.js';
import type { PreprocessRecipe, PreprocessResult, PreprocessStep, RawImage, TensorTarget } from './types.js';

const STEP_KEYS: Readonly<Record<PreprocessStep['op'], readonly string[]>> = {
  toRGB: ['op'],
  resize: ['op', 'width', 'height', 'filter', 'backend'],
  resizeShorterSide: ['op', 'size', 'maxSize', 'filter', 'backend'],
  resizeKeepRatio: ['op', 'width', 'height', 'longest', 'filter', 'backend'],
  centerCrop: ['op', 'width', 'height', 'offsets', 'fill'],
};
const STEP_OPS = Object.keys(STEP_KEYS) as PreprocessStep['op'][];
const RECIPE_KEYS = ['name', 'steps', 'tensor'];
const TENSOR_KEYS = [
  'mean',
  'std',
  'scale',
  'channelOrder',
  'layout',
  'formula',
  'rescaleOffset',
  'divideByStdTwice',
];

function recipeError(message: string): PreprocessError {
  return new PreprocessError('INVALID_RECIPE', message);
}

function rejectUnknownKeys(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw recipeError(
        `Unknown key ${JSON.stringify(key)} in ${where}; expected only ${allowed.join(', ')}`,
      );
    }
  }
}

/** Runs option checks and reports their failures as `INVALID_RECIPE`. */
function asRecipeError(check: () => void): void {
  try {
    check();
  } catch (err) {
    if (err instanceof PreprocessError)
      throw new PreprocessError('INVALID_RECIPE', err.message, { cause: err });
    throw err;
  }
}

function validateStep(step: unknown, i: number): void {
  const where = `recipe.steps[${i}]`;
  if (!is.plainObject(step))
    throw is.invalidParameterError(where, 'object { op, ... }', step, 'INVALID_RECIPE');
  if (!is.oneOf(step.op, STEP_OPS)) {
    throw is.invalidParameterError(`${where}.op`, `one of ${STEP_OPS.join(', ')}`, step.op, 'INVALID_RECIPE');
  }
  rejectUnknownKeys(step, STEP_KEYS[step.op], where);
  asRecipeError(() => {
    switch (step.op) {
      case 'resize':
        assertOutputSize(step.width, step.height, `${where}.`);
        resolveResampling(step, `${where}.`);
        break;
      case 'resizeShorterSide':
        assertShorterSideOptions(step, `${where}.`);
        break;
      case 'resizeKeepRatio':
        assertKeepRatioOptions(step, `${where}.`);
        break;
      case 'centerCrop':
        assertCenterCropOptions(step, `${where}.`);
        break;
    }
  });
}

/**
 * Checks that `recipe` is a valid {@link PreprocessRecipe} (JSON data from a file or a network is fine) and
 * returns it typed. Unknown keys are rejected (a typo must not be silently ignored). Throws `INVALID_RECIPE`
 * naming the offending field.
 *
 * @example
 * ```ts
 * import { validateRecipe } from '@mtailor/preprocess';
 * const recipe = validateRecipe(JSON.parse(readFileSync('recipe.json', 'utf8')));
 * ```
 */
export function validateRecipe(recipe: unknown): PreprocessRecipe {
  if (!is.plainObject(recipe)) {
    throw is.invalidParameterError('recipe', 'object { steps, tensor }', recipe, 'INVALID_RECIPE');
  }
  rejectUnknownKeys(recipe, RECIPE_KEYS, 'recipe');
  if (recipe.name !== undefined && typeof recipe.name !== 'string') {
    throw is.invalidParameterError('recipe.name', 'string', recipe.name, 'INVALID_RECIPE');
  }
  if (!Array.isArray(recipe.steps)) {
    throw is.invalidParameterError('recipe.steps', 'array of steps', recipe.steps, 'INVALID_RECIPE');
  }
  recipe.steps.forEach(validateStep);
  if (!is.plainObject(recipe.tensor)) {
    throw is.invalidParameterError('recipe.tensor', 'object', recipe.tensor, 'INVALID_RECIPE');
  }
  rejectUnknownKeys(recipe.tensor, TENSOR_KEYS, 'recipe.tensor');
  asRecipeError(() => resolveTensorOptions(recipe.tensor as PreprocessRecipe['tensor'], 'recipe.tensor.'));
  return recipe as unknown as PreprocessRecipe;
}

/**
 * The image size after the recipe's steps for an input of `width` × `height`, without touching any pixels (e.g.
 * to allocate a batch buffer or check a model's input shape).
 *
 * @example
 * ```ts
 * import { getPreset, recipeOutputSize } from '@mtailor/preprocess';
 * recipeOutputSize(getPreset('imagenet-eval'), 500, 375); // { width: 224, height: 224 }
 * ```
 */
export function recipeOutputSize(
  recipe: PreprocessRecipe,
  width: number,
  height: number,
): { width: number; height: number } {
  validateRecipe(recipe);
  if (!is.positiveInteger(width)) throw is.invalidParameterError('width', 'positive integer', width);
  if (!is.positiveInteger(height)) throw is.invalidParameterError('height', 'positive integer', height);
  let size = { width, height };
  for (const step of recipe.steps) {
    if (step.op === 'resize' || step.op === 'centerCrop') size = { width: step.width, height: step.height };
    else if (step.op === 'resizeShorterSide') {
      size = shorterSideOutputSize(size.width, size.height, step.size, step.maxSize);
    } else if (step.op === 'resizeKeepRatio') {
      size = keepRatioOutputSize(size.width, size.height, step.width, step.height, step.longest);
    }
  }
  return size;
}

function runStep(image: RawImage, step: PreprocessStep, i: number): RawImage {
  switch (step.op) {
    case 'toRGB':
      return toRGBUnchecked(image);
    case 'resize':
      return resizeUnchecked(image, step.width, step.height, step.filter ?? 'bilinear', step.backend);
    case 'resizeShorterSide':
    case 'resizeKeepRatio': {
      const size =
        step.op === 'resizeShorterSide'
          ? shorterSideOutputSize(image.width, image.height, step.size, step.maxSize)
          : keepRatioOutputSize(image.width, image.height, step.width, step.height, step.longest);
      asRecipeError(() => assertOutputSize(size.width, size.height, `recipe.steps[${i}] output `));
      return resizeUnchecked(image, size.width, size.height, step.filter ?? 'bilinear', step.backend);
    }
    case 'centerCrop':
      return centerCropUnchecked(image, step.width, step.height, step.offsets, step.fill);
  }
}

/**
 * Runs a whole recipe on one image: its steps in order, then the tensor conversion, and returns the tensor with the
 * image size it was computed at. With the presets this is bit-identical to the torchvision pipeline on a PIL image
 * (`Compose([Resize(...), (CenterCrop(224),) ToTensor(), Normalize(mean, std)])`). With `target`, the tensor is
 * written into `target.out` at `target.offset` (a batch slot; no copy).
 *
 * @example
 * ```ts
 * import { getPreset, preprocess } from '@mtailor/preprocess';
 * const { tensor, width, height } = preprocess(
 *   { data: rgbBytes, width: 500, height: 375, channels: 3 },
 *   getPreset('imagenet-eval'),
 * ); // tensor: Float32Array(3 * 224 * 224), NCHW
 * ```
 */
export function preprocess(
  image: RawImage,
  recipe: PreprocessRecipe,
  target?: TensorTarget,
): PreprocessResult {
  validateRecipe(recipe);
  assertRawImage(image);
  let current = image;
  recipe.steps.forEach((step, i) => {
    current = runStep(current, step, i);
  });
  if (current.channels !== 3) {
    throw new PreprocessError(
      'CHANNELS_MISMATCH',
      `The recipe leaves a ${current.channels}-channel image but the tensor needs 3-channel RGB; add { op: 'toRGB' } as its first step`,
    );
  }
  const resolved = resolveTensorOptions(recipe.tensor);
  const tables = tensorTables(resolved);
  const length = 3 * current.width * current.height;
  let tensor: Float32Array;
  if (target === undefined) {
    tensor = new Float32Array(length);
    writeTensor(current, resolved, tables, tensor, 0);
  } else {
    if (!is.plainObject(target) || !(target.out instanceof Float32Array)) {
      throw is.invalidParameterError('target', 'object { out: Float32Array, offset }', target);
    }
    if (!is.nonNegativeInteger(target.offset)) {
      throw is.invalidParameterError('target.offset', 'non-negative integer', target.offset);
    }
    if (target.offset + length > target.out.length) {
      throw new PreprocessError(
        'INVALID_OPTION',
        `target.out is too small: ${length} values at offset ${target.offset} need length ≥ ${target.offset + length} but it has ${target.out.length}`,
      );
    }
    writeTensor(current, resolved, tables, target.out, target.offset);
    tensor = target.out.subarray(target.offset, target.offset + length);
  }
  return { tensor, width: current.width, height: current.height };
}
