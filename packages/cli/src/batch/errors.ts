/**
 * The typed errors of `mtailor classify --out`, each with a stable `code`, and the exit codes they map to.
 * @module
 */

/** Exit code when more inputs failed than `--max-errors` allows: the shard's output is not published. */
export const EXIT_TOO_MANY_ERRORS = 3;

/** Stable codes of {@link BatchError}. */
export type BatchErrorCode =
  /** `--shard` is not `<i>/<n>` with `0 ≤ i < n`. */
  | 'SHARD_SPEC'
  /** The engines' environment variables are incomplete, malformed or disagree. */
  | 'SHARD_ENV'
  /** `--inputs-from` cannot be read or holds a line that is neither a path nor an http(s) URL. */
  | 'INPUTS_FROM'
  /** The output folder holds work of another job (other inputs, shard count, model or options). */
  | 'PLAN_MISMATCH'
  /** The output folder cannot be written as the commit protocol needs (no hard links and no rename). */
  | 'OUTPUT_DIR';

/**
 * A batch run refused before it began or because its output folder disagrees with it; exits with the usage code
 * (2), which the Kubernetes Job's pod failure policy treats as "do not retry this index".
 *
 * @example
 * ```ts
 * try { parseShard('3/2'); } catch (err) { if (err instanceof BatchError) console.log(err.code); } // SHARD_SPEC
 * ```
 */
export class BatchError extends Error {
  readonly code: BatchErrorCode;
  constructor(code: BatchErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BatchError';
    this.code = code;
  }
}
