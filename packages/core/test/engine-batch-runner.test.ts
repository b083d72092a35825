/**
 * BatchRunner on the real float MobileNetV2: onnxruntime reads the batch tensor off the calling thread while it runs,
 * so a second run asked for meanwhile (a decode worker's next chunk) must wait instead of packing its images into the
 * same tensor — each run's scores are those of its own images.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shared } from '../../../test/support/shared-data.js';
import { BatchRunner } from '../src/engine/batch-runner.js';
import { ONNXModel } from '../src/model/onnx-model.js';

describe('BatchRunner', () => {
  let model: ONNXModel;
  beforeAll(async () => {
    model = await ONNXModel.load(shared.floatModel, { intraOpThreads: 1 });
  });
  afterAll(() => model.dispose());

  it('two runs asked for at once each score their own images', async () => {
    const per = model.inputElementsPerImage;
    const classes = model.numClasses;
    const slots = 16;
    const inputs = new Float32Array(slots * per);
    // Slots 0–7 and 8–15 hold different images: a ramp per slot, so every slot has its own scores.
    for (let s = 0; s < slots; s++)
      for (let i = 0; i < per; i++) inputs[s * per + i] = Math.sin((i % 997) * (s + 1) * 0.01) * 2;
    const alone = async (batch: number[]) => {
      const scores = new Float32Array(slots * classes);
      await new BatchRunner(model, inputs, scores, 8).run(batch);
      return scores;
    };
    const first = [0, 1, 2, 3, 4, 5, 6, 7];
    const second = [8, 9, 10, 11, 12, 13, 14, 15];
    const expected = await alone(first);
    const expectedSecond = await alone(second);
    const scores = new Float32Array(slots * classes);
    const runner = new BatchRunner(model, inputs, scores, 8);
    await Promise.all([runner.run(first), runner.run(second)]);
    expect(scores.subarray(0, 8 * classes)).toEqual(expected.subarray(0, 8 * classes));
    expect(scores.subarray(8 * classes)).toEqual(expectedSecond.subarray(8 * classes));
  });
});
