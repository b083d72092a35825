/**
 * Image bytes → 8-bit RGBA pixels in the browser, as close to PIL's `Image.open(f).convert('RGB')` as the
 * browser allows.
 *
 * - **JPEG**: libjpeg-turbo's decoder compiled to WebAssembly (mozjpeg, via `@jsquash/jpeg`), with libjpeg's
 *   defaults — ISLOW integer IDCT and fancy (triangle) chroma upsampling, what Pillow uses: the same pixels in
 *   every browser. The browser's own JPEG decoder is whatever that browser ships (Debian's Chromium links the
 *   system libjpeg-turbo and matched PIL on the shared images, Safari uses ImageIO), and Chromium applies EXIF
 *   orientation even with `imageOrientation: 'none'` (see the README).
 * - **PNG, GIF, WebP, AVIF, BMP**: the browser's decoder through `createImageBitmap` with no colour management
 *   and no premultiplication, read back from an `OffscreenCanvas`.
 * @module
 */
import decodeMozjpeg, { init as initMozjpeg } from '@jsquash/jpeg/decode.js';
import type { RawImage } from '@mtailor/preprocess';
import { ClassifyError } from './errors.js';

/**
 * Image formats recognised from their first bytes.
 *
 * @example
 * ```ts
 * const format: ImageFormat | undefined = sniffFormat(bytes); // 'jpeg'
 * ```
 */
export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'avif' | 'bmp';

/**
 * Which decoder produced the pixels.
 *
 * @example
 * ```ts
 * const { decoder } = await decodeImage(bytes); // 'mozjpeg-wasm' for a JPEG
 * ```
 */
export type DecoderName = 'mozjpeg-wasm' | 'browser';

/**
 * Decoded pixels (always RGBA, 4 channels) and where they came from.
 *
 * @example
 * ```ts
 * const { image, format, decoder }: DecodedImage = await decodeImage(bytes);
 * ```
 */
export interface DecodedImage {
  image: RawImage & { channels: 4 };
  format: ImageFormat;
  decoder: DecoderName;
}

/**
 * Options of {@link decodeImage}.
 *
 * @example
 * ```ts
 * await decodeImage(bytes, { decoder: 'browser', maxPixels: 40_000_000 });
 * ```
 */
export interface DecodeOptions {
  /** `'auto'` (default): WASM libjpeg for JPEG, the browser for the rest. `'browser'`: the browser for all. */
  decoder?: 'auto' | 'browser';
  /** Largest width × height accepted (checked from the header before decoding where the format allows). */
  maxPixels?: number;
}

const DEFAULT_MAX_PIXELS = 100_000_000;

/**
 * The format of `bytes` from its signature, or `undefined`.
 *
 * @example
 * ```ts
 * sniffFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])); // 'jpeg'
 * ```
 */
export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  const b = (i: number): number => bytes[i] ?? -1;
  const ascii = (from: number, to: number): string => String.fromCharCode(...bytes.subarray(from, to));
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return 'jpeg';
  if (b(0) === 0x89 && ascii(1, 4) === 'PNG' && b(4) === 0x0d && b(5) === 0x0a) return 'png';
  if (ascii(0, 4) === 'GIF8') return 'gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (ascii(4, 8) === 'ftyp' && /^avi[fs]$/.test(ascii(8, 12))) return 'avif';
  if (ascii(0, 2) === 'BM') return 'bmp';
  return undefined;
}

/**
 * Width and height from a JPEG SOF or PNG IHDR header, without decoding; `undefined` if not found.
 *
 * @example
 * ```ts
 * headerSize(tenchJpegBytes, 'jpeg'); // { width: 500, height: 375 }
 * ```
 */
export function headerSize(
  bytes: Uint8Array,
  format: ImageFormat,
): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'png' && bytes.length >= 24)
    return { width: view.getUint32(16), height: view.getUint32(20) };
  if (format !== 'jpeg') return undefined;
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    const length = view.getUint16(i + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { height: view.getUint16(i + 5), width: view.getUint16(i + 7) };
    i += 2 + length;
  }
  return undefined;
}

let mozjpegReady: Promise<void> | undefined;
/** libjpeg's warnings and errors of the current decode (Emscripten's stderr). */
let libjpegMessages: string[] = [];

/**
 * Loads the WASM JPEG decoder (once), with libjpeg's messages captured instead of printed: a fatal error
 * ("Invalid JPEG file structure: missing SOS marker") explains the failure, and the warning
 * "Premature end of JPEG file" means a truncated file, which libjpeg would otherwise fill with grey.
 */
function loadMozjpeg(): Promise<void> {
  mozjpegReady ??= initMozjpeg({
    print: (m: string) => libjpegMessages.push(m),
    printErr: (m: string) => libjpegMessages.push(m),
  });
  return mozjpegReady;
}

/**
 * Decodes a JPEG with libjpeg-turbo compiled to WebAssembly (ISLOW IDCT, fancy upsampling: Pillow's settings).
 * Gray JPEGs come out with R = G = B, like PIL's `convert('RGB')`; EXIF orientation is ignored, as torchvision does.
 *
 * @throws {@link ClassifyError} `INVALID_IMAGE` when libjpeg refuses the data (truncated, corrupt, CMYK).
 *
 * @example
 * ```ts
 * const { data, width, height } = await decodeJpegWasm(new Uint8Array(await file.arrayBuffer()));
 * ```
 */
export async function decodeJpegWasm(bytes: Uint8Array): Promise<RawImage & { channels: 4 }> {
  await loadMozjpeg();
  // The decoder takes an ArrayBuffer; copy only when `bytes` is a view on part of a larger buffer.
  const buffer =
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
      ? bytes.buffer
      : bytes.slice().buffer;
  let out: ImageData;
  libjpegMessages = [];
  try {
    out = await decodeMozjpeg(buffer, { preserveOrientation: false });
  } catch (err) {
    mozjpegReady = undefined; // libjpeg's error exit ends the Emscripten program: start a fresh instance next time
    const why = libjpegMessages.at(-1) ?? (err as Error)?.message ?? String(err);
    throw new ClassifyError('INVALID_IMAGE', `JPEG could not be decoded: ${why}`, { cause: err });
  }
  // PIL refuses a truncated JPEG ("image file is truncated") and so does @mtailor/core; libjpeg only warns.
  if (libjpegMessages.some((m) => m.includes('Premature end of JPEG file')))
    throw new ClassifyError(
      'INVALID_IMAGE',
      'JPEG could not be decoded: the file is truncated (premature end of data)',
    );
  return { data: out.data, width: out.width, height: out.height, channels: 4 };
}

/**
 * Decodes with the browser: `createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none',
 * imageOrientation: 'none' })`, drawn on an `OffscreenCanvas` and read with `getImageData`.
 *
 * Known differences from PIL: Chromium 156 applies EXIF orientation although `imageOrientation` is `'none'`;
 * JPEG pixels are the browser's decoder's (equal to PIL's only where it uses the same libjpeg-turbo settings);
 * pixels whose alpha is 0 come back as (0, 0, 0) and semi-transparent ones lose precision (the canvas stores
 * premultiplied colour), while PIL's `convert('RGB')` keeps the colour under the alpha.
 *
 * @throws {@link ClassifyError} `INVALID_IMAGE` when the browser cannot decode the bytes.
 *
 * @example
 * ```ts
 * const { data, width, height } = await decodeWithBrowser(pngBytes);
 * ```
 */
export async function decodeWithBrowser(bytes: Uint8Array): Promise<RawImage & { channels: 4 }> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]), {
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
      imageOrientation: 'none',
    });
  } catch (err) {
    throw new ClassifyError(
      'INVALID_IMAGE',
      `The browser could not decode the image: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  try {
    const { width, height } = bitmap;
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new ClassifyError('INVALID_IMAGE', 'No 2D canvas context available to read the pixels');
    ctx.drawImage(bitmap, 0, 0);
    const { data } = ctx.getImageData(0, 0, width, height);
    return { data, width, height, channels: 4 };
  } finally {
    bitmap.close();
  }
}

/**
 * Decodes image bytes to RGBA pixels: JPEG with libjpeg in WebAssembly (Pillow-identical), the other formats
 * with the browser. Unknown formats are refused from their signature before any decoder runs.
 *
 * @throws {@link ClassifyError} `UNSUPPORTED_IMAGE` (not JPEG/PNG/GIF/WebP/AVIF/BMP, e.g. SVG, TIFF, text),
 * `INVALID_IMAGE` (empty, truncated, corrupt), `IMAGE_TOO_LARGE` (over `maxPixels`).
 *
 * @example
 * ```ts
 * const { image, decoder } = await decodeImage(new Uint8Array(await file.arrayBuffer()));
 * // image: { data: Uint8ClampedArray (RGBA), width, height, channels: 4 }, decoder: 'mozjpeg-wasm'
 * ```
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  if (bytes.length === 0) throw new ClassifyError('INVALID_IMAGE', 'The image is empty (0 bytes)');
  const format = sniffFormat(bytes);
  if (!format) {
    const head = String.fromCharCode(...bytes.subarray(0, 64));
    const looks = /<svg|<\?xml/i.test(head)
      ? 'SVG/XML'
      : head.startsWith('%PDF')
        ? 'PDF'
        : /^(II\*\0|MM\0\*)/.test(head)
          ? 'TIFF'
          : 'not an image we decode';
    throw new ClassifyError(
      'UNSUPPORTED_IMAGE',
      `Unsupported image: expected JPEG, PNG, GIF, WebP, AVIF or BMP, but the data looks like ${looks}`,
    );
  }
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const size = headerSize(bytes, format);
  const tooLarge = (w: number, h: number): ClassifyError =>
    new ClassifyError(
      'IMAGE_TOO_LARGE',
      `Image too large: ${w}×${h} = ${w * h} pixels, more than maxPixels ${maxPixels}`,
    );
  if (size && size.width * size.height > maxPixels) throw tooLarge(size.width, size.height);
  const useWasm = format === 'jpeg' && (options.decoder ?? 'auto') === 'auto';
  const image = useWasm ? await decodeJpegWasm(bytes) : await decodeWithBrowser(bytes);
  if (image.width * image.height > maxPixels) throw tooLarge(image.width, image.height);
  return { image, format, decoder: useWasm ? 'mozjpeg-wasm' : 'browser' };
}
