/**
 * Center crops on 8-bit images, padding included: torchvision's `center_crop` (and timm's `CenterCropOrPad` with
 * its fill colour), and transformers' two variants of the offsets.
 * @module
 */
import { PreprocessError } from './errors.js';
import { assertOutputSize, assertRawImage, createImage } from './image.js';
import * as is from './is.js';
import { roundHalfEven } from './resize.js';
import type { CenterCropOffsets, CenterCropOptions, RawImage } from './types.js';

/**
 * The center-crop offset rules, see {@link CenterCropOffsets}.
 *
 * @example
 * ```ts
 * CENTER_CROP_OFFSETS.includes('transformers-pil'); // true
 * ```
 */
export const CENTER_CROP_OFFSETS: readonly CenterCropOffsets[] = [
  'torchvision',
  'transformers-torchvision',
  'transformers-pil',
];

/** First source index of the crop on one axis (negative: that many padding pixels come first). */
function axisOffset(size: number, crop: number, offsets: CenterCropOffsets): number {
  const margin = size - crop;
  if (offsets === 'transformers-pil') return Math.floor(margin / 2);
  // Both torchvision rules pad `floor(−margin / 2)` before the image (more after it when the margin is odd).
  if (margin < 0) return -Math.floor(-margin / 2);
  return offsets === 'torchvision' ? roundHalfEven(margin / 2) : Math.floor(margin / 2);
}

/**
 * Where a center crop takes its pixels from, in source coordinates (may be negative: zero padding).
 *
 * @example
 * ```ts
 * const { left, top } = centerCropWindow(341, 256, 224, 224); // { left: 58, top: 16, ... }
 * ```
 */
export interface CropWindow {
  /** Source column of the crop's left edge (negative where the image is padded). */
  left: number;
  /** Source row of the crop's top edge (negative where the image is padded). */
  top: number;
  width: number;
  height: number;
}

/**
 * The window a center crop takes. With the default `'torchvision'` offsets it is torchvision's `center_crop`: if
 * the crop is larger than the image, the image is first padded (`(crop − size) // 2` before,
 * `(crop − size + 1) // 2` after); then `top = int(round((height − cropHeight) / 2))` and `left` likewise, with
 * Python's half-to-even `round`. The transformers rules floor instead (see {@link CenterCropOffsets}).
 *
 * @example
 * ```ts
 * centerCropWindow(341, 256, 224, 224); // { left: 58, top: 16, width: 224, height: 224 }  (58.5 → 58)
 * centerCropWindow(341, 256, 224, 224, 'transformers-pil'); // { left: 58, top: 16, ... }
 * ```
 */
export function centerCropWindow(
  width: number,
  height: number,
  cropWidth: number,
  cropHeight: number,
  offsets: CenterCropOffsets = 'torchvision',
): CropWindow {
  return {
    left: axisOffset(width, cropWidth, offsets),
    top: axisOffset(height, cropHeight, offsets),
    width: cropWidth,
    height: cropHeight,
  };
}

/**
 * Validates {@link CenterCropOptions} (field names prefixed by `prefix` in messages).
 *
 * @example
 * ```ts
 * assertCenterCropOptions({ width: 224, height: 224 }); // ok; { width: 0 } throws INVALID_OPTION
 * ```
 */
export function assertCenterCropOptions(options: unknown, prefix = ''): asserts options is CenterCropOptions {
  if (!is.plainObject(options))
    throw is.invalidParameterError(`${prefix}options`, 'object { width, height }', options);
  assertOutputSize(options.width, options.height, prefix);
  const { offsets, fill } = options;
  if (offsets !== undefined && !is.oneOf(offsets, CENTER_CROP_OFFSETS)) {
    throw is.invalidParameterError(`${prefix}offsets`, `one of ${CENTER_CROP_OFFSETS.join(', ')}`, offsets);
  }
  if (
    fill !== undefined &&
    !(
      Array.isArray(fill) &&
      fill.length >= 1 &&
      fill.length <= 4 &&
      fill.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)
    )
  ) {
    throw is.invalidParameterError(`${prefix}fill`, 'array of 1 to 4 integers between 0 and 255', fill);
  }
}

/**
 * Crops the center `width` × `height` of an image exactly as torchvision's `CenterCrop((height, width))`:
 * its offsets (odd margins rounded half-to-even) and its zero padding (all channels, alpha included) when the crop
 * is larger than the image. `fill` pads with a colour instead (timm's `CenterCropOrPad(size, fill)`); `offsets`
 * selects transformers' rules. Returns a new image. A `fill` of neither 1 nor `channels` values throws
 * `CHANNELS_MISMATCH`.
 *
 * @example
 * ```ts
 * import { centerCrop } from '@mtailor/preprocess';
 * const cropped = centerCrop(resized, { width: 224, height: 224 });
 * const bordered = centerCrop(resized, { width: 240, height: 240, fill: [124, 116, 104] }); // timm 'border'
 * ```
 */
export function centerCrop(image: RawImage, options: CenterCropOptions): RawImage {
  assertRawImage(image);
  assertCenterCropOptions(options);
  return centerCropUnchecked(image, options.width, options.height, options.offsets, options.fill);
}

/**
 * {@link centerCrop} without validation (callers have validated).
 *
 * @example
 * ```ts
 * const cropped = centerCropUnchecked(image, 224, 224); // image already validated
 * ```
 */
export function centerCropUnchecked(
  image: RawImage,
  width: number,
  height: number,
  offsets: CenterCropOffsets = 'torchvision',
  fill?: readonly number[],
): RawImage {
  const { channels } = image;
  const out = createImage(width, height, channels);
  const window = centerCropWindow(image.width, image.height, width, height, offsets);
  const padded =
    window.left < 0 ||
    window.top < 0 ||
    window.left + width > image.width ||
    window.top + height > image.height;
  if (fill !== undefined) {
    if (fill.length !== 1 && fill.length !== channels) {
      throw new PreprocessError(
        'CHANNELS_MISMATCH',
        `Expected a fill of 1 or ${channels} values for a ${channels}-channel image but received ${fill.length}`,
      );
    }
    // The image part is copied over the fill below.
    if (padded) fillImage(out.data, channels, fill);
  }
  // Intersection of the window with the image; everything else stays zero.
  const x0 = Math.max(0, window.left);
  const x1 = Math.min(image.width, window.left + width);
  const y0 = Math.max(0, window.top);
  const y1 = Math.min(image.height, window.top + height);
  if (x1 <= x0 || y1 <= y0) return out;
  const src = image.data;
  const dst = out.data;
  const srcRow = image.width * channels;
  const dstRow = width * channels;
  const span = (x1 - x0) * channels;
  for (let y = y0; y < y1; y++) {
    const s = y * srcRow + x0 * channels;
    dst.set(src.subarray(s, s + span), (y - window.top) * dstRow + (x0 - window.left) * channels);
  }
  return out;
}

function fillImage(data: Uint8Array | Uint8ClampedArray, channels: number, fill: readonly number[]): void {
  if (fill.length === 1) {
    data.fill(fill[0]);
    return;
  }
  for (let i = 0; i < data.length; i += channels) {
    for (let c = 0; c < channels; c++) data[i + c] = fill[c];
  }
}
