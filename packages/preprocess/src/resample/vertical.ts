/**
 * Vertical convolution pass on 8-bit interleaved rows (Pillow's `ImagingResampleVertical_8bpc`): like Pillow,
 * each output byte walks down its column of source rows; four neighbouring bytes are summed at once, which shares
 * the weight loads and keeps four int32 accumulators in registers.
 * @module
 */
import type { AxisCoefficients } from './coefficients.js';

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
  { ksize, bounds, weights, precision }: AxisCoefficients,
  dst: Uint8ClampedArray,
): void {
  const outHeight = bounds.length >> 1;
  const half = 1 << (precision - 1);
  for (let yy = 0; yy < outHeight; yy++) {
    const kBase = yy * ksize;
    const kEnd = kBase + bounds[2 * yy + 1];
    const base = bounds[2 * yy] * rowLength;
    const o = yy * rowLength;
    let i = 0;
    for (; i + 3 < rowLength; i += 4) {
      let s0 = half;
      let s1 = half;
      let s2 = half;
      let s3 = half;
      let p = base + i;
      for (let k = kBase; k < kEnd; k++, p += rowLength) {
        const w = weights[k];
        s0 = (s0 + Math.imul(src[p], w)) | 0;
        s1 = (s1 + Math.imul(src[p + 1], w)) | 0;
        s2 = (s2 + Math.imul(src[p + 2], w)) | 0;
        s3 = (s3 + Math.imul(src[p + 3], w)) | 0;
      }
      dst[o + i] = s0 >> precision;
      dst[o + i + 1] = s1 >> precision;
      dst[o + i + 2] = s2 >> precision;
      dst[o + i + 3] = s3 >> precision;
    }
    for (; i < rowLength; i++) {
      let s = half;
      let p = base + i;
      for (let k = kBase; k < kEnd; k++, p += rowLength) s = (s + Math.imul(src[p], weights[k])) | 0;
      dst[o + i] = s >> precision;
    }
  }
}
