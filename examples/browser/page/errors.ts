/**
 * Typed errors of the in-browser classifier.
 * @module
 */

/**
 * Stable codes of every error the page's classifier throws.
 *
 * @example
 * ```ts
 * const code: ClassifyErrorCode = 'UNSUPPORTED_IMAGE';
 * ```
 */
export type ClassifyErrorCode =
  | 'INVALID_OPTION'
  | 'UNSUPPORTED_IMAGE'
  | 'INVALID_IMAGE'
  | 'IMAGE_TOO_LARGE'
  | 'MODEL_LOAD_FAILED'
  | 'MODEL_SHAPE'
  | 'INFERENCE_FAILED';

/**
 * An error of the in-browser classifier, with a stable machine-readable `code` (the same codes as
 * `@mtailor/core` where the meaning is the same).
 *
 * @example
 * ```ts
 * try {
 *   await mtailor.classify(new Uint8Array([1, 2, 3]));
 * } catch (err) {
 *   if (err instanceof ClassifyError) console.log(err.code); // 'UNSUPPORTED_IMAGE'
 * }
 * ```
 */
export class ClassifyError extends Error {
  /** Stable machine-readable code. */
  readonly code: ClassifyErrorCode;
  constructor(code: ClassifyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'ClassifyError';
  }
}

/**
 * The value and its `typeof`, for messages in sharp's form ("… but received -1 of type number").
 *
 * @example
 * ```ts
 * describe(-1); // '-1 of type number'
 * ```
 */
export function describe(value: unknown): string {
  const shown = typeof value === 'string' ? value : Array.isArray(value) ? '[array]' : String(value);
  return `${shown.length > 60 ? `${shown.slice(0, 60)}…` : shown} of type ${typeof value}`;
}
