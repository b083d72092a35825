/**
 * Step 2 of the data path: encoded bytes → 8-bit RGB pixels, byte for byte what PIL's
 * `Image.open(f).convert('RGB')` gives (see this folder's README, "How decoding matches PIL").
 * @module
 */
import type { RawImage } from '@mtailor/preprocess';
import { toRGB } from '@mtailor/preprocess';
import sharp from 'sharp';
import { ImageTooLargeError } from '../errors.js';
import { gifTransparentColour } from './gif-transparency.js';
import { detectImageFormat, type ImageFormat } from './image-format.js';
import { decodeJpegNatively } from './native-jpeg.js';
import {
  type GraySampleFormat,
  graySampleFormat,
  type PixelRoute,
  pixelRouteFromBytes,
  pixelRouteFromMetadata,
} from './pixel-route.js';
import {
  appliesOrientation,
  readHeader,
  type SharpDecodeSettings,
  sharpInputOptions,
  toImageError,
} from './sharp-input.js';
import { readTiffLayout } from './tiff-layout.js';

/**
 * Facts about the encoded image, from its header.
 *
 * @example
 * ```ts
 * const { source }: { source: ImageSourceInfo } = await preprocessor.process('cat.jpg'); // { format: 'jpeg', width: 500, height: 375 }
 * ```
 */
export interface ImageSourceInfo {
  /** Detected from the bytes' signature and confirmed by the decoder. */
  format: ImageFormat;
  /** Width of the decoded image (after EXIF rotation when `autoOrient` applied one). */
  width: number;
  /** Height of the decoded image (after EXIF rotation when `autoOrient` applied one). */
  height: number;
}

/**
 * What {@link decodeImage} (and `ImagePreprocessor.decode`) returns.
 *
 * @example
 * ```ts
 * const decoded: DecodedImage = await new ImagePreprocessor().decode('photo.jpg');
 * if (decoded.oriented) console.log(`rotated by EXIF orientation ${decoded.orientation}`);
 * ```
 */
export interface DecodedImage extends ImageSourceInfo {
  /** The pixels: 8-bit RGB, HWC interleaved, `width × height × 3` bytes. */
  image: RawImage;
  /** EXIF orientation tag of the file, 1–8 (1 when there is none). */
  orientation: number;
  /**
   * Whether the orientation was applied: an orientation other than 1, and `autoOrient` — or a TIFF, whose
   * Orientation tag Pillow's `Image.open` always applies.
   */
  oriented: boolean;
  /** The source had an alpha channel (dropped without compositing, as PIL's `convert('RGB')` does). */
  hasAlpha: boolean;
  /** Colour space the file stores, as libvips names it: `'srgb'`, `'b-w'`, `'cmyk'`, `'rgb16'`, `'grey16'`, … */
  colourspace: string;
  /** Bits per sample of the source: 8 or 16 (others for exotic TIFFs). */
  bitDepth: number;
  /** The source is a palette image (GIF, palette PNG). */
  isPalette: boolean;
  /** The source embeds an ICC profile (ignored, as PIL's `convert('RGB')` does). */
  hasIccProfile: boolean;
  /** Frames/pages in the file; only the first is decoded. */
  pages: number;
  /** Milliseconds spent: reading the bytes (file/stream; ≈0 for a byte array), and decoding them. */
  timings: { readMs: number; decodeMs: number };
}

const BIT_DEPTH: Record<string, number> = {
  uchar: 8,
  char: 8,
  ushort: 16,
  short: 16,
  uint: 32,
  int: 32,
  float: 32,
  double: 64,
};

/**
 * PIL's `cmyk2rgb` (Convert.c, Pillow 9): naive, no colour management: `255 − k − c·(255 − k)/255`, per channel.
 * `samples` holds `channels` samples per pixel (CMYK, then any extra ones Pillow ignores), 8-bit or — for a 16-bit
 * CMYK TIFF — 16-bit in host order, of which Pillow's `CMYK;16L` unpacker keeps the high byte.
 */
function cmykToRgbLikePil(
  samples: Uint8Array,
  pixels: number,
  channels: number,
  sixteen: boolean,
): Uint8Array {
  const values = sixteen ? typedView(samples, Uint16Array) : samples;
  const shift = sixteen ? 8 : 0;
  const out = new Uint8Array(pixels * 3);
  for (let p = 0, i = 0, o = 0; p < pixels; p++, i += channels, o += 3) {
    const nk = 255 - ((values[i + 3] as number) >> shift);
    for (let c = 0; c < 3; c++) {
      const tmp = ((values[i + c] as number) >> shift) * nk + 128; // MULDIV255
      const v = nk - (((tmp >> 8) + tmp) >> 8);
      out[o + c] = Math.max(v, 0);
    }
  }
  return out;
}

type TypedArrayOf<T> = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  BYTES_PER_ELEMENT: number;
};

/** `bytes` seen as host-order samples of `Type` (copied first when the buffer is not aligned for them). */
function typedView<T>(bytes: Uint8Array, Type: TypedArrayOf<T>): T {
  // `new Uint8Array` copies (to offset 0); a Buffer's own `slice()` would return a view at the same odd offset.
  const aligned = bytes.byteOffset % Type.BYTES_PER_ELEMENT === 0 ? bytes : new Uint8Array(bytes);
  return new Type(aligned.buffer, aligned.byteOffset, aligned.byteLength / Type.BYTES_PER_ELEMENT);
}

/**
 * PIL opens one-channel images of more than 8 bits as mode `I;16`/`I;16B` (16-bit TIFF), `I` (16-bit PNG, signed
 * or 32-bit TIFF) or `F` (float TIFF), and `convert('RGB')` **clips** each value to 0–255 instead of scaling: ≥ 255
 * is white, ≤ 0 black, floats are truncated toward zero (`ImagingConvert`'s `i2rgb`, `I16_RGB`, `f2l`). We
 * reproduce that (see the README). `samples` are libvips' samples in their own format, `channels` per pixel (a
 * 16-bit gray PNG with tRNS comes with an alpha channel, which PIL ignores); `invert` undoes libvips' inversion of
 * a 16-bit min-is-white TIFF, which Pillow's `I;16` keeps as stored.
 */
function grayClipLikePil(
  samples: Uint8Array,
  depth: GraySampleFormat,
  pixels: number,
  channels: number,
  invert: boolean,
): Uint8Array {
  let values: ArrayLike<number>;
  switch (depth) {
    case 'ushort':
      values = typedView(samples, Uint16Array);
      break;
    case 'short':
      values = typedView(samples, Int16Array);
      break;
    // PIL reads unsigned 32-bit samples (`I;32N`) into its signed 32-bit mode `I`: ≥ 2^31 wraps negative (black).
    case 'uint':
    case 'int':
      values = typedView(samples, Int32Array);
      break;
    case 'float':
      values = typedView(samples, Float32Array);
      break;
  }
  const out = new Uint8Array(pixels * 3);
  for (let p = 0, i = 0, o = 0; p < pixels; p++, i += channels, o += 3) {
    let v = values[i] as number;
    if (invert) v = 65535 - v;
    // `v > 0` is false for NaN: black, deterministically (C's cast of NaN to UINT8 is undefined).
    const g = v > 0 ? (v >= 255 ? 255 : Math.trunc(v)) : 0;
    out[o] = g;
    out[o + 1] = g;
    out[o + 2] = g;
  }
  return out;
}

/** RGBA → RGB, with fully transparent pixels painted `colour` (PIL shows the transparent index's palette colour). */
function dropGifAlpha(
  rgba: Uint8Array,
  pixels: number,
  colour: [number, number, number] | undefined,
): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let p = 0, i = 0, o = 0; p < pixels; p++, i += 4, o += 3) {
    if (colour !== undefined && rgba[i + 3] === 0) {
      out[o] = colour[0];
      out[o + 1] = colour[1];
      out[o + 2] = colour[2];
    } else {
      out[o] = rgba[i] as number;
      out[o + 1] = rgba[i + 1] as number;
      out[o + 2] = rgba[i + 2] as number;
    }
  }
  return out;
}

/** Sample formats libvips decodes one-channel images of more than 8 bits to, and the space that keeps them. */
const GRAY_SPACE: Record<GraySampleFormat, 'grey16' | 'b-w'> = {
  ushort: 'grey16',
  short: 'grey16',
  uint: 'b-w',
  int: 'b-w',
  float: 'b-w',
};

/** The first three samples of every pixel of `channels`-sample data. */
function firstThree(data: Uint8Array, channels: number): Uint8Array {
  const pixels = data.length / channels;
  const out = new Uint8Array(pixels * 3);
  for (let p = 0, i = 0, o = 0; p < pixels; p++, i += channels, o += 3) {
    out[o] = data[i] as number;
    out[o + 1] = data[i + 1] as number;
    out[o + 2] = data[i + 2] as number;
  }
  return out;
}

async function decodePixels(
  bytes: Uint8Array,
  format: ImageFormat,
  route: PixelRoute,
  settings: SharpDecodeSettings,
): Promise<RawImage> {
  const input = sharp(bytes, sharpInputOptions(settings, format));
  switch (route) {
    case 'cmyk': {
      // Keep libvips from converting CMYK with its built-in profile: take the (un-inverted) CMYK samples, 8 or 16
      // bits as stored (sharp's default 8-bit output would clip 16-bit samples, not shift them).
      const sixteen = format === 'tiff' && readTiffLayout(bytes)?.bitsPerSample[0] === 16;
      const { data, info } = await input
        .pipelineColourspace('cmyk')
        .toColourspace('cmyk')
        .raw({ depth: sixteen ? 'ushort' : 'uchar' })
        .toBuffer({ resolveWithObject: true });
      const pixels = info.width * info.height;
      return {
        data: cmykToRgbLikePil(data, pixels, info.channels, sixteen),
        width: info.width,
        height: info.height,
        channels: 3,
      };
    }
    case 'gray-clip':
    case 'gray-clip-inverted': {
      // The samples in the file's own format: without an explicit space and depth, sharp would hand back 8-bit
      // sRGB (scaled), not the values PIL clips.
      const depth = graySampleFormat(bytes, format);
      const { data, info } = await input
        .toColourspace(GRAY_SPACE[depth])
        .raw({ depth })
        .toBuffer({ resolveWithObject: true });
      const pixels = info.width * info.height;
      const rgb = grayClipLikePil(data, depth, pixels, info.channels, route === 'gray-clip-inverted');
      return { data: rgb, width: info.width, height: info.height, channels: 3 };
    }
    case 'gif-alpha': {
      // ensureAlpha: an opaque GIF gets alpha 255 everywhere and passes through unchanged.
      const { data, info } = await input.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      const pixels = info.width * info.height;
      const rgb = dropGifAlpha(data, pixels, gifTransparentColour(bytes));
      return { data: rgb, width: info.width, height: info.height, channels: 3 };
    }
    case 'rgb':
    case 'convert': {
      const pipeline = route === 'convert' ? input.toColourspace('srgb') : input;
      // 16-bit samples are cast to their high byte (`depth: 'uchar'`), as PIL's `RGB;16B`/`LA;16B` modes read them.
      const { data, info } = await pipeline
        .removeAlpha()
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
      const image: RawImage = {
        data,
        width: info.width,
        height: info.height,
        channels: info.channels as 1 | 3,
      };
      if (info.channels === 3) return image;
      if (info.channels === 1) return toRGB(image);
      // RGB with extra samples after its alpha (TIFF RGBAX, RGBXX, …): PIL keeps the first three.
      if (info.channels > 3) return { ...image, data: firstThree(data, info.channels), channels: 3 };
      throw new Error(`unexpected ${info.channels}-channel decode`);
    }
  }
}

/**
 * Decodes encoded image bytes to 8-bit RGB exactly as PIL's `Image.open(f).convert('RGB')` (plus, with
 * `autoOrient`, `ImageOps.exif_transpose`) does: ICC profiles ignored, alpha dropped without compositing, gray
 * replicated, palettes looked up, CMYK converted with PIL's naive formula, more-than-8-bit gray clipped to 0–255,
 * a TIFF's Orientation tag applied (as `Image.open` does), first frame only.
 *
 * @throws {UnsupportedImageError} not JPEG, PNG, WebP, GIF, TIFF or AVIF; or a TIFF layout Pillow reads whose
 *   pixels cannot be reproduced (12-bit, CIELab, 16-bit associated alpha, uncompressed planar > 8-bit, tiled planar):
 *   the message names Pillow's mode.
 * @throws {InvalidImageError} empty, truncated or undecodable data; a TIFF whose first IFD cannot be read.
 * @throws {ImageTooLargeError} more than `settings.maxPixels` pixels.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * const decoded = await decodeImage(await readFile('cat.jpg'), { autoOrient: true, maxPixels: 100e6 });
 * decoded.image; // { data: Uint8Array(w*h*3), width, height, channels: 3 }
 * ```
 */
export async function decodeImage(
  bytes: Uint8Array,
  settings: SharpDecodeSettings,
): Promise<Omit<DecodedImage, 'timings'> & { timings: { decodeMs: number } }> {
  const start = performance.now();
  const format = detectImageFormat(bytes);
  // The route first: a layout we refuse is refused before libvips reads it (its header read may fail on some).
  const fromBytes = pixelRouteFromBytes(bytes, format);
  const meta = await readHeader(bytes, format, settings);
  const route = fromBytes ?? pixelRouteFromMetadata(meta, format);
  let image: RawImage;
  try {
    image = await decodePixels(bytes, format, route, settings);
  } catch (err) {
    throw toImageError(err, format);
  }
  const orientation = meta.orientation ?? 1;
  return {
    image,
    format,
    width: image.width,
    height: image.height,
    orientation,
    oriented: appliesOrientation(settings, format) && orientation !== 1,
    hasAlpha: meta.hasAlpha ?? false,
    colourspace: String(meta.space ?? 'unknown'),
    bitDepth: BIT_DEPTH[String(meta.depth)] ?? 8,
    isPalette: meta.isPalette ?? false,
    hasIccProfile: meta.hasProfile ?? false,
    pages: meta.pages ?? 1,
    timings: { decodeMs: performance.now() - start },
  };
}

/**
 * The hot path of `ImagePreprocessor.process`: the same pixels as {@link decodeImage}, without the separate header
 * read when the first bytes decide the PIL conversion (JPEG, PNG, WebP, GIF) — one libvips call per image instead
 * of two. The pixel limit is then enforced by libvips during the decode; only when it trips is the header read, to
 * say how large the image is.
 *
 * @throws the same errors as {@link decodeImage}.
 *
 * @example
 * ```ts
 * const { image, format } = await decodeImagePixels(bytes, { autoOrient: true, maxPixels: 100e6 });
 * ```
 */
export async function decodeImagePixels(
  bytes: Uint8Array,
  settings: SharpDecodeSettings,
): Promise<{ image: RawImage; format: ImageFormat }> {
  const format = detectImageFormat(bytes);
  let route = pixelRouteFromBytes(bytes, format);
  if (format === 'jpeg' && route === 'rgb') {
    const image = await decodeJpegNatively(bytes, settings);
    if (image) return { image, format };
  }
  if (route === undefined) route = pixelRouteFromMetadata(await readHeader(bytes, format, settings), format);
  try {
    return { image: await decodePixels(bytes, format, route, settings), format };
  } catch (err) {
    const error = toImageError(err, format);
    // Re-read the header for the detailed message (size, limit); it throws the better ImageTooLargeError.
    if (error instanceof ImageTooLargeError) await readHeader(bytes, format, settings);
    throw error;
  }
}
