/**
 * Logits → probabilities → top-k predictions.
 * @module
 */

/**
 * Numerically stable softmax of `scores[offset … offset + length)`: subtracts the maximum before `exp` (so large
 * logits cannot overflow to `Infinity`) and sums in float64.
 *
 * @example
 * ```ts
 * softmax(new Float32Array([1000, 1000])); // [0.5, 0.5] (a Float64Array)
 * ```
 */
export function softmax(
  scores: ArrayLike<number>,
  offset = 0,
  length = scores.length - offset,
): Float64Array {
  const out = new Float64Array(length);
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < length; i++) {
    const v = scores[offset + i]!;
    if (v > max) max = v;
  }
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const e = Math.exp(scores[offset + i]! - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < length; i++) out[i]! /= sum;
  return out;
}

/**
 * Whether a row of scores already is a probability distribution (every value in [0, 1], sum within 1e-3 of 1).
 * Logits practically never pass: they are unbounded and negative for most classes.
 *
 * @example
 * ```ts
 * looksLikeProbabilities([0.7, 0.2, 0.1]); // true
 * looksLikeProbabilities([2.3, -1.0, 0.4]); // false
 * ```
 */
export function looksLikeProbabilities(
  scores: ArrayLike<number>,
  offset = 0,
  length = scores.length - offset,
): boolean {
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const v = scores[offset + i]!;
    if (!(v >= 0 && v <= 1)) return false;
    sum += v;
  }
  return Math.abs(sum - 1) <= 1e-3;
}

/**
 * Indices of the `k` largest values, largest first; equal values are ordered by lower index first (so int8
 * models, whose logits often tie, give a deterministic answer). NaN ranks below every number.
 *
 * @example
 * ```ts
 * topK([0.1, 0.7, 0.7, 0.2], 2); // [1, 2]
 * ```
 */
export function topK(
  values: ArrayLike<number>,
  k: number,
  offset = 0,
  length = values.length - offset,
): number[] {
  const n = Math.min(k, length);
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < length; i++) {
    let v = values[offset + i]!;
    if (Number.isNaN(v)) v = Number.NEGATIVE_INFINITY;
    // Strictly greater than the current k-th: an equal value at a higher index never displaces a lower one.
    if (idx.length === n && !(v > val[n - 1]!)) continue;
    let pos = idx.length === n ? n - 1 : idx.length;
    while (pos > 0 && v > val[pos - 1]!) {
      idx[pos] = idx[pos - 1]!;
      val[pos] = val[pos - 1]!;
      pos--;
    }
    idx[pos] = i;
    val[pos] = v;
  }
  return idx;
}
