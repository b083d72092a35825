/**
 * The addon, or `undefined` when it was not built (see build.mjs): callers fall back to their general decoder.
 * @module
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function load() {
  if (process.env.MTAILOR_NATIVE_JPEG === '0') return undefined;
  try {
    return require('./build/Release/jpeg_rgb.node');
  } catch {
    return undefined;
  }
}

/** @type {import('./index.d.ts').NativeJpeg | undefined} */
export const nativeJpeg = load();
