/**
 * Resizing identical to Pillow 9.4's `Image.resize` on 8-bit images or to torch's antialiased resize of uint8
 * tensors, and the size rules of torchvision's `Resize(int)` and timm's `ResizeKeepRatio`.
 * @module
 */
import { assertOutputSize, assertRawImage, createImage } from './image.js';
import * as is from './is.js';
import { RecentValues } from './recent.js';
import {
  type AxisCoefficients,
  computeAxisCoefficients,
  type WeightQuantisation,
} from './resample/coefficients.js';
import { RESAMPLE_FILTERS, RESAMPLE_KERNELS } from './resample/filters.js';
import { horizontalPass } from './resample/horizontal.js';
import { nearestResize, torchNearestExactIndices } from './resample/nearest.js';
import { premultiplyAlpha, unpremultiplyAlphaInPlace } from './resample/premultiply.js';
import { verticalPass } from './resample/vertical.js';
import { convolveWasm } from './resample/wasm/engine.js';
import type {
  RawImage,
  ResampleFilter,
  ResizeBackend,
  ResizeKeepRatioOptions,
  ResizeOptions,
  ResizeShorterSideOptions,
} from './types.js';

/**
 * The resize backends, see {@link ResizeBackend}.
 *
 * @example
 * ```ts
 * RESIZE_BACKENDS.includes('torchvision'); // true
 * ```
 */
export const RESIZE_BACKENDS: readonly ResizeBackend[] = ['pil', 'torchvision'];

/**
 * The filters the `'torchvision'` backend reproduces: torch's antialiased uint8 kernels (lanczos needs
 * torchvision ≥ 0.27, which transformers uses for `resample=LANCZOS`), and `'nearest'` as torch's `nearest-exact`
 * (`InterpolationMode.NEAREST_EXACT`, what transformers runs for `resample=NEAREST`).
 *
 * @example
 * ```ts
 * TORCHVISION_FILTERS.includes('bicubic'); // true
 * ```
 */
export const TORCHVISION_FILTERS: readonly ResampleFilter[] = ['nearest', 'bilinear', 'bicubic', 'lanczos'];

/** Checks a filter name (default `'bilinear'`) against what `backend` reproduces. */
function resolveFilter(filter: unknown, name = 'filter', backend: ResizeBackend = 'pil'): ResampleFilter {
  if (filter === undefined) return 'bilinear';
  const allowed = backend === 'torchvision' ? TORCHVISION_FILTERS : RESAMPLE_FILTERS;
  if (!is.oneOf(filter, allowed)) {
    const which = backend === 'torchvision' ? ` (backend 'torchvision')` : '';
    throw is.invalidParameterError(`${name}${which}`, `one of ${allowed.join(', ')}`, filter);
  }
  return filter;
}

/** Checks a backend name (default `'pil'`). */
function resolveBackend(backend: unknown, name = 'backend'): ResizeBackend {
  if (backend === undefined) return 'pil';
  if (!is.oneOf(backend, RESIZE_BACKENDS)) {
    throw is.invalidParameterError(name, `one of ${RESIZE_BACKENDS.join(', ')}`, backend);
  }
  return backend;
}

/**
 * Validates the `filter` and `backend` of a resize (field names prefixed by `prefix`) and returns them resolved.
 *
 * @example
 * ```ts
 * resolveResampling({ filter: 'bicubic', backend: 'torchvision' }); // { filter: 'bicubic', backend: 'torchvision' }
 * resolveResampling({ filter: 'lanczos', backend: 'torchvision' }); // throws INVALID_OPTION
 * ```
 */
export function resolveResampling(
  options: { filter?: unknown; backend?: unknown },
  prefix = '',
): { filter: ResampleFilter; backend: ResizeBackend } {
  const backend = resolveBackend(options.backend, `${prefix}backend`);
  return { filter: resolveFilter(options.filter, `${prefix}filter`, backend), backend };
}

/**
 * Resizes an 8-bit image to exactly `width` × `height`, byte-for-byte identical to Pillow 9.4's
 * `Image.resize((width, height), filter)`: the same antialiased separable convolution (support widened by the
 * downscale factor, 22-bit fixed-point weights, horizontal pass first through an 8-bit intermediate), the same
 * affine nearest-neighbour sampling, and for RGBA the same premultiply → resample → unpremultiply round trip.
 * With `backend: 'torchvision'` it is instead torch's antialiased resize of a uint8 tensor
 * (`torchvision.transforms.v2.functional.resize(tensor, [h, w], interpolation, antialias=True)`): the same windows
 * and double weights, quantised to int16 with torch's per-axis precision, every channel (alpha too) independent.
 * Returns a new image (a copy when the size is unchanged, as Pillow and torchvision do).
 *
 * @example
 * ```ts
 * import { resize } from '@mtailor/preprocess';
 * const small = resize({ data: rgbBytes, width: 640, height: 480, channels: 3 }, { width: 224, height: 224 });
 * // small.data equals PIL's np.asarray(img.resize((224, 224), Image.BILINEAR)).ravel()
 * const same = resize(image, { width: 224, height: 224, filter: 'bicubic', backend: 'torchvision' });
 * // same.data equals tvF.resize(pil_to_tensor(img), [224, 224], BICUBIC, antialias=True).permute(1, 2, 0)
 * ```
 */
export function resize(image: RawImage, options: ResizeOptions): RawImage {
  assertRawImage(image);
  if (!is.plainObject(options))
    throw is.invalidParameterError('options', 'object { width, height }', options);
  const { width, height } = options;
  assertOutputSize(width, height);
  const { filter, backend } = resolveResampling(options);
  return resizeUnchecked(image, width, height, filter, backend);
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
  backend: ResizeBackend = 'pil',
): RawImage {
  const { width: inWidth, height: inHeight, channels } = image;
  if (inWidth === width && inHeight === height) {
    return { data: new Uint8Array(image.data), width, height, channels };
  }
  if (backend === 'torchvision') {
    if (filter === 'nearest') {
      const out = createImage(width, height, channels);
      const dst = out.data as Uint8Array;
      nearestResize(image.data, inWidth, inHeight, channels, dst, width, height, torchNearestExactIndices);
      return out;
    }
    // torch resamples every channel on its own (no premultiplied alpha).
    const data = convolve(image.data, inWidth, inHeight, channels, width, height, filter, 'torch');
    return { data, width, height, channels };
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

/** Coefficients of recent axes: a folder of photos repeats a few sizes, whose windows need computing once. */
const recentAxes = new RecentValues<AxisCoefficients>(32);

/** {@link computeAxisCoefficients} through {@link recentAxes}. The result is shared: never modify it. */
function axisCoefficients(
  inSize: number,
  outSize: number,
  filter: Exclude<ResampleFilter, 'nearest'>,
  quantisation: WeightQuantisation,
): AxisCoefficients {
  return recentAxes.get(`${inSize} ${outSize} ${filter} ${quantisation}`, () =>
    computeAxisCoefficients(inSize, outSize, RESAMPLE_KERNELS[filter], quantisation),
  );
}

/**
 * Pillow's `ImagingResampleInner` for 8-bit images; with `'torch'` weights, torch's uint8 antialiased kernel
 * (the same two passes in the same order, through the same 8-bit intermediate).
 */
function convolve(
  src: Uint8Array | Uint8ClampedArray,
  inWidth: number,
  inHeight: number,
  channels: number,
  outWidth: number,
  outHeight: number,
  filter: Exclude<ResampleFilter, 'nearest'>,
  quantisation: WeightQuantisation = 'pillow',
): Uint8Array {
  const needHorizontal = outWidth !== inWidth;
  const needVertical = outHeight !== inHeight;
  const horizontal = axisCoefficients(inWidth, outWidth, filter, quantisation);
  let vertical = axisCoefficients(inHeight, outHeight, filter, quantisation);
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
    const tmp = new Uint8ClampedArray(outWidth * (yLast - yFirst) * channels);
    horizontalPass(src, inWidth, channels, yFirst, yLast - yFirst, horizontal, tmp);
    rows = tmp;
    if (needVertical) {
      // The vertical windows, counted from the first row resampled (a copy: the coefficients are shared).
      const bounds = vertical.bounds.slice();
      for (let i = 0; i < outHeight; i++) bounds[i * 2] -= yFirst;
      vertical = { ...vertical, bounds };
    }
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
  resolveResampling(options, prefix);
}

/**
 * torchvision `Resize(size)` with an int `size`: resizes so that the shorter side is `size`
 * (see {@link shorterSideOutputSize}) with Pillow's `Image.resize` (or, with `backend: 'torchvision'`, torch's uint8
 * tensor resize); an image already at that size is returned as a copy, unresampled (torchvision returns it
 * unchanged).
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
  const { filter, backend } = resolveResampling(options);
  return resizeUnchecked(image, out.width, out.height, filter, backend);
}

/** Python 3's `round()` for a non-negative value: halves go to the even neighbour (banker's rounding). */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Output size of timm's `ResizeKeepRatio(size=(height, width), longest)` (no random scaling): with
 * `ratio = max(h / height, w / width) · longest + min(h / height, w / width) · (1 − longest)` in double precision,
 * the image becomes `round(w / ratio)` × `round(h / ratio)`, Python's half-to-even `round`.
 *
 * @example
 * ```ts
 * keepRatioOutputSize(500, 375, 240, 240, 1); // { width: 240, height: 180 }
 * ```
 */
export function keepRatioOutputSize(
  width: number,
  height: number,
  targetWidth: number,
  targetHeight: number,
  longest = 0,
): { width: number; height: number } {
  const ratioH = height / targetHeight;
  const ratioW = width / targetWidth;
  const ratio = Math.max(ratioH, ratioW) * longest + Math.min(ratioH, ratioW) * (1 - longest);
  return { width: roundHalfEven(width / ratio), height: roundHalfEven(height / ratio) };
}

/**
 * Validates {@link ResizeKeepRatioOptions} (field names prefixed by `prefix` in messages).
 *
 * @example
 * ```ts
 * assertKeepRatioOptions({ width: 240, height: 240, longest: 1 }); // ok; longest: 2 throws
 * ```
 */
export function assertKeepRatioOptions(
  options: unknown,
  prefix = '',
): asserts options is ResizeKeepRatioOptions {
  if (!is.plainObject(options))
    throw is.invalidParameterError(`${prefix}options`, 'object { width, height }', options);
  assertOutputSize(options.width, options.height, prefix);
  const { longest } = options;
  if (longest !== undefined && !(is.number(longest) && longest >= 0 && longest <= 1)) {
    throw is.invalidParameterError(`${prefix}longest`, 'number between 0 and 1', longest);
  }
  resolveResampling(options, prefix);
}
