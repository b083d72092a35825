/**
 * The defaults of `ImageClassifierOptions` that a caller configuring a classifier from elsewhere (the server's
 * environment variables) shows or falls back to, so that the numbers live here only.
 * @module
 */

/**
 * Defaults of the classifier's batching options: `maxBatchSize` (most images per onnxruntime call), `maxDelayMs`
 * (longest an image waits for others to join its batch) and `maxQueue` (most images in progress before
 * `OVERLOADED`).
 *
 * @example
 * ```ts
 * import { CLASSIFIER_DEFAULTS } from '@mtailor/core';
 * const maxBatchSize = Number(process.env.MAX_BATCH ?? CLASSIFIER_DEFAULTS.maxBatchSize); // 8
 * ```
 */
export const CLASSIFIER_DEFAULTS = {
  maxBatchSize: 8,
  maxDelayMs: 2,
  maxQueue: 512,
} as const;
