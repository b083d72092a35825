/**
 * The `decode-workers` layout (every decode worker also loads the model and runs batches) on the real int8 model
 * and real images: the same scores as the default layout, as many batches at once as sessions, and the
 * combinations it cannot serve refused with INVALID_OPTION.
 */
import { ImageClassifier, ONNXModel } from '@mtailor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shared, sharedImages } from '../../../test/support/shared-data.js';
import { MicroBatcher } from '../src/engine/micro-batcher.js';

describe("inferenceThread: 'decode-workers'", () => {
  let pipelined: ImageClassifier;
  let split: ImageClassifier;
  beforeAll(async () => {
    pipelined = await ImageClassifier.create({
      model: shared.int8Model,
      workers: 2,
      inferenceThread: 'decode-workers',
      autoOrient: false,
      maxBatchSize: 4,
    });
    split = await ImageClassifier.create({ model: shared.int8Model, workers: 2, autoOrient: false });
  });
  afterAll(async () => {
    await pipelined.close();
    await split.close();
  });

  it('answers exactly what the default layout answers, on 40 real images', async () => {
    const files = sharedImages().slice(0, 40);
    const a = await pipelined.classifyBatch(files, { topK: 3, includeScores: true });
    const b = await split.classifyBatch(files, { topK: 3, includeScores: true });
    for (let i = 0; i < files.length; i++) {
      const x = a[i];
      const y = b[i];
      if (!x?.ok || !y?.ok) throw new Error(`image ${i} failed`);
      expect(x.scores).toEqual(y.scores);
      expect(x.predictions).toEqual(y.predictions);
    }
    expect(pipelined.inferenceThread).toBe('decode-workers');
    expect(pipelined.status().ready).toBe(true);
  });

  it('runs as many batches at once as sessions (maxRunning), never more', async () => {
    let running = 0;
    let most = 0;
    const run = async (batch: readonly number[]) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running -= 1;
      return { runMs: 5, size: batch.length };
    };
    const batcher = new MicroBatcher({ maxBatchSize: 2, maxDelayMs: 50, run, maxRunning: 2 });
    const results = await Promise.all(Array.from({ length: 12 }, (_, slot) => batcher.submit(slot)));
    expect(most).toBe(2);
    expect(results.map((r) => r.batchSize)).toEqual(Array(12).fill(2));
    most = 0;
    const single = new MicroBatcher({ maxBatchSize: 2, maxDelayMs: 50, run });
    await Promise.all(Array.from({ length: 12 }, (_, slot) => single.submit(slot)));
    expect(most).toBe(1);
  });

  it('refuses combinations it cannot serve', async () => {
    await expect(
      ImageClassifier.create({ model: shared.int8Model, workers: 0, inferenceThread: 'decode-workers' }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    const model = await ONNXModel.load(shared.int8Model);
    try {
      await expect(
        ImageClassifier.create({ model, inferenceThread: 'decode-workers' }),
      ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    } finally {
      model.dispose();
    }
  });
});
