/**
 * The k-fold split of calibration images (what `quantizeModel` cross-validates on), apart from the cross-validation
 * itself so that the public entry points reach it without the quantizer's graph machinery.
 * @module
 */

/** Default number of cross-validation folds (`folds` of `quantizeModel`, `--folds` of `mtailor quantize`). */
export const DEFAULT_FOLDS = 2;

/** One fold of {@link crossValidationFolds}: the items it holds out, and the ones it calibrates on. */
export interface Fold<T> {
  /** Items measured on (every `folds`-th item, starting at the fold's number). */
  heldOut: T[];
  /** The other items. */
  calibration: T[];
}

/**
 * The deterministic k-fold split of a list: item `i` is held out by fold `i % folds`. With 2 folds and a sorted
 * folder: fold 0 holds out the even-numbered images (calibrating on the odd ones), fold 1 the odd-numbered ones.
 * Interleaving keeps every part of a folder sorted by class in every fold.
 *
 * @example
 * ```ts
 * crossValidationFolds(['a', 'b', 'c'], 2);
 * // [{ heldOut: ['a', 'c'], calibration: ['b'] }, { heldOut: ['b'], calibration: ['a', 'c'] }]
 * ```
 */
export function crossValidationFolds<T>(items: readonly T[], folds: number): Fold<T>[] {
  return Array.from({ length: folds }, (_, f) => ({
    heldOut: items.filter((_, i) => i % folds === f),
    calibration: items.filter((_, i) => i % folds !== f),
  }));
}
