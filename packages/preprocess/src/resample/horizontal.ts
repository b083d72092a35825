/**
 * Horizontal convolution pass on 8-bit interleaved rows (Pillow's `ImagingResampleHorizontal_8bpc`, and torch's uint8 one: the fixed-point precision comes with the coefficients).
 * One specialised loop per channel count keeps the accumulators in registers; `Math.imul` and `| 0` keep every
 * operation in int32, which is exact here because Pillow's own int32 sums never overflow either.
 * @module
 */
import type { AxisCoefficients } from './coefficients.js';

/**
 * Resamples rows `firstRow .. firstRow + rows - 1` of `src` (`inWidth` pixels of `channels` bytes) to
 * `coeffs.bounds.length / 2` pixels per row, writing `rows` rows to `dst`. `dst` is a `Uint8ClampedArray` so that
 * storing `sum >> 22` clamps to 0..255 exactly as Pillow's `clip8` does.
 *
 * @example
 * ```ts
 * horizontalPass(src, 640, 3, 0, 480, computeAxisCoefficients(640, 224, kernel), dst);
 * ```
 */
export function horizontalPass(
  src: Uint8Array | Uint8ClampedArray,
  inWidth: number,
  channels: number,
  firstRow: number,
  rows: number,
  coeffs: AxisCoefficients,
  dst: Uint8ClampedArray,
): void {
  if (channels === 3) horizontal3(src, inWidth, firstRow, rows, coeffs, dst);
  else if (channels === 4) horizontal4(src, inWidth, firstRow, rows, coeffs, dst);
  else horizontal1(src, inWidth, firstRow, rows, coeffs, dst);
}

function horizontal1(
  src: Uint8Array | Uint8ClampedArray,
  inWidth: number,
  firstRow: number,
  rows: number,
  { ksize, bounds, weights, precision }: AxisCoefficients,
  dst: Uint8ClampedArray,
): void {
  const outWidth = bounds.length >> 1;
  const half = 1 << (precision - 1);
  let o = 0;
  for (let y = 0; y < rows; y++) {
    const rowStart = (firstRow + y) * inWidth;
    for (let xx = 0; xx < outWidth; xx++) {
      const n = bounds[2 * xx + 1];
      const kBase = xx * ksize;
      let p = rowStart + bounds[2 * xx];
      let s = half;
      for (let x = 0; x < n; x++, p++) s = (s + Math.imul(src[p], weights[kBase + x])) | 0;
      dst[o++] = s >> precision;
    }
  }
}

function horizontal3(
  src: Uint8Array | Uint8ClampedArray,
  inWidth: number,
  firstRow: number,
  rows: number,
  { ksize, bounds, weights, precision }: AxisCoefficients,
  dst: Uint8ClampedArray,
): void {
  const outWidth = bounds.length >> 1;
  const half = 1 << (precision - 1);
  const rowLength = inWidth * 3;
  const outLength = outWidth * 3;
  let y = 0;
  // Two rows at a time: each weight is loaded once for six accumulators (≈ 20 % faster than one row).
  for (; y + 1 < rows; y += 2) {
    const rowStart = (firstRow + y) * rowLength;
    let o = y * outLength;
    for (let xx = 0; xx < outWidth; xx++) {
      const kBase = xx * ksize;
      const kEnd = kBase + bounds[2 * xx + 1];
      let p = rowStart + bounds[2 * xx] * 3;
      let a0 = half;
      let a1 = half;
      let a2 = half;
      let b0 = half;
      let b1 = half;
      let b2 = half;
      for (let x = kBase; x < kEnd; x++, p += 3) {
        const k = weights[x];
        const q = p + rowLength;
        a0 = (a0 + Math.imul(src[p], k)) | 0;
        a1 = (a1 + Math.imul(src[p + 1], k)) | 0;
        a2 = (a2 + Math.imul(src[p + 2], k)) | 0;
        b0 = (b0 + Math.imul(src[q], k)) | 0;
        b1 = (b1 + Math.imul(src[q + 1], k)) | 0;
        b2 = (b2 + Math.imul(src[q + 2], k)) | 0;
      }
      dst[o] = a0 >> precision;
      dst[o + 1] = a1 >> precision;
      dst[o + 2] = a2 >> precision;
      dst[o + outLength] = b0 >> precision;
      dst[o + outLength + 1] = b1 >> precision;
      dst[o + outLength + 2] = b2 >> precision;
      o += 3;
    }
  }
  if (y < rows) {
    const rowStart = (firstRow + y) * rowLength;
    let o = y * outLength;
    for (let xx = 0; xx < outWidth; xx++) {
      const kBase = xx * ksize;
      const kEnd = kBase + bounds[2 * xx + 1];
      let p = rowStart + bounds[2 * xx] * 3;
      let a0 = half;
      let a1 = half;
      let a2 = half;
      for (let x = kBase; x < kEnd; x++, p += 3) {
        const k = weights[x];
        a0 = (a0 + Math.imul(src[p], k)) | 0;
        a1 = (a1 + Math.imul(src[p + 1], k)) | 0;
        a2 = (a2 + Math.imul(src[p + 2], k)) | 0;
      }
      dst[o] = a0 >> precision;
      dst[o + 1] = a1 >> precision;
      dst[o + 2] = a2 >> precision;
      o += 3;
    }
  }
}

function horizontal4(
  src: Uint8Array | Uint8ClampedArray,
  inWidth: number,
  firstRow: number,
  rows: number,
  { ksize, bounds, weights, precision }: AxisCoefficients,
  dst: Uint8ClampedArray,
): void {
  const outWidth = bounds.length >> 1;
  const half = 1 << (precision - 1);
  let o = 0;
  for (let y = 0; y < rows; y++) {
    const rowStart = (firstRow + y) * inWidth * 4;
    for (let xx = 0; xx < outWidth; xx++) {
      const n = bounds[2 * xx + 1];
      const kBase = xx * ksize;
      let p = rowStart + bounds[2 * xx] * 4;
      let s0 = half;
      let s1 = half;
      let s2 = half;
      let s3 = half;
      for (let x = 0; x < n; x++, p += 4) {
        const k = weights[kBase + x];
        s0 = (s0 + Math.imul(src[p], k)) | 0;
        s1 = (s1 + Math.imul(src[p + 1], k)) | 0;
        s2 = (s2 + Math.imul(src[p + 2], k)) | 0;
        s3 = (s3 + Math.imul(src[p + 3], k)) | 0;
      }
      dst[o] = s0 >> precision;
      dst[o + 1] = s1 >> precision;
      dst[o + 2] = s2 >> precision;
      dst[o + 3] = s3 >> precision;
      o += 4;
    }
  }
}
