'use strict';
/**
 * The addon, or `undefined` when it was not built (see build.mjs): callers fall back to their general decoder.
 * CommonJS, so that an ES module can load it synchronously (`createRequire`) without a top-level await, which would
 * stop `require()` of its importers.
 */

function load() {
  if (process.env.MTAILOR_NATIVE_JPEG === '0') return undefined;
  try {
    return require('./build/Release/jpeg_rgb.node');
  } catch {
    return undefined;
  }
}

/** @type {import('./index.d.ts').NativeJpeg | undefined} */
exports.nativeJpeg = load();
