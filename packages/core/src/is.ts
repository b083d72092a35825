/**
 * Option checks in one message form, after sharp's `lib/is.js`:
 * "Expected positive integer for topK but received -1 of type number".
 * @module
 */
import { InvalidOptionError } from './errors.js';

/** True for a value that is neither `undefined` nor `null`. */
export const defined = <T>(value: T | undefined | null): value is T => value !== undefined && value !== null;

/** True for a finite number. */
export const number = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/** True for an integer. */
export const integer = (value: unknown): value is number => Number.isInteger(value);

/** True for an integer ≥ 1. */
export const positiveInteger = (value: unknown): value is number => integer(value) && (value as number) >= 1;

/** True for an integer within [min, max]. */
export const inRange = (value: unknown, min: number, max: number): value is number =>
  number(value) && value >= min && value <= max;

/** True for a boolean. */
export const bool = (value: unknown): value is boolean => typeof value === 'boolean';

/** True for a non-empty string. */
export const nonEmptyString = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0;

/** True for a plain object (not an array, not null). */
export const plainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** True when `value` is one of `allowed`. */
export const oneOf = <T extends string>(value: unknown, allowed: readonly T[]): value is T =>
  typeof value === 'string' && (allowed as readonly string[]).includes(value);

/**
 * The error for an invalid option, in the one message form.
 *
 * @example
 * ```ts
 * if (!is.positiveInteger(topK)) throw is.invalidParameterError('topK', 'positive integer', topK);
 * // InvalidOptionError: Expected positive integer for topK but received -1 of type number
 * ```
 */
export function invalidParameterError(name: string, expected: string, actual: unknown): InvalidOptionError {
  const shown = typeof actual === 'string' ? JSON.stringify(actual) : String(actual);
  return new InvalidOptionError(
    `Expected ${expected} for ${name} but received ${shown} of type ${typeof actual}`,
  );
}
