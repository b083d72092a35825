/**
 * Which image format some bytes are, from their signature ("magic bytes") alone — decided before any decoder sees
 * the bytes, so only the formats we support ever reach libvips (its SVG, PDF and raw-`vips` loaders never run on
 * user input).
 * @module
 */
import { InvalidImageError, UnsupportedImageError } from '../errors.js';

/**
 * The image formats `ImagePreprocessor` decodes.
 *
 * @example
 * ```ts
 * const format: ImageFormat = detectImageFormat(bytes); // 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif'
 * ```
 */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif';

/**
 * All supported formats, in the order they are documented.
 *
 * @example
 * ```ts
 * SUPPORTED_IMAGE_FORMATS.includes('gif'); // true
 * ```
 */
export const SUPPORTED_IMAGE_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'];

const SUPPORTED_LIST = 'JPEG, PNG, WebP, GIF, TIFF or AVIF';

function ascii(bytes: Uint8Array, start: number, length: number): string {
  let s = '';
  for (let i = start; i < start + length && i < bytes.length; i++) s += String.fromCharCode(bytes[i] ?? 0);
  return s;
}

function startsWith(bytes: Uint8Array, signature: readonly number[], at = 0): boolean {
  if (bytes.length < at + signature.length) return false;
  return signature.every((b, i) => bytes[at + i] === b);
}

/** Brands of an ISO-BMFF `ftyp` box (major brand + compatible brands), or `undefined` without one. */
function isoBrands(bytes: Uint8Array): string[] | undefined {
  if (bytes.length < 12 || ascii(bytes, 4, 4) !== 'ftyp') return undefined;
  const boxSize =
    ((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0);
  const end = Math.min(bytes.length, boxSize >>> 0 || bytes.length);
  const brands = [ascii(bytes, 8, 4)];
  for (let at = 16; at + 4 <= end; at += 4) brands.push(ascii(bytes, at, 4));
  return brands;
}

/** Names of well-known formats we refuse, for a helpful message. */
function describeUnsupported(bytes: Uint8Array): string | undefined {
  const head = ascii(bytes, 0, 256)
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (/^<(\?xml|svg|!DOCTYPE svg)/i.test(head) && /<svg/i.test(ascii(bytes, 0, 4096))) {
    return 'an SVG (vector) image; SVG is not decoded because rendering it can fetch external resources and its pixels depend on the renderer — rasterise it to PNG first';
  }
  if (head.startsWith('%PDF')) return 'a PDF document';
  if (startsWith(bytes, [0x42, 0x4d])) return 'a BMP image';
  if (startsWith(bytes, [0x00, 0x00, 0x01, 0x00])) return 'an ICO image';
  if (startsWith(bytes, [0x38, 0x42, 0x50, 0x53])) return 'a Photoshop (PSD) file';
  if (startsWith(bytes, [0xff, 0x0a]) || ascii(bytes, 4, 4) === 'JXL ') return 'a JPEG XL image';
  if (ascii(bytes, 4, 8) === 'jP  \r\n\x87\n' || startsWith(bytes, [0xff, 0x4f, 0xff, 0x51])) {
    return 'a JPEG 2000 image';
  }
  const brands = isoBrands(bytes);
  if (brands !== undefined) {
    if (brands.some((b) => ['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx'].includes(b))) {
      return 'a HEIC (HEVC-coded HEIF) image; the bundled libvips decodes AVIF but not HEVC';
    }
    return `an ISO media file (brands ${brands.join(', ')})`;
  }
  if (/^P[1-7]\s/.test(ascii(bytes, 0, 3))) return 'a PNM/PAM image';
  if (startsWith(bytes, [0x08, 0xf2, 0xa6, 0xb6]) || startsWith(bytes, [0xb6, 0xa6, 0xf2, 0x08])) {
    return 'a libvips native (.v) image';
  }
  // Mostly printable ASCII/UTF-8 in the first bytes: text (JSON, HTML, CSV, base64, …).
  const sample = bytes.subarray(0, 512);
  let printable = 0;
  for (const b of sample)
    if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 128) printable++;
  if (printable === sample.length) {
    return /^[A-Za-z0-9+/=\s]+$/.test(ascii(bytes, 0, 512))
      ? 'text (base64? decode it to bytes first)'
      : 'text, not an image';
  }
  return undefined;
}

/**
 * The supported image format of `bytes` from its signature.
 *
 * @throws {InvalidImageError} empty bytes.
 * @throws {UnsupportedImageError} anything that is not a {@link SUPPORTED_IMAGE_FORMATS} signature (SVG, PDF, BMP,
 *   HEIC, text, …), with what it looks like when known.
 *
 * @example
 * ```ts
 * detectImageFormat(await readFile('cat.jpg')); // 'jpeg'
 * ```
 */
export function detectImageFormat(bytes: Uint8Array): ImageFormat {
  if (bytes.length === 0) throw new InvalidImageError('The image is empty (0 bytes)');
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  const head6 = ascii(bytes, 0, 6);
  if (head6 === 'GIF87a' || head6 === 'GIF89a') return 'gif';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'webp';
  // Classic and BigTIFF, both byte orders.
  if (
    startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) ||
    startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]) ||
    startsWith(bytes, [0x49, 0x49, 0x2b, 0x00]) ||
    startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2b])
  ) {
    return 'tiff';
  }
  const brands = isoBrands(bytes);
  if (brands?.includes('avif') || brands?.includes('avis')) return 'avif';
  const what = describeUnsupported(bytes);
  const firstBytes = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new UnsupportedImageError(
    what === undefined
      ? `Unsupported image format (first bytes: ${firstBytes}); expected ${SUPPORTED_LIST}`
      : `Unsupported image format: the input is ${what}; expected ${SUPPORTED_LIST}`,
  );
}
