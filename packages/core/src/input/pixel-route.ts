/**
 * Which PIL conversion decoded pixels need — the choice that makes the exact decode equal PIL's `convert('RGB')`.
 * Chosen from the header bytes read here (JPEG SOF, PNG IHDR, TIFF first IFD — no extra libvips call), or for the
 * rest (AVIF, odd JPEGs) from sharp's full header (`metadata()`, ≈ 0.2 ms).
 * @module
 */
import type { Metadata } from 'sharp';
import { InvalidImageError, UnsupportedImageError } from '../errors.js';
import type { ImageFormat } from './image-format.js';
import { readTiffLayout, type TiffLayout } from './tiff-layout.js';

/**
 * - `rgb`: libvips' 8-bit decode is already PIL's (gray is replicated, alpha dropped, 16-bit cast to its high byte;
 *   samples after the first three are dropped);
 * - `cmyk`: take the raw CMYK samples (high byte of 16-bit ones) and apply PIL's naive formula;
 * - `gray-clip`: one channel of 16/32-bit integers or 32-bit floats, clipped to 0–255 as PIL's modes `I`, `I;16`
 *   and `F` convert (anything ≥ 255 is white, anything ≤ 0 black, floats truncated);
 * - `gray-clip-inverted`: the same for a 16-bit min-is-white TIFF, which libvips inverts and Pillow does not;
 * - `gif-alpha`: paint transparent pixels with the transparent index's palette colour;
 * - `convert`: colour spaces neither PIL nor the routes above know (libvips' conversion to sRGB; PIL cannot open
 *   these, so there is no PIL image to match).
 */
export type PixelRoute = 'rgb' | 'cmyk' | 'gray-clip' | 'gray-clip-inverted' | 'gif-alpha' | 'convert';

/** The route from sharp's full header, for the formats whose first bytes do not decide it (AVIF). */
export function pixelRouteFromMetadata(meta: Metadata, format: ImageFormat): PixelRoute {
  if (meta.space === 'cmyk') return 'cmyk';
  if (format === 'gif' && meta.hasAlpha) return 'gif-alpha';
  if (meta.space === 'srgb' || meta.space === 'b-w' || meta.space === 'rgb16' || meta.space === 'grey16') {
    return 'rgb';
  }
  return 'convert';
}

/** Number of colour components in a JPEG's frame header (SOFn), or `undefined` if none is found before the scan. */
function jpegComponents(bytes: Uint8Array): number | undefined {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1] as number;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // standalone markers
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // start of scan / end of image
    const length = ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) return bytes[at + 9];
    at += 2 + length;
  }
  return undefined;
}

/**
 * The mode Pillow 9.4 opens a TIFF in, for messages: `TiffImagePlugin.OPEN_INFO`'s mode, with what distinguishes
 * the layout (bits, alpha kind, planes). Not a full port of the table: it only has to name the layouts we refuse.
 */
export function pilTiffModeName(t: TiffLayout): string {
  const bits = t.bitsPerSample[0] ?? 1;
  const main = t.samplesPerPixel - t.extraSamples.length;
  const extra = t.extraSamples[0];
  let mode: string;
  switch (t.photometric) {
    case 0:
    case 1:
      if (main > 1 || t.extraSamples.length > 0) mode = 'LA';
      else if (bits === 1) mode = '1';
      else if (bits <= 8) mode = 'L';
      else if (t.sampleFormat === 3) mode = 'F';
      else if (bits <= 16 && t.sampleFormat !== 2) mode = t.littleEndian ? 'I;16' : 'I;16B';
      else mode = 'I';
      break;
    case 2:
      mode = extra === 0 ? 'RGBX' : extra !== undefined || t.samplesPerPixel === 4 ? 'RGBA' : 'RGB';
      break;
    case 3:
      mode = t.extraSamples.length > 0 ? 'PA' : 'P';
      break;
    case 5:
      mode = 'CMYK';
      break;
    case 6:
      mode = 'RGB (from YCbCr)';
      break;
    case 8:
      mode = 'LAB';
      break;
    default:
      mode = `photometric ${String(t.photometric)}`;
  }
  const alpha = extra === 1 ? ', associated (premultiplied) alpha' : '';
  const planes = t.planar === 2 ? ', one plane per sample' : '';
  return `PIL mode ${mode}: ${t.samplesPerPixel} × ${bits}-bit samples${alpha}${planes}`;
}

function refuse(t: TiffLayout, why: string): never {
  throw new UnsupportedImageError(`Unsupported TIFF (${pilTiffModeName(t)}): ${why}`);
}

/**
 * The route for a TIFF, from its first IFD. Refuses (typed {@link UnsupportedImageError} naming Pillow's mode) the
 * layouts where libvips' pixels differ from Pillow 9.4's and cannot be made equal cheaply.
 */
export function tiffPixelRoute(t: TiffLayout): PixelRoute | undefined {
  const bits = t.bitsPerSample[0] ?? 1;
  const main = t.samplesPerPixel - t.extraSamples.length;
  const photometric = t.compression === 6 ? 6 : t.photometric; // old-style JPEG is YCbCr (Pillow's rule)
  if (photometric === 8 || photometric === 9 || photometric === 10) {
    refuse(t, 'CIELab TIFFs are not decoded (libvips cannot read them as Pillow does); convert to RGB first');
  }
  if (![1, 2, 4, 8, 16, 32].includes(bits) || t.bitsPerSample.some((b) => b !== bits)) {
    refuse(
      t,
      `${t.bitsPerSample.join('/')}-bit samples are not decoded (libvips reads 1, 2, 4, 8, 16 and 32 bits)`,
    );
  }
  if (t.samplesPerPixel > 6) {
    refuse(t, `${t.samplesPerPixel} samples per pixel (Pillow reads at most 6)`);
  }
  if (t.planar === 2 && t.samplesPerPixel > 1 && bits > 8 && t.compression === 1) {
    // Pillow reads uncompressed planes itself, with 8-bit raw modes whatever the bits (compressed ones go through
    // libtiff and come out right).
    refuse(
      t,
      'Pillow 9.4 reads the planes of an uncompressed planar TIFF with more than 8 bits per sample as 8-bit samples',
    );
  }
  if (t.planar === 2 && t.samplesPerPixel > 1 && t.tiled) {
    refuse(t, 'tiled TIFFs with one plane per sample are not decoded by libvips');
  }
  if (t.extraSamples[0] === 1 && bits === 16) {
    refuse(
      t,
      'Pillow 9.4 un-premultiplies 16-bit associated alpha on the high bytes only; libvips on the full samples',
    );
  }
  if ((photometric === 0 || photometric === 1) && main === 1 && t.extraSamples.length === 0 && bits > 8) {
    // 16-bit min-is-white: libvips inverts, Pillow's `I;16` does not. (32-bit and float are not inverted by either.)
    return photometric === 0 && bits === 16 && t.sampleFormat !== 2 && t.sampleFormat !== 3
      ? 'gray-clip-inverted'
      : 'gray-clip';
  }
  if (photometric === 5) return 'cmyk';
  if (photometric === 0 || photometric === 1 || photometric === 2 || photometric === 3 || photometric === 6) {
    return 'rgb';
  }
  return undefined; // LogLuv, masks, …: Pillow cannot open them; the metadata route decides
}

/**
 * The route from the first bytes alone, for the formats where a few header bytes decide it (JPEG: CMYK has four
 * components; PNG: 16-bit gray is bit depth 16 with colour type 0, with or without tRNS; WebP is always 8-bit
 * RGB(A); GIF always takes the transparency fix-up; TIFF: its first IFD, see {@link tiffPixelRoute}).
 * `undefined` (AVIF, odd headers) means: ask sharp's `metadata()`.
 *
 * @throws {UnsupportedImageError} a TIFF layout that cannot be decoded as Pillow does.
 * @throws {InvalidImageError} a TIFF whose first image directory cannot be read.
 */
export function pixelRouteFromBytes(bytes: Uint8Array, format: ImageFormat): PixelRoute | undefined {
  switch (format) {
    case 'jpeg': {
      const components = jpegComponents(bytes);
      if (components === 1 || components === 3) return 'rgb';
      if (components === 4) return 'cmyk';
      return undefined;
    }
    case 'png': {
      if (bytes.length < 26) return undefined;
      const bitDepth = bytes[24];
      const colourType = bytes[25];
      return bitDepth === 16 && colourType === 0 ? 'gray-clip' : 'rgb';
    }
    case 'tiff': {
      // Without its layout we cannot tell which of Pillow's conversions applies: refuse rather than guess.
      const layout = readTiffLayout(bytes);
      if (layout === undefined) {
        throw new InvalidImageError(
          'The TIFF image is truncated or malformed: its first image directory cannot be read',
        );
      }
      return tiffPixelRoute(layout);
    }
    case 'webp':
      return 'rgb';
    case 'gif':
      return 'gif-alpha';
    default:
      return undefined;
  }
}

/** libvips' sample format of a one-channel image taking the `gray-clip` route. */
export type GraySampleFormat = 'ushort' | 'short' | 'uint' | 'int' | 'float';

/** The sample format of a `gray-clip` image: 16-bit PNG gray, or the TIFF's bits and SampleFormat. */
export function graySampleFormat(bytes: Uint8Array, format: ImageFormat): GraySampleFormat {
  const layout = format === 'tiff' ? readTiffLayout(bytes) : undefined;
  if (layout === undefined) return 'ushort';
  const signed = layout.sampleFormat === 2;
  if (layout.bitsPerSample[0] === 16) return signed ? 'short' : 'ushort';
  if (layout.sampleFormat === 3) return 'float';
  return signed ? 'int' : 'uint';
}
