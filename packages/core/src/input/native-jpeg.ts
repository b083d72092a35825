/**
 * The JPEG fast path: libjpeg-turbo through `@mtailor/native-jpeg` (an optional dependency, built at install where a
 * compiler and libjpeg-turbo's headers exist). It decodes the common case — a gray or YCbCr/RGB JPEG with no EXIF
 * rotation to apply — to the same bytes as sharp and as PIL, without libvips' per-call pipeline, which costs more than
 * the JPEG decode itself on typical photos. Everything else (and every image on a machine without the addon) is
 * decoded by sharp as before, so the pixels never depend on which decoder ran.
 * @module
 */
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import type { NativeJpeg } from '@mtailor/native-jpeg';
import type { RawImage } from '@mtailor/preprocess';
import type { SharpDecodeSettings } from './sharp-input.js';

let addon: NativeJpeg | undefined;
try {
  // Required, not imported: the package is optional (an install without it must still load), and a top-level await
  // would stop `require('@mtailor/core')` (Node's require(esm) refuses asynchronous module graphs).
  ({ nativeJpeg: addon } = createRequire(import.meta.url)('@mtailor/native-jpeg') as {
    nativeJpeg: NativeJpeg | undefined;
  });
} catch {
  addon = undefined;
}

/** Whether JPEGs are decoded by libjpeg-turbo directly here (else by sharp). */
export const nativeJpegAvailable: boolean = addon !== undefined;

/**
 * A JPEG's pixels from libjpeg-turbo, or `undefined` when the fast path does not decode it (no addon, CMYK, an EXIF
 * rotation to apply, over `maxPixels`, any libjpeg warning): then sharp must. Synchronous in a worker thread (a
 * decode worker has nothing else to do meanwhile); on libuv's pool from the main thread, whose event loop must not
 * wait for it.
 */
export async function decodeJpegNatively(
  bytes: Uint8Array,
  settings: SharpDecodeSettings,
): Promise<RawImage | undefined> {
  if (!addon) return undefined;
  const pixels = isMainThread
    ? await addon.decodeJpegRgb(bytes, settings.maxPixels, settings.autoOrient)
    : addon.decodeJpegRgbSync(bytes, settings.maxPixels, settings.autoOrient);
  return pixels ? { data: pixels.data, width: pixels.width, height: pixels.height, channels: 3 } : undefined;
}
