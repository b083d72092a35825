/**
 * Option checks in sharp's message form ("Expected positive integer for width but received -1 of type number").
 * An own copy (not `@mtailor/core`'s) so that this package keeps zero dependencies.
 * @module
 */
import { PreprocessError, type PreprocessErrorCode } from './errors.js';

/**
 * True for a value that is neither `undefined` nor `null`.
 *
 * @example
 * ```ts
 * is.defined(0); // true — is.defined(undefined) and is.defined(null) are false
 * ```
 */
export const defined = <T>(value: T | undefined | null): value is T => value !== undefined && value !== null;

/**
 * True for a finite number.
 *
 * @example
 * ```ts
 * is.number(1.5); // true — is.number(NaN) is false
 * ```
 */
export const number = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/**
 * True for an integer ≥ 1.
 *
 * @example
 * ```ts
 * is.positiveInteger(224); // true — 0, -1 and 2.5 are not
 * ```
 */
export const positiveInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1;

/**
 * True for an integer ≥ 0.
 *
 * @example
 * ```ts
 * is.nonNegativeInteger(0); // true
 * ```
 */
export const nonNegativeInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0;

/**
 * True for a plain object (not an array, not null).
 *
 * @example
 * ```ts
 * is.plainObject({}); // true — null and [] are not
 * ```
 */
export const plainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * True when `value` is one of `allowed`.
 *
 * @example
 * ```ts
 * is.oneOf('NCHW', ['NCHW', 'NHWC']); // true
 * ```
 */
export const oneOf = <T extends string>(value: unknown, allowed: readonly T[]): value is T =>
  typeof value === 'string' && (allowed as readonly string[]).includes(value);

/** How a received value is shown in a message: strings quoted, arrays and objects as short JSON. */
function show(actual: unknown): string {
  if (typeof actual === 'string') return JSON.stringify(actual);
  if (ArrayBuffer.isView(actual)) return `${actual.constructor.name}(${(actual as Uint8Array).length})`;
  if (Array.isArray(actual) || plainObject(actual)) {
    let text: string;
    try {
      text = JSON.stringify(actual);
    } catch {
      text = Object.prototype.toString.call(actual);
    }
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  }
  return String(actual);
}

/** `typeof`, except that arrays and null say so. */
function typeName(actual: unknown): string {
  if (actual === null) return 'null';
  if (Array.isArray(actual)) return 'array';
  return typeof actual;
}

/**
 * The error for an invalid parameter, in the one message form.
 *
 * @example
 * ```ts
 * if (!is.positiveInteger(width)) throw is.invalidParameterError('width', 'positive integer', width);
 * // PreprocessError [INVALID_OPTION]: Expected positive integer for width but received -1 of type number
 * ```
 */
export function invalidParameterError(
  name: string,
  expected: string,
  actual: unknown,
  code: PreprocessErrorCode = 'INVALID_OPTION',
): PreprocessError {
  return new PreprocessError(
    code,
    `Expected ${expected} for ${name} but received ${show(actual)} of type ${typeName(actual)}`,
  );
}
