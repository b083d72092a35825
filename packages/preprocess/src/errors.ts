/**
 * The one error class of `@mtailor/preprocess`, with a stable machine-readable `code`.
 * @module
 */

/**
 * Stable codes of every error `@mtailor/preprocess` throws:
 * - `INVALID_IMAGE_BUFFER`: a {@link RawImage} is malformed (data type or length, width, height, channels);
 * - `INVALID_OPTION`: an option of a function call is missing, of the wrong type or out of range;
 * - `INVALID_RECIPE`: a {@link PreprocessRecipe} (or a preset name) is not valid;
 * - `CHANNELS_MISMATCH`: the image has a channel count the operation cannot take (e.g. a tensor from RGBA);
 * - `SIZE_MISMATCH`: images that must share one size do not (batching).
 *
 * @example
 * ```ts
 * if (err instanceof PreprocessError && err.code === 'INVALID_RECIPE') showRecipeHelp();
 * ```
 */
export type PreprocessErrorCode =
  | 'INVALID_IMAGE_BUFFER'
  | 'INVALID_OPTION'
  | 'INVALID_RECIPE'
  | 'CHANNELS_MISMATCH'
  | 'SIZE_MISMATCH';

/**
 * Error thrown by every function of `@mtailor/preprocess` on bad input. Never a NaN tensor, never a silent fix.
 *
 * @example
 * ```ts
 * import { resize, PreprocessError } from '@mtailor/preprocess';
 * try {
 *   resize(image, { width: -1, height: 224 });
 * } catch (err) {
 *   if (err instanceof PreprocessError) console.error(err.code, err.message);
 *   // INVALID_OPTION Expected positive integer for width but received -1 of type number
 * }
 * ```
 */
export class PreprocessError extends Error {
  /** Stable machine-readable code. */
  readonly code: PreprocessErrorCode;
  constructor(code: PreprocessErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'PreprocessError';
  }
}
