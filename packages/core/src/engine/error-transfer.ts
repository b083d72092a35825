/**
 * Errors across thread boundaries and from other libraries, as `@mtailor/core`'s typed errors.
 * @module
 */
import * as errors from '../errors.js';
import { InvalidOptionError, MtailorError, type MtailorErrorCode } from '../errors.js';

/** An error as plain data (what a worker posts back). */
export interface ErrorData {
  code: MtailorErrorCode;
  name: string;
  message: string;
}

let classes: Map<string, new (message: string) => MtailorError> | undefined;

/** The error class for each code, found among `errors.ts`' exports (so added classes are picked up). */
function classByCode(): Map<string, new (message: string) => MtailorError> {
  if (!classes) {
    classes = new Map();
    for (const value of Object.values(errors)) {
      if (typeof value !== 'function' || !(value.prototype instanceof MtailorError)) continue;
      const Class = value as new (message: string) => MtailorError;
      classes.set(new Class('probe').code, Class);
    }
  }
  return classes;
}

/** `err` as plain data for `postMessage`. */
export function toErrorData(err: unknown): ErrorData {
  const typed = toMtailorError(err);
  return { code: typed.code, name: typed.name, message: typed.message };
}

/** Rebuilds the typed error (same class, code and message) from {@link ErrorData}. */
export function fromErrorData(data: ErrorData): MtailorError {
  const Class = classByCode().get(data.code);
  const err = new MtailorError(data.code, data.message);
  if (Class) {
    Object.setPrototypeOf(err, Class.prototype);
    err.name = Class.name;
  }
  return err;
}

/**
 * `err` as an {@link MtailorError}: typed errors pass through; `@mtailor/preprocess`'s `PreprocessError` (a bad
 * recipe or option) becomes {@link InvalidOptionError}; anything else is reported as an `INFERENCE_FAILED` error
 * with the original as `cause`, so a caller switching on `code` always gets one.
 */
export function toMtailorError(err: unknown): MtailorError {
  if (err instanceof MtailorError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof Error && err.name === 'PreprocessError')
    return new InvalidOptionError(message, { cause: err });
  return new errors.InferenceError(message, { cause: err });
}
