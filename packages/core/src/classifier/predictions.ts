/**
 * Logits → predictions: softmax (unless the model already outputs probabilities), top-k, labels.
 * @module
 */
import { looksLikeProbabilities, softmax, topK } from './softmax.js';

/** One predicted class. */
export interface Prediction {
  /** Class index (row of the model's output). */
  index: number;
  /** Class label, or `'class <index>'` when the classifier has no labels. */
  label: string;
  /** Probability in [0, 1]. */
  probability: number;
}

/** Milliseconds spent per stage for one image. */
export interface ClassifyTimings {
  /** Reading the input and decoding it to pixels. */
  decodeMs: number;
  /** Resize, crop and tensor conversion. */
  preprocessMs: number;
  /** The onnxruntime call, divided by the number of images it ran (batches share the cost). */
  inferenceMs: number;
  /** From the start of this image's work to its predictions. */
  totalMs: number;
}

/** What {@link ImageClassifier.classify} returns for one image. */
export interface ClassifyResult {
  /** The `topK` most probable classes, most probable first; equal probabilities ordered by lower index. */
  predictions: Prediction[];
  timings: ClassifyTimings;
}

/** Whether to apply softmax to the model's output: `'auto'` detects outputs that already are probabilities. */
export type SoftmaxMode = 'auto' | boolean;

/**
 * Turns row `row` of a `[N, C]` score matrix into the top-k predictions.
 *
 * @example
 * ```ts
 * toPredictions(new Float32Array([1, 3, 2]), 0, 3, 2, ['a', 'b', 'c'], 'auto');
 * // [{ index: 1, label: 'b', probability: 0.665 }, { index: 2, label: 'c', probability: 0.245 }]
 * ```
 */
export function toPredictions(
  scores: Float32Array,
  row: number,
  numClasses: number,
  k: number,
  labels: readonly string[] | undefined,
  mode: SoftmaxMode,
): Prediction[] {
  const offset = row * numClasses;
  const apply = mode === 'auto' ? !looksLikeProbabilities(scores, offset, numClasses) : mode;
  // Ranking on the raw scores equals ranking on their softmax (monotonic), and keeps ties exact.
  const best = topK(scores, k, offset, numClasses);
  const probs = apply ? softmax(scores, offset, numClasses) : undefined;
  return best.map((index) => ({
    index,
    label: labels?.[index] ?? `class ${index}`,
    probability: probs ? probs[index]! : scores[offset + index]!,
  }));
}
