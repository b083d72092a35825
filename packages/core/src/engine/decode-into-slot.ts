/**
 * One decode, the same on the calling thread and in a decode worker: an encoded image (path, bytes or base64) →
 * `ImagePreprocessor` → tensor written into a slot's memory.
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { PreprocessRecipe } from '@mtailor/preprocess';
import { decodeBase64Image } from '../input/base64.js';
import {
  DEFAULT_MAX_INPUT_BYTES,
  ImagePreprocessor,
  type ResizeEngine,
} from '../input/image-preprocessor.js';
import { readImageFileSync } from '../input/read-image-bytes.js';
import type { DecodeTimings, EncodedImage } from './executors.js';

/** How images are decoded and preprocessed, as plain data (what decode workers are started with). */
export interface DecodeSettings {
  /** The recipe, already resolved against the model (size and tensor layout). */
  recipe: PreprocessRecipe;
  resize: ResizeEngine;
  autoOrient: boolean;
  maxInputBytes: number | undefined;
  maxPixels: number | undefined;
}

/** The preprocessor for `settings`. */
export function createPreprocessor(settings: DecodeSettings): ImagePreprocessor {
  const { recipe, resize, autoOrient, maxInputBytes, maxPixels } = settings;
  return new ImagePreprocessor({
    recipe,
    resize,
    autoOrient,
    ...(maxInputBytes === undefined ? {} : { maxInputBytes }),
    ...(maxPixels === undefined ? {} : { maxPixels }),
  });
}

/**
 * Decodes and preprocesses `image` into `out` at element `offset`. With `syncFileReads`, a path is read on this
 * thread (an engine worker, which has nothing else to do meanwhile) instead of through libuv's thread pool.
 *
 * @throws the image's typed error: `InvalidInputError` (bad base64), `UnsupportedImageError`, `InvalidImageError`
 *   (also for empty bytes), `ImageTooLargeError`, `ImageReadError`.
 */
export async function decodeIntoSlot(
  preprocessor: ImagePreprocessor,
  image: EncodedImage,
  out: Float32Array,
  offset: number,
  { syncFileReads = false }: { syncFileReads?: boolean } = {},
): Promise<DecodeTimings> {
  let input: string | Uint8Array;
  let base64Ms = 0;
  let readMs = 0;
  const maxInputBytes = preprocessor.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES;
  if (typeof image === 'string' && syncFileReads) {
    const t0 = performance.now();
    input = readImageFileSync(image, maxInputBytes);
    readMs = performance.now() - t0;
  } else if (typeof image === 'string' || image instanceof Uint8Array) {
    input = image;
  } else {
    const t0 = performance.now();
    input = decodeBase64Image(image.base64, maxInputBytes, image.field);
    base64Ms = performance.now() - t0;
  }
  const { timings } = await preprocessor.process(input, { out, offset });
  return {
    readMs: readMs + timings.readMs,
    decodeMs: base64Ms + timings.decodeMs,
    preprocessMs: timings.preprocessMs,
  };
}
