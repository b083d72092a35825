/**
 * Resizing identical to Pillow 9.4's `Image.resize` on 8-bit images, and torchvision 0.14's `Resize(int)` size rule.
 * @module
 */
import { assertOutputSize, assertRawImage, createImage } from './image.js';
import * as is from './is.js';
import { computeAxisCoefficients } from './resample/coefficients.js';
import { RESAMPLE_FILTERS, RESAMPLE_KERNELS } from './resample/filters.js';
import { horizontalPass } from './resample/horizontal.js';
import { nearestResize } from './resample/nearest.js';
import { premultiplyAlpha, unpremultiplyAlphaInPlace } from './resample/premultiply.js';
import { verticalPass } from './resample/vertical.js';
import { convolveWasm } from './resample/wasm/engine.js';
import type { RawImage, ResampleFilter, ResizeOptions, ResizeShorterSideOptions } from './types.js';

/** Checks a filter name (default `'bilinear'`). */
function resolveFilter(filter: unknown, name = 'filter'): ResampleFilter {
  if (filter === undefined) return 'bilinear';
  if (!is.oneOf(filter, RESAMPLE_FILTERS)) {
    throw is.invalidParameterError(name, `one of ${RESAMPLE_FILTERS.join(', ')}`, filter);
  }
  return filter;
}

/**
 * Resizes an 8-bit image to exactly `width` × `height`, byte-for-byte identical to Pillow 9.4's
 * `Image.resize((width, height), filter)`: the same antialiased separable convolution (support widened by the
 * downscale factor, 22-bit fixed-point weights, horizontal pass first through an 8-bit intermediate), the same
 * affine nearest-neighbour sampling, and for RGBA the same premultiply → resample → unpremultiply round trip.
 * Returns a new image (a copy when the size is unchanged, as Pillow does).
 *
 * @example
 * ```ts
 * import { resize } from '@mtailor/preprocess';
 * const small = resize({ data: rgbBytes, width: 640, height: 480, channels: 3 }, { width: 224, height: 224 });
 * // small.data equals PIL's np.asarray(img.resize((224, 224), Image.BILINEAR)).ravel()
 * ```
 */
export function resize(image: RawImage, options: ResizeOptions): RawImage {
  assertRawImage(image);
  if (!is.plainObject(options))
    throw is.invalidParameterError('options', 'object { width, height }', options);
  const { width, height } = options;
  assertOutputSize(width, height);
  const filter = resolveFilter(options.filter);
  return resizeUnchecked(image, width, height, filter);
}

/**
 * {@link resize} without validation (callers have validated).
 *
 * @example
 * ```ts
 * const out = resizeUnchecked(image, 224, 224, 'bilinear'); // image and sizes already validated
 * ```
 */
export function resizeUnchecked(
  image: RawImage,
  width: number,
  height: number,
  filter: ResampleFilter,
): RawImage {
  const { width: inWidth, height: inHeight, channels } = image;
  if (inWidth === width && inHeight === height) {
    return { data: new Uint8Array(image.data), width, height, channels };
  }
  if (filter === 'nearest') {
    const out = createImage(width, height, channels);
    nearestResize(image.data, inWidth, inHeight, channels, out.data as Uint8Array, width, height);
    return out;
  }
  const source = channels === 4 ? premultiplyAlpha(image.data) : image.data;
  const data = convolve(source, inWidth, inHeight, channels, width, height, filter);
  if (channels === 4) unpremultiplyAlphaInPlace(data);
  return { data, width, height, channels };
}

/** Pillow's `ImagingResampleInner` for 8-bit images. */
function convolve(
  src: Uint8Array | Uint8ClampedArray,
  inWidth: number,
  inHeight: number,
  channels: number,
  outWidth: number,
  outHeight: number,
  filter: Exclude<ResampleFilter, 'nearest'>,
): Uint8Array {
  const kernel = RESAMPLE_KERNELS[filter];
  const needHorizontal = outWidth !== inWidth;
  const needVertical = outHeight !== inHeight;
  const horizontal = computeAxisCoefficients(inWidth, outWidth, kernel);
  const vertical = computeAxisCoefficients(inHeight, outHeight, kernel);
  const viaWasm = convolveWasm(
    src,
    inWidth,
    inHeight,
    channels,
    horizontal,
    vertical,
    needHorizontal,
    needVertical,
  );
  if (viaWasm) return viaWasm;

  let rows: Uint8Array | Uint8ClampedArray = src;
  if (needHorizontal) {
    // Only the source rows the vertical pass will read are resampled horizontally.
    const yFirst = vertical.bounds[0];
    const yLast = vertical.bounds[outHeight * 2 - 2] + vertical.bounds[outHeight * 2 - 1];
    for (let i = 0; i < outHeight; i++) vertical.bounds[i * 2] -= yFirst;
    const tmp = new Uint8ClampedArray(outWidth * (yLast - yFirst) * channels);
    horizontalPass(src, inWidth, channels, yFirst, yLast - yFirst, horizontal, tmp);
    rows = tmp;
  }
  if (needVertical) {
    const out = new Uint8ClampedArray(outWidth * outHeight * channels);
    verticalPass(rows, outWidth * channels, vertical, out);
    rows = out;
  }
  // Writes went through a clamped view (clamping = Pillow's clip8); hand out a plain Uint8Array of the same bytes.
  return new Uint8Array(rows.buffer, rows.byteOffset, rows.length);
}

/**
 * Output size of torchvision 0.14's `Resize(size)` with an int `size` (`_compute_resized_output_size`): the shorter
 * side becomes `size`, the longer `int(size * long / short)` (truncated); with `maxSize`, a longer side above it
 * becomes `maxSize` and the shorter `int(maxSize * short / long)`.
 *
 * @example
 * ```ts
 * shorterSideOutputSize(500, 375, 256); // { width: 341, height: 256 }
 * ```
 */
export function shorterSideOutputSize(
  width: number,
  height: number,
  size: number,
  maxSize?: number,
): { width: number; height: number } {
  const wIsShort = width <= height;
  const short = wIsShort ? width : height;
  const long = wIsShort ? height : width;
  let newShort = size;
  let newLong = Math.trunc((size * long) / short);
  if (maxSize !== undefined && newLong > maxSize) {
    newShort = Math.trunc((maxSize * newShort) / newLong);
    newLong = maxSize;
  }
  return wIsShort ? { width: newShort, height: newLong } : { width: newLong, height: newShort };
}

/**
 * Validates {@link ResizeShorterSideOptions} (field names prefixed by `prefix` in messages).
 *
 * @example
 * ```ts
 * assertShorterSideOptions({ size: 256 }); // ok; { size: 256, maxSize: 256 } throws
 * ```
 */
export function assertShorterSideOptions(
  options: unknown,
  prefix = '',
): asserts options is ResizeShorterSideOptions {
  if (!is.plainObject(options))
    throw is.invalidParameterError(`${prefix}options`, 'object { size }', options);
  const { size, maxSize } = options;
  if (!is.positiveInteger(size)) throw is.invalidParameterError(`${prefix}size`, 'positive integer', size);
  if (maxSize !== undefined) {
    if (!is.positiveInteger(maxSize) || maxSize <= size) {
      throw is.invalidParameterError(`${prefix}maxSize`, `integer greater than size (${size})`, maxSize);
    }
  }
  resolveFilter(options.filter, `${prefix}filter`);
}

/**
 * torchvision 0.14 `Resize(size)` with an int `size` on a PIL image: resizes so that the shorter side is `size`
 * (see {@link shorterSideOutputSize}) with Pillow's `Image.resize`; an image already at that size is returned as
 * a copy, unresampled (torchvision returns it unchanged).
 *
 * @example
 * ```ts
 * import { resizeShorterSide } from '@mtailor/preprocess';
 * const resized = resizeShorterSide(image, { size: 256 }); // 500×375 → 341×256
 * ```
 */
export function resizeShorterSide(image: RawImage, options: ResizeShorterSideOptions): RawImage {
  assertRawImage(image);
  assertShorterSideOptions(options);
  const out = shorterSideOutputSize(image.width, image.height, options.size, options.maxSize);
  assertOutputSize(out.width, out.height, 'output ');
  return resizeUnchecked(image, out.width, out.height, resolveFilter(options.filter));
}
