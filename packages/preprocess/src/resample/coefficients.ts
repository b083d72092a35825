/**
 * Per-output-pixel convolution windows and fixed-point weights, computed as Pillow's `precompute_coeffs` and
 * `normalize_coeffs_8bpc` do (libImaging/Resample.c): double precision, weights normalised by their sum, then
 * rounded away from zero to 22 fractional bits. torch's antialiased uint8 resize (ATen UpSampleKernel.cpp,
 * `_compute_index_ranges_int16_weights`) computes the same windows and double weights but quantises them to int16
 * with a per-axis precision chosen from the largest weight; {@link computeAxisCoefficients} does either.
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
  /** Fractional bits of the weights: sums start at `1 << (precision − 1)` and end `>> precision`. */
  readonly precision: number;
}

/**
 * How the double weights become integers: `'pillow'` (22 bits, int32) or `'torch'` (int16, precision from the
 * largest weight of the axis).
 *
 * @example
 * ```ts
 * computeAxisCoefficients(640, 224, RESAMPLE_KERNELS.bicubic, 'torch' satisfies WeightQuantisation);
 * ```
 */
export type WeightQuantisation = 'pillow' | 'torch';

/**
 * torch's `weights_precision`: the largest number of bits (below 22) at which the largest weight, doubled and
 * rounded, still fits in int16.
 */
function torchPrecision(maxWeight: number): number {
  let precision = 0;
  for (; precision < 22; precision++) {
    if (Math.trunc(0.5 + maxWeight * 2 ** (precision + 1)) >= 1 << 15) break;
  }
  return precision;
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
  quantisation: WeightQuantisation = 'pillow',
): AxisCoefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = kernel.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const invFilterScale = 1 / filterScale;
  const weightFn = kernel.weight;

  const torch = quantisation === 'torch';
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  // torch quantises only after every window is known (its precision depends on the largest weight).
  const normalised = torch ? new Float64Array(outSize * ksize) : null;
  let maxWeight = 0;
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
    // torch clips a window that double rounding made one longer than ksize; Pillow never meets one.
    if (torch && xmax > ksize) xmax = ksize;

    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = weightFn((x + xmin - center + 0.5) * invFilterScale);
      window[x] = w;
      sum += w;
    }
    const base = xx * ksize;
    if (normalised) {
      for (let x = 0; x < xmax; x++) {
        const k = sum !== 0 ? window[x] / sum : window[x];
        normalised[base + x] = k;
        // torch's largest weight counts normalised windows only.
        if (sum !== 0 && k > maxWeight) maxWeight = k;
      }
    } else {
      for (let x = 0; x < xmax; x++) {
        const k = sum !== 0 ? window[x] / sum : window[x];
        // (int)(k * 2^22 ± 0.5): round half away from zero, truncating cast.
        weights[base + x] = Math.trunc(k < 0 ? -0.5 + k * one : 0.5 + k * one);
      }
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  if (!normalised) return { ksize, bounds, weights, precision: PRECISION_BITS };
  const precision = torchPrecision(maxWeight);
  const scaleUp = 2 ** precision;
  for (let i = 0; i < normalised.length; i++) {
    const v = normalised[i] * scaleUp;
    // (int16_t)(int)(v ± 0.5), as torch stores them.
    weights[i] = (Math.trunc(v < 0 ? -0.5 + v : 0.5 + v) << 16) >> 16;
  }
  return { ksize, bounds, weights, precision };
}
