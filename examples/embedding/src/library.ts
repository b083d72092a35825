/**
 * `@mtailor/core` as a plain library, no server: load a model once, classify files, get PyTorch-identical top-k.
 * @module
 */
import { ImageClassifier } from '@mtailor/core';

/** One file's answer. */
export interface FileClassification {
  file: string;
  classId: number;
  label: string;
  probability: number;
}

/**
 * Classifies image files with one model session (batched by the classifier).
 *
 * @example
 * ```ts
 * const results = await classifyFiles('mobilenet_v2_int8_qdq.onnx', ['tench.jpg', 'turtle.jpg']);
 * // [{ file: 'tench.jpg', classId: 0, label: 'tench', probability: 0.9924 }, …]
 * ```
 */
export async function classifyFiles(
  modelPath: string,
  files: readonly string[],
): Promise<FileClassification[]> {
  const classifier = await ImageClassifier.create({ model: modelPath, resize: 'exact' });
  try {
    const outcomes = await classifier.classifyBatch(files, { topK: 1 });
    return outcomes.map((outcome, i) => {
      const file = files[i] as string;
      if (!outcome.ok) throw outcome.error;
      const top = outcome.predictions[0];
      if (!top) throw new Error(`no prediction for ${file}`);
      return { file, classId: top.index, label: top.label, probability: top.probability };
    });
  } finally {
    await classifier.close();
  }
}
