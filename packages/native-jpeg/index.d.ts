/** 8-bit RGB pixels, `width × height × 3` bytes, row after row. */
export interface RgbPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * libjpeg-turbo decoding a JPEG the way Pillow's `Image.open(f).convert('RGB')` does (accurate integer IDCT, fancy
 * upsampling, no colour management). Each call answers `null` for what it does not decode exactly like that: not a
 * gray or 3-component JPEG, over `maxPixels`, an EXIF orientation other than 1 when `respectOrientation`, or any
 * libjpeg warning or error (decode those with a general decoder).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { nativeJpeg } from '@mtailor/native-jpeg';
 * const pixels = nativeJpeg?.decodeJpegRgbSync(readFileSync('cat.jpg'), 1e8, false);
 * if (pixels) console.log(pixels.width, pixels.height, pixels.data.length);
 * ```
 */
export interface NativeJpeg {
  /** Decodes on the calling thread. */
  decodeJpegRgbSync(bytes: Uint8Array, maxPixels: number, respectOrientation: boolean): RgbPixels | null;
  /** Decodes on libuv's thread pool; `bytes` must not change until it settles. */
  decodeJpegRgb(bytes: Uint8Array, maxPixels: number, respectOrientation: boolean): Promise<RgbPixels | null>;
  /** The libjpeg-turbo it was built against, e.g. 2001005 for 2.1.5. */
  libjpegTurboVersion: number;
}

/** The addon, or `undefined` when it is not built here (or `MTAILOR_NATIVE_JPEG=0`). */
export declare const nativeJpeg: NativeJpeg | undefined;
