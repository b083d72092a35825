/**
 * Typed errors of the browser example's static server.
 * @module
 */

/**
 * Stable codes of every error the server throws.
 *
 * @example
 * ```ts
 * const code: BrowserServerErrorCode = 'MODEL_NOT_FOUND';
 * ```
 */
export type BrowserServerErrorCode = 'INVALID_OPTION' | 'MODEL_NOT_FOUND' | 'ASSET_NOT_FOUND';

/**
 * An error of the static server, with a stable machine-readable `code`.
 *
 * @example
 * ```ts
 * import { BrowserServerError, startServer } from '@mtailor/example-browser';
 * try {
 *   await startServer({ port: -1 });
 * } catch (err) {
 *   if (err instanceof BrowserServerError) console.error(err.code); // 'INVALID_OPTION'
 * }
 * ```
 */
export class BrowserServerError extends Error {
  /** Stable machine-readable code. */
  readonly code: BrowserServerErrorCode;
  constructor(code: BrowserServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'BrowserServerError';
  }
}
