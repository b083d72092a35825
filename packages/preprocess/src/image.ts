/**
 * Validation and allocation of {@link RawImage}s, shared by every stage.
 * @module
 */
import { PreprocessError } from './errors.js';
import * as is from './is.js';
import type { ChannelCount, RawImage } from './types.js';

/**
 * Largest width or height this package produces (sizes above this are almost certainly a bug).
 *
 * @example
 * ```ts
 * resize(image, { width: MAX_DIMENSION + 1, height: 1 }); // throws INVALID_OPTION
 * ```
 */
export const MAX_DIMENSION = 65535;
/**
 * Largest pixel count this package produces (sharp's default `limitInputPixels`, 16383 × 16383).
 *
 * @example
 * ```ts
 * resize(image, { width: 30000, height: 30000 }); // throws: 9e8 > MAX_PIXELS
 * ```
 */
export const MAX_PIXELS = 0x3fff * 0x3fff;

/**
 * Throws `INVALID_IMAGE_BUFFER` unless `image` is a well-formed {@link RawImage}: `data` a `Uint8Array` or
 * `Uint8ClampedArray` (a Node `Buffer` is a `Uint8Array`) of exactly `width × height × channels` bytes.
 *
 * @example
 * ```ts
 * assertRawImage({ data: new Uint8Array(12), width: 2, height: 2, channels: 3 }); // ok
 * assertRawImage({ data: new Uint8Array(11), width: 2, height: 2, channels: 3 }); // throws
 * ```
 */
export function assertRawImage(image: unknown, name = 'image'): asserts image is RawImage {
  if (!is.plainObject(image)) {
    throw is.invalidParameterError(
      name,
      'object { data, width, height, channels }',
      image,
      'INVALID_IMAGE_BUFFER',
    );
  }
  const { data, width, height, channels } = image;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw is.invalidParameterError(
      `${name}.data`,
      'Uint8Array or Uint8ClampedArray',
      data,
      'INVALID_IMAGE_BUFFER',
    );
  }
  if (!is.positiveInteger(width)) {
    throw is.invalidParameterError(`${name}.width`, 'positive integer', width, 'INVALID_IMAGE_BUFFER');
  }
  if (!is.positiveInteger(height)) {
    throw is.invalidParameterError(`${name}.height`, 'positive integer', height, 'INVALID_IMAGE_BUFFER');
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw is.invalidParameterError(`${name}.channels`, 'one of 1, 3, 4', channels, 'INVALID_IMAGE_BUFFER');
  }
  const expected = width * height * channels;
  if (data.length !== expected) {
    throw new PreprocessError(
      'INVALID_IMAGE_BUFFER',
      `Expected ${name}.data of length ${expected} (${width} × ${height} × ${channels}) but received length ${data.length}`,
    );
  }
}

/**
 * Throws `INVALID_OPTION` unless `width` × `height` is an output size this package will allocate.
 *
 * @example
 * ```ts
 * assertOutputSize(224, 224); // ok
 * ```
 */
export function assertOutputSize(width: unknown, height: unknown, prefix = ''): void {
  if (!is.positiveInteger(width) || width > MAX_DIMENSION) {
    throw is.invalidParameterError(`${prefix}width`, `integer between 1 and ${MAX_DIMENSION}`, width);
  }
  if (!is.positiveInteger(height) || height > MAX_DIMENSION) {
    throw is.invalidParameterError(`${prefix}height`, `integer between 1 and ${MAX_DIMENSION}`, height);
  }
  if (width * height > MAX_PIXELS) {
    throw new PreprocessError(
      'INVALID_OPTION',
      `Output of ${width} × ${height} pixels exceeds the limit of ${MAX_PIXELS} pixels`,
    );
  }
}

/**
 * A new zero-filled image.
 *
 * @example
 * ```ts
 * const black = createImage(224, 224, 3);
 * ```
 */
export function createImage(width: number, height: number, channels: ChannelCount): RawImage {
  return { data: new Uint8Array(width * height * channels), width, height, channels };
}
