/**
 * Per-output-pixel convolution windows and fixed-point weights, computed as Pillow's `precompute_coeffs` and
 * `normalize_coeffs_8bpc` do (libImaging/Resample.c): double precision, weights normalised by their sum, then
 * rounded away from zero to 22 fractional bits.
 * @module
 */
import type { ResampleKernel } from './filters.js';

/**
 * Fractional bits of the fixed-point weights for 8-bit images: 32 − 8 − 2.
 *
 * @example
 * ```ts
 * const byte = sum >> PRECISION_BITS; // then clamped to 0..255
 * ```
 */
export const PRECISION_BITS = 22;
/**
 * Rounding offset every accumulator starts from (one half in fixed point).
 *
 * @example
 * ```ts
 * let sum = ROUNDING_HALF; // + Σ pixel × weight
 * ```
 */
export const ROUNDING_HALF = 1 << (PRECISION_BITS - 1);

/**
 * The convolution windows of one axis.
 *
 * @example
 * ```ts
 * const { ksize, bounds, weights }: AxisCoefficients = computeAxisCoefficients(640, 224, kernel);
 * ```
 */
export interface AxisCoefficients {
  /** Weights per output pixel (maximum window length). */
  readonly ksize: number;
  /** For output pixel `i`: first source index at `bounds[2i]`, window length at `bounds[2i + 1]`. */
  readonly bounds: Int32Array;
  /** Fixed-point weights, `ksize` per output pixel, zero past the window length. */
  readonly weights: Int32Array;
}

/**
 * Windows and fixed-point weights to resample `inSize` source pixels to `outSize` (whole-image box).
 *
 * @example
 * ```ts
 * const { ksize, bounds, weights } = computeAxisCoefficients(640, 224, RESAMPLE_KERNELS.bilinear);
 * ```
 */
export function computeAxisCoefficients(
  inSize: number,
  outSize: number,
  kernel: ResampleKernel,
): AxisCoefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = kernel.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const invFilterScale = 1 / filterScale;
  const weightFn = kernel.weight;

  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const window = new Float64Array(ksize);
  const one = 1 << PRECISION_BITS;

  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero; both values are then clamped into the image.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;

    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = weightFn((x + xmin - center + 0.5) * invFilterScale);
      window[x] = w;
      sum += w;
    }
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const k = sum !== 0 ? window[x] / sum : window[x];
      // (int)(k * 2^22 ± 0.5): round half away from zero, truncating cast.
      weights[base + x] = Math.trunc(k < 0 ? -0.5 + k * one : 0.5 + k * one);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}
