/**
 * torchvision 0.14's `center_crop` on 8-bit images, padding included.
 * @module
 */
import { assertOutputSize, assertRawImage, createImage } from './image.js';
import * as is from './is.js';
import type { CenterCropOptions, RawImage } from './types.js';

/** Python 3's `round()` for a non-negative value: halves go to the even neighbour (banker's rounding). */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
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
 * The window torchvision's `center_crop` takes: if the crop is larger than the image, the image is first padded
 * with zeros (`(crop − size) // 2` before, `(crop − size + 1) // 2` after); then
 * `top = int(round((height − cropHeight) / 2))` and `left` likewise, with Python's half-to-even `round`.
 *
 * @example
 * ```ts
 * centerCropWindow(341, 256, 224, 224); // { left: 58, top: 16, width: 224, height: 224 }  (58.5 → 58)
 * ```
 */
export function centerCropWindow(
  width: number,
  height: number,
  cropWidth: number,
  cropHeight: number,
): CropWindow {
  let padLeft = 0;
  let padTop = 0;
  let paddedWidth = width;
  let paddedHeight = height;
  if (cropWidth > width || cropHeight > height) {
    padLeft = cropWidth > width ? Math.floor((cropWidth - width) / 2) : 0;
    padTop = cropHeight > height ? Math.floor((cropHeight - height) / 2) : 0;
    const padRight = cropWidth > width ? Math.floor((cropWidth - width + 1) / 2) : 0;
    const padBottom = cropHeight > height ? Math.floor((cropHeight - height + 1) / 2) : 0;
    paddedWidth = width + padLeft + padRight;
    paddedHeight = height + padTop + padBottom;
  }
  const top = roundHalfEven((paddedHeight - cropHeight) / 2);
  const left = roundHalfEven((paddedWidth - cropWidth) / 2);
  return { left: left - padLeft, top: top - padTop, width: cropWidth, height: cropHeight };
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
}

/**
 * Crops the center `width` × `height` of an image exactly as torchvision 0.14's `CenterCrop((height, width))`:
 * its offsets (odd margins rounded half-to-even) and its zero padding (all channels, alpha included) when the crop
 * is larger than the image. Returns a new image.
 *
 * @example
 * ```ts
 * import { centerCrop } from '@mtailor/preprocess';
 * const cropped = centerCrop(resized, { width: 224, height: 224 });
 * ```
 */
export function centerCrop(image: RawImage, options: CenterCropOptions): RawImage {
  assertRawImage(image);
  assertCenterCropOptions(options);
  return centerCropUnchecked(image, options.width, options.height);
}

/**
 * {@link centerCrop} without validation (callers have validated).
 *
 * @example
 * ```ts
 * const cropped = centerCropUnchecked(image, 224, 224); // image already validated
 * ```
 */
export function centerCropUnchecked(image: RawImage, width: number, height: number): RawImage {
  const { channels } = image;
  const out = createImage(width, height, channels);
  const window = centerCropWindow(image.width, image.height, width, height);
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
