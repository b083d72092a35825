/**
 * The one check (and wording) of the positive-integer limits the server's building blocks take.
 * @module
 */

/**
 * Throws a `RangeError` naming `name` unless `value` is a positive safe integer.
 *
 * @example
 * ```ts
 * requirePositiveInteger('maxBytes', 0); // RangeError: Expected positive integer for maxBytes but received 0 …
 * ```
 */
export function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(
      `Expected positive integer for ${name} but received ${value} of type ${typeof value}`,
    );
  }
}
