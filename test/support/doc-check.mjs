/**
 * The check that documentation examples run: a value printed in a comment (`console.log(x); // 0.9924`) must be
 * what the code gives, to the precision written. Plain JavaScript, no dependencies, so an example run in any
 * folder (the repository's scratch folder, or an app that installed the packed tarballs) can import it by URL.
 *
 * Rules, applied recursively through arrays and objects:
 * - a number written with d decimals matches when the value rounds to it at d decimals (0.9924 accepts
 *   0.99236…0.99244); `1.7e-5` counts the exponent (6 decimals); an integer must be equal;
 * - typed arrays compare as arrays; strings, booleans, null and undefined compare with `===`;
 * - an object must have exactly the keys written (no more, no fewer).
 * @module
 */
import { isDeepStrictEqual } from 'node:util';

/** Decimals a number was written with (its shortest representation; `1.7e-5` → 6). */
function decimals(n) {
  const [mantissa, exponent = '0'] = String(n).toLowerCase().split('e');
  const fraction = mantissa.split('.')[1] ?? '';
  return Math.max(0, fraction.length - Number(exponent));
}

/**
 * Whether `actual` is what `expected` shows.
 * @param {unknown} actual
 * @param {unknown} expected
 * @returns {boolean}
 */
export function printedMatch(actual, expected) {
  if (ArrayBuffer.isView(actual) && !(actual instanceof DataView)) actual = Array.from(actual);
  if (typeof expected === 'number') {
    if (typeof actual !== 'number') return false;
    if (Number.isInteger(expected)) return actual === expected;
    return Math.abs(actual - expected) <= 0.5 * 10 ** -decimals(expected) + 1e-12;
  }
  if (Array.isArray(expected))
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((e, i) => printedMatch(actual[i], e))
    );
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return false;
    const keys = Object.keys(expected);
    const actualKeys = Object.keys(actual);
    return (
      keys.length === actualKeys.length &&
      keys.every((k) => Object.hasOwn(actual, k) && printedMatch(actual[k], expected[k]))
    );
  }
  return isDeepStrictEqual(actual, expected);
}

/**
 * Throws when the value differs from the comment; counts the checks that passed.
 * @param {string} line - The example's line, for the message.
 * @param {unknown} actual
 * @param {unknown} expected
 */
export function check(line, actual, expected) {
  if (!printedMatch(actual, expected)) {
    const shown = JSON.stringify(ArrayBuffer.isView(actual) ? Array.from(actual) : actual);
    throw new Error(`example check failed: ${line} gave ${shown}`);
  }
  check.passed = (check.passed ?? 0) + 1;
}
