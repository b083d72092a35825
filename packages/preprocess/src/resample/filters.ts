/**
 * Pillow's resampling kernels (libImaging/Resample.c), in double precision like the C code. The constants
 * written as `float` literals in C (`0.54f`, `0.46f`) are rounded to float32 here too, so that the weights
 * agree to the last bit.
 * @module
 */
import type { ResampleFilter } from '../types.js';

/**
 * A convolution kernel: its half-width at scale 1 and its weight function.
 *
 * @example
 * ```ts
 * const { support, weight } = RESAMPLE_KERNELS.lanczos; // 3, sinc(x)·sinc(x/3)
 * ```
 */
export interface ResampleKernel {
  /** Half-width of the kernel in source pixels at scale 1. */
  readonly support: number;
  /** Weight at distance `x` (in source pixels at scale 1) from the sample centre. */
  readonly weight: (x: number) => number;
}

const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

function boxWeight(x: number): number {
  // Half-open on the left, closed on the right, as in Pillow.
  return x > -0.5 && x <= 0.5 ? 1 : 0;
}

function bilinearWeight(x: number): number {
  const ax = x < 0 ? -x : x;
  return ax < 1 ? 1 - ax : 0;
}

function hammingWeight(x: number): number {
  const ax = x < 0 ? -x : x;
  if (ax === 0) return 1;
  if (ax >= 1) return 0;
  const px = ax * Math.PI;
  return (Math.sin(px) / px) * (HAMMING_A + HAMMING_B * Math.cos(px));
}

function bicubicWeight(x: number): number {
  // Keys' cubic convolution with a = -0.5, term by term as Pillow evaluates it.
  const a = -0.5;
  const ax = x < 0 ? -x : x;
  if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
  if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
  return 0;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

function lanczosWeight(x: number): number {
  return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

/**
 * The kernels of the convolution filters (`nearest` is not a convolution in Pillow; see `nearest.ts`).
 *
 * @example
 * ```ts
 * RESAMPLE_KERNELS.bilinear.weight(0.25); // 0.75
 * ```
 */
export const RESAMPLE_KERNELS: Readonly<Record<Exclude<ResampleFilter, 'nearest'>, ResampleKernel>> = {
  box: { support: 0.5, weight: boxWeight },
  bilinear: { support: 1, weight: bilinearWeight },
  hamming: { support: 1, weight: hammingWeight },
  bicubic: { support: 2, weight: bicubicWeight },
  lanczos: { support: 3, weight: lanczosWeight },
};

/**
 * All filter names, in Pillow's numbering order.
 *
 * @example
 * ```ts
 * RESAMPLE_FILTERS.includes('lanczos'); // true
 * ```
 */
export const RESAMPLE_FILTERS: readonly ResampleFilter[] = [
  'nearest',
  'box',
  'bilinear',
  'hamming',
  'bicubic',
  'lanczos',
];
