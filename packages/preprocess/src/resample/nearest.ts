/**
 * Nearest-neighbour resize exactly as Pillow 9.4 does it: `Image.resize(NEAREST)` is not a convolution but an
 * affine scale (`ImagingScaleAffine` in libImaging/Geometry.c) whose source coordinate starts at half a step and
 * is ACCUMULATED in double precision (`xo += a[0]`), then truncated. Accumulating (instead of `(x + 0.5) * a`)
 * matters: the rounding error of the sum picks a different pixel in some upscales. Also torch's `nearest-exact`
 * (ATen `nearest_neighbor_exact_compute_source_index`), with its float32 scale.
 * @module
 */

/**
 * Source index for each of `outSize` output positions, or -1 where Pillow leaves the pixel at 0.
 *
 * @example
 * ```ts
 * nearestIndices(4, 2); // Int32Array [1, 3]
 * ```
 */
export function nearestIndices(inSize: number, outSize: number): Int32Array {
  const step = inSize / outSize;
  const indices = new Int32Array(outSize);
  let position = step * 0.5;
  for (let i = 0; i < outSize; i++) {
    const index = position < 0 ? -1 : Math.trunc(position);
    indices[i] = index < inSize ? index : -1;
    position += step;
  }
  return indices;
}

/**
 * Source index for each output position of torch's `nearest-exact` (torchvision `InterpolationMode.NEAREST_EXACT`):
 * `min(floor(float32((i + 0.5) · scale)), inSize − 1)` with `scale = float32(inSize / outSize)`.
 *
 * @example
 * ```ts
 * torchNearestExactIndices(4, 2); // Int32Array [1, 3]
 * ```
 */
export function torchNearestExactIndices(inSize: number, outSize: number): Int32Array {
  const scale = Math.fround(inSize / outSize);
  const indices = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    indices[i] = Math.min(Math.floor(Math.fround((i + 0.5) * scale)), inSize - 1);
  }
  return indices;
}

/**
 * Nearest-neighbour resize of interleaved 8-bit pixels into `dst` (zero-filled by the caller), with Pillow's
 * source indices or, with `indices = torchNearestExactIndices`, torch's `nearest-exact` ones.
 *
 * @example
 * ```ts
 * nearestResize(src, 640, 480, 3, dst, 224, 224);
 * ```
 */
export function nearestResize(
  src: Uint8Array | Uint8ClampedArray,
  inWidth: number,
  inHeight: number,
  channels: number,
  dst: Uint8Array,
  outWidth: number,
  outHeight: number,
  indices: (inSize: number, outSize: number) => Int32Array = nearestIndices,
): void {
  const xs = indices(inWidth, outWidth);
  const ys = indices(inHeight, outHeight);
  const rowLength = inWidth * channels;
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const sy = ys[y];
    if (sy < 0) {
      o += outWidth * channels;
      continue;
    }
    const rowStart = sy * rowLength;
    for (let x = 0; x < outWidth; x++) {
      const sx = xs[x];
      if (sx < 0) {
        o += channels;
        continue;
      }
      let p = rowStart + sx * channels;
      for (let c = 0; c < channels; c++) dst[o++] = src[p++];
    }
  }
}
