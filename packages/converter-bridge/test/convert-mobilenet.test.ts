/**
 * torchvision mobilenet_v2 with the real ImageNet weights (../shared/models/mobilenet_v2_imagenet.pth) → ONNX,
 * parity vectors from real images with torchvision preprocessing → valid, and onnxruntime matches PyTorch.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  type ConvertResult,
  checkParity,
  convertCheckpoint,
  readParityVectors,
  validateModel,
} from '@mtailor/converter-bridge';
import { beforeAll, expect, it } from 'vitest';
import { python, shared } from '../../../test/support/shared-data.js';
import { describeWithTorch, tempDir } from './support/torch-suite.js';

describeWithTorch('mobilenet_v2 with the shared ImageNet weights', () => {
  const dir = tempDir('mtailor-mobilenet-');
  let result: ConvertResult;
  const images = [shared.tench, shared.mudTurtle, shared.image('n02096051_Airedale.JPEG')]; // last one is grayscale

  beforeAll(async () => {
    result = await convertCheckpoint({
      arch: 'mobilenet_v2',
      weights: shared.mobilenetWeights,
      out: path.join(dir, 'mobilenet_v2.onnx'),
      calibrationImages: images,
      python,
    });
  });

  it('exports a valid 1000-class model with a dynamic batch', async () => {
    expect(result).toMatchObject({ opset: 17, numClasses: 1000, inputShape: ['batch', 3, 224, 224] });
    const report = await validateModel(result.modelPath, { inputShape: [1, 3, 224, 224], numClasses: 1000 });
    expect(report).toMatchObject({ ok: true, errors: [], warnings: [] });
    expect(report.model!.producer.name).toBe('pytorch');
    expect(report.model!.initializerBytes).toBeGreaterThan(13_000_000);
  });

  it('the parity logits are the shared PyTorch reference (same preprocessing, same model)', async () => {
    const vectors = await readParityVectors(result.parityFile!);
    expect(vectors.meta.source).toMatchObject({ kind: 'images', images });
    expect((vectors.meta.top1 as number[]).slice(0, 2)).toEqual([0, 35]); // tench, mud turtle
    const reference = JSON.parse(readFileSync(shared.reference('torch_mobilenet_v2_float.json'), 'utf8')) as {
      images: Record<string, { top5: number[]; logits: number[] }>;
    };
    const classes = vectors.logitsShape[1]!;
    for (const [i, image] of images.entries()) {
      const ref = reference.images[path.basename(image)]!;
      const logits = vectors.logits.subarray(i * classes, (i + 1) * classes);
      ref.top5.forEach((cls, k) => {
        expect(logits[cls]).toBeCloseTo(ref.logits[k]!, 3);
      });
    }
  });

  it('onnxruntime reproduces the PyTorch logits within 1e-4 with the same top-1', async () => {
    const parity = await checkParity(result.modelPath, result.parityFile!);
    expect(parity.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(parity.referenceScale).toBeGreaterThan(10); // trained logits (tench: 16.6), so 1e-4 is a real bound
    expect(parity.perSample.map((s) => s.top1Onnx).slice(0, 2)).toEqual([0, 35]);
    expect(parity.ok).toBe(true);
  });
});
