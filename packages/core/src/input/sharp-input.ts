/**
 * How we open encoded bytes with sharp: the input options both engines share, the header read, and the mapping of
 * libvips' error messages to our typed errors.
 * @module
 */
import sharp, { type Metadata, type SharpOptions } from 'sharp';
import { ImageTooLargeError, InvalidImageError, UnsupportedImageError } from '../errors.js';
import type { ImageFormat } from './image-format.js';

/**
 * Decoder settings shared by both engines.
 *
 * @example
 * ```ts
 * const settings: SharpDecodeSettings = { autoOrient: true, maxPixels: 100_000_000 };
 * ```
 */
export interface SharpDecodeSettings {
  /** Rotate/flip by the EXIF orientation (PIL `ImageOps.exif_transpose`). */
  autoOrient: boolean;
  /** Refuse images with more pixels than this (width × height of the first frame). */
  maxPixels: number;
}

/**
 * Whether the decode rotates/flips by the file's orientation. A TIFF's Orientation tag is applied whatever
 * `autoOrient` says: Pillow 9.4's `Image.open` applies it itself when it loads a TIFF (`TiffImageFile.load_end`),
 * so torchvision sees the TIFF upright. For every other format it is `autoOrient` (= `ImageOps.exif_transpose`).
 *
 * @example
 * ```ts
 * appliesOrientation({ autoOrient: false, maxPixels: 1e8 }, 'tiff'); // true
 * ```
 */
export function appliesOrientation(settings: SharpDecodeSettings, format: ImageFormat): boolean {
  return settings.autoOrient || format === 'tiff';
}

/**
 * The sharp input options of every decode:
 * - `ignoreIcc: true`: PIL's `convert('RGB')` ignores embedded ICC profiles, so we do too (and skip lcms' cost);
 * - `failOn: 'error'`: refuse truncated or undecodable data, but accept the recoverable libjpeg warnings
 *   ("extraneous bytes before marker", …) that PIL and browsers accept too;
 * - `pages: 1, page: 0`: the first frame of GIF/WebP/TIFF (what `Image.open` gives);
 * - `autoOrient`: see {@link appliesOrientation} (needs `format`; without it, `settings.autoOrient`);
 * - `limitInputPixels`: libvips checks the header before allocating anything (pixel bombs);
 * - `limitInputChannels: 6`: Pillow reads TIFFs with up to 6 samples per pixel (RGB + alpha + 2 extra), sharp's
 *   default stops at 5.
 */
export function sharpInputOptions(settings: SharpDecodeSettings, format?: ImageFormat): SharpOptions {
  return {
    ignoreIcc: true,
    failOn: 'error',
    pages: 1,
    page: 0,
    autoOrient: format === undefined ? settings.autoOrient : appliesOrientation(settings, format),
    limitInputPixels: settings.maxPixels,
    limitInputChannels: 6,
    sequentialRead: true,
  };
}

/** Turns an error of sharp/libvips into one of our typed errors (message kept, original as `cause`). */
export function toImageError(err: unknown, format: ImageFormat): Error {
  const message = err instanceof Error ? err.message : String(err);
  const firstLine = message.split('\n')[0]?.trim() ?? message;
  if (/exceeds pixel limit/i.test(message)) {
    return new ImageTooLargeError(`The ${format.toUpperCase()} image exceeds the pixel limit (maxPixels)`, {
      cause: err,
    });
  }
  if (/unsupported image format/i.test(message)) {
    return new UnsupportedImageError(`Unsupported image: ${firstLine}`, { cause: err });
  }
  return new InvalidImageError(`Cannot decode the ${format.toUpperCase()} image: ${firstLine}`, {
    cause: err,
  });
}

/**
 * Reads the image header (format, size, colourspace, orientation, …) without decoding pixels, and refuses images
 * over `maxPixels` with a message that gives the size. Costs ≈ 0.15 ms.
 */
export async function readHeader(
  bytes: Uint8Array,
  format: ImageFormat,
  settings: SharpDecodeSettings,
): Promise<Metadata> {
  let metadata: Metadata;
  try {
    // The header read allocates no pixels, so it runs without libvips' limit: we check the size ourselves below
    // to say how large the image is. The decode itself keeps `limitInputPixels` as a second guard.
    metadata = await sharp(bytes, { ...sharpInputOptions(settings), limitInputPixels: false }).metadata();
  } catch (err) {
    throw toImageError(err, format);
  }
  const expected = format === 'avif' ? 'heif' : format;
  if (metadata.format !== expected) {
    throw new InvalidImageError(
      `The image starts like ${format.toUpperCase()} but the decoder reads it as ${String(metadata.format)}`,
    );
  }
  if (format === 'avif' && metadata.compression !== undefined && metadata.compression !== 'av1') {
    throw new UnsupportedImageError(
      `Unsupported image format: HEIF with ${metadata.compression} compression (only AV1, i.e. AVIF, is decoded)`,
    );
  }
  const { width, height } = metadata;
  if (width === undefined || height === undefined || width < 1 || height < 1) {
    throw new InvalidImageError(`The ${format.toUpperCase()} image has no valid size in its header`);
  }
  // pages: 1 makes `height` the first frame's height.
  const pixels = width * height;
  if (pixels > settings.maxPixels) {
    throw new ImageTooLargeError(
      `The ${format.toUpperCase()} image is ${width}×${height} = ${pixels} pixels, over the limit of ${settings.maxPixels} (maxPixels)`,
    );
  }
  return metadata;
}
