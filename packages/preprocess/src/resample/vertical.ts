/**
 * Vertical convolution pass on 8-bit interleaved rows (Pillow's `ImagingResampleVertical_8bpc`).
 * Pillow walks each output column down the source rows; here each source row is added to a row of int32
 * accumulators instead, which reads memory sequentially. Integer sums are order-independent, so the result is
 * bit-identical.
 * @module
 */
import type { AxisCoefficients } from './coefficients.js';
import { PRECISION_BITS, ROUNDING_HALF } from './coefficients.js';

/**
 * Resamples the rows of `src` (`rowLength` bytes per row) to `coeffs.bounds.length / 2` rows in `dst`
 * (a `Uint8ClampedArray`, so that storing `sum >> 22` clamps to 0..255 like Pillow's `clip8`).
 *
 * @example
 * ```ts
 * verticalPass(tmp, 224 * 3, computeAxisCoefficients(480, 224, kernel), dst);
 * ```
 */
export function verticalPass(
  src: Uint8Array | Uint8ClampedArray,
  rowLength: number,
  { ksize, bounds, weights }: AxisCoefficients,
  dst: Uint8ClampedArray,
): void {
  const outHeight = bounds.length >> 1;
  const acc = new Int32Array(rowLength);
  for (let yy = 0; yy < outHeight; yy++) {
    const first = bounds[2 * yy];
    const n = bounds[2 * yy + 1];
    const kBase = yy * ksize;
    acc.fill(ROUNDING_HALF);
    for (let y = 0; y < n; y++) {
      const k = weights[kBase + y];
      if (k === 0) continue; // adds nothing; skipping keeps the integer sum identical
      let p = (first + y) * rowLength;
      for (let i = 0; i < rowLength; i++, p++) acc[i] = (acc[i] + Math.imul(src[p], k)) | 0;
    }
    const o = yy * rowLength;
    for (let i = 0; i < rowLength; i++) dst[o + i] = acc[i] >> PRECISION_BITS;
  }
}
