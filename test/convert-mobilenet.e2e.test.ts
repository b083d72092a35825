/**
 * End to end, as a user ships a PyTorch model: the shared mobilenet_v2 ImageNet checkpoint → convertCheckpoint →
 * validateModel → checkParity → @mtailor/core ImageClassifier on real images. The seed's test images must come
 * out as PyTorch says: tench → class 0, mud turtle → class 35.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ConvertResult, checkParity, convertCheckpoint, validateModel } from '@mtailor/converter-bridge';
import { ImageClassifier } from '@mtailor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTorch, python, shared } from './support/shared-data.js';

const torchOk = hasTorch();

interface Reference {
  images: Record<string, { top5: number[]; probs: number[] }>;
}

describe.skipIf(!torchOk)('PyTorch checkpoint → ONNX → @mtailor/core classification', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mtailor-e2e-convert-'));
  let converted: ConvertResult;
  let classifier: ImageClassifier;
  const reference = JSON.parse(
    readFileSync(shared.reference('torch_mobilenet_v2_float.json'), 'utf8'),
  ) as Reference;

  beforeAll(async () => {
    converted = await convertCheckpoint({
      arch: 'mobilenet_v2',
      weights: shared.mobilenetWeights,
      out: path.join(dir, 'mobilenet_v2.onnx'),
      python,
    });
    classifier = await ImageClassifier.create({ model: converted.modelPath });
  });
  afterAll(async () => {
    await classifier?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the converted model is valid and matches PyTorch on its parity vectors', async () => {
    const report = await validateModel(converted.modelPath, {
      inputShape: [1, 3, 224, 224],
      numClasses: 1000,
    });
    expect(report.errors).toEqual([]);
    const parity = await checkParity(converted.modelPath, converted.parityFile!);
    expect(parity.ok).toBe(true);
  });

  for (const [image, index, label] of [
    [shared.tench, 0, 'tench'],
    [shared.mudTurtle, 35, 'mud turtle'],
  ] as const) {
    it(`${path.basename(image)} → class ${index} (${label}), as PyTorch`, async () => {
      const { predictions } = await classifier.classify(image, { topK: 5 });
      expect(predictions[0]).toMatchObject({ index, label });
      const ref = reference.images[path.basename(image)]!;
      expect(ref.top5[0]).toBe(index);
      expect(predictions[0]!.probability).toBeCloseTo(ref.probs[0]!, 2);
    });
  }
});
