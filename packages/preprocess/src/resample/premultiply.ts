/**
 * RGBA ⇄ premultiplied RGBa, as Pillow's Convert.c does it. Pillow's `Image.resize` of an RGBA image (any filter
 * but nearest) converts to `RGBa`, resamples, and converts back; both conversions round in their own way, so
 * they are reproduced exactly here.
 * @module
 */

/**
 * Premultiplies colour by alpha in a new buffer: `MULDIV255(c, a) = ((t >> 8) + t) >> 8` with `t = c·a + 128`.
 *
 * @example
 * ```ts
 * premultiplyAlpha(new Uint8Array([255, 128, 0, 128])); // Uint8Array [128, 64, 0, 128]
 * ```
 */
export function premultiplyAlpha(rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  const out = new Uint8Array(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3];
    let t = rgba[i] * a + 128;
    out[i] = ((t >> 8) + t) >> 8;
    t = rgba[i + 1] * a + 128;
    out[i + 1] = ((t >> 8) + t) >> 8;
    t = rgba[i + 2] * a + 128;
    out[i + 2] = ((t >> 8) + t) >> 8;
    out[i + 3] = a;
  }
  return out;
}

/**
 * Undoes premultiplication in place: alpha 0 or 255 keeps the colour, otherwise `min(255, ⌊255·c / a⌋)`.
 *
 * @example
 * ```ts
 * unpremultiplyAlphaInPlace(new Uint8Array([128, 64, 0, 128])); // [255, 127, 0, 128]
 * ```
 */
export function unpremultiplyAlphaInPlace(rgba: Uint8Array | Uint8ClampedArray): void {
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3];
    if (a === 0 || a === 255) continue;
    for (let c = i; c < i + 3; c++) {
      const v = ((255 * rgba[c]) / a) | 0;
      rgba[c] = Math.min(v, 255);
    }
  }
}
