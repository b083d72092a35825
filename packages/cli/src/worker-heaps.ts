/**
 * V8 heap sizes for the engine's worker threads, which decode and classify whole batches. Each image leaves a few
 * short-lived objects (its result, timings, promises) that outlive V8's default young generation within a batch,
 * get promoted, and set off a full mark-compact every hundred images or so; with a 16 MB young generation and a
 * 128 MB initial old generation a thousand images take two or three. Only `mtailor` sets them: they are V8 flags of
 * the whole process (a library embedded in someone's service must not change those), read when an isolate is
 * created — so they reach the workers started after this call, not the main thread.
 * @module
 */
import { setFlagsFromString } from 'node:v8';

/** MB of each semi-space of a new isolate's young generation (V8's default starts at 1). */
export const WORKER_SEMI_SPACE_MB = 16;
/** MB of a new isolate's old generation before its first full collection is due. */
export const WORKER_INITIAL_OLD_SPACE_MB = 128;

/**
 * Sizes the heaps of the worker threads this process starts from now on.
 *
 * @example
 * ```ts
 * sizeWorkerHeaps();
 * const classifier = await ImageClassifier.create({ model, workers: 2, inferenceThread: 'decode-workers' });
 * ```
 */
export function sizeWorkerHeaps(): void {
  setFlagsFromString(`--min-semi-space-size=${WORKER_SEMI_SPACE_MB}`);
  setFlagsFromString(`--initial-old-space-size=${WORKER_INITIAL_OLD_SPACE_MB}`);
}
