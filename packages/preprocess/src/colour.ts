/**
 * Colour conversion to 3-channel RGB, as PIL's `Image.convert('RGB')` does it.
 * @module
 */
import { assertRawImage } from './image.js';
import type { RawImage } from './types.js';

/**
 * Converts an image to 3-channel RGB like PIL's `convert('RGB')`: gray is replicated to R, G and B; RGBA drops its
 * alpha channel without compositing on any background (fully transparent pixels keep their stored colour). An
 * image that already has 3 channels is returned as is (no copy).
 *
 * @example
 * ```ts
 * import { toRGB } from '@mtailor/preprocess';
 * const rgb = toRGB({ data: imageData.data, width: imageData.width, height: imageData.height, channels: 4 });
 * ```
 */
export function toRGB(image: RawImage): RawImage {
  assertRawImage(image);
  return toRGBUnchecked(image);
}

/**
 * {@link toRGB} without validation (callers have validated).
 *
 * @example
 * ```ts
 * const rgb = toRGBUnchecked(image); // image already validated by the caller
 * ```
 */
export function toRGBUnchecked(image: RawImage): RawImage {
  const { width, height, channels } = image;
  if (channels === 3) return image;
  const src = image.data;
  const pixels = width * height;
  const data = new Uint8Array(pixels * 3);
  if (channels === 1) {
    for (let i = 0, o = 0; i < pixels; i++, o += 3) {
      const v = src[i];
      data[o] = v;
      data[o + 1] = v;
      data[o + 2] = v;
    }
  } else {
    for (let i = 0, o = 0; i < pixels * 4; i += 4, o += 3) {
      data[o] = src[i];
      data[o + 1] = src[i + 1];
      data[o + 2] = src[i + 2];
    }
  }
  return { data, width, height, channels: 3 };
}
