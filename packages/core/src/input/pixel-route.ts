/**
 * Which PIL conversion decoded pixels need — the choice that makes the exact decode equal PIL's `convert('RGB')`.
 * Chosen either from sharp's full header (`metadata()`, ≈ 0.2 ms) or, on the hot path, from a few bytes of the
 * JPEG/PNG header read here (no extra libvips call).
 * @module
 */
import type { Metadata } from 'sharp';
import type { ImageFormat } from './image-format.js';

/**
 * - `rgb`: libvips' 8-bit decode is already PIL's (gray is replicated, alpha dropped, 16-bit cast to its high byte);
 * - `cmyk`: take the raw CMYK samples and apply PIL's naive formula;
 * - `grey16`: single-channel 16-bit, clipped to 0–255 as PIL's mode `I` conversion does;
 * - `gif-alpha`: paint transparent pixels with the transparent index's palette colour;
 * - `convert`: exotic TIFF spaces (Lab, float…): libvips' conversion to sRGB.
 */
export type PixelRoute = 'rgb' | 'cmyk' | 'grey16' | 'gif-alpha' | 'convert';

/** The route from sharp's full header. */
export function pixelRouteFromMetadata(meta: Metadata, format: ImageFormat): PixelRoute {
  if (meta.space === 'cmyk') return 'cmyk';
  if (meta.space === 'grey16' && meta.channels === 1) return 'grey16';
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
 * The route from the first bytes alone, for the formats where a few header bytes decide it (JPEG: CMYK has four
 * components; PNG: 16-bit gray is bit depth 16 with colour type 0; WebP is always 8-bit RGB(A); GIF always takes
 * the transparency fix-up). `undefined` (TIFF, AVIF, odd headers) means: ask sharp's `metadata()`.
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
      return bitDepth === 16 && colourType === 0 ? 'grey16' : 'rgb';
    }
    case 'webp':
      return 'rgb';
    case 'gif':
      return 'gif-alpha';
    default:
      return undefined;
  }
}
