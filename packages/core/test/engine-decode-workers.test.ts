/**
 * The `decode-workers` layout (every decode worker also loads the model and runs batches) on the real int8 model
 * and real images: the same scores as the default layout, as many batches at once as sessions, streams run in
 * chunks (a batch decoded and run by one thread) with each image's own outcome in input order, and the combinations
 * it cannot serve refused with INVALID_OPTION.
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

  it('streams paths and bytes in chunks: same answers, input order, a bad file fails alone', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-chunks-'));
    try {
      const files = sharedImages().slice(0, 21);
      const broken = path.join(dir, 'broken.jpg');
      writeFileSync(broken, readFileSync(files[0] as string).subarray(0, 300));
      const missing = path.join(dir, 'missing.jpg');
      // Paths, bytes (a view into a larger buffer), a stream (not chunked: it runs alone, in its place), bad files.
      const bytes = readFileSync(files[1] as string);
      const padded = new Uint8Array(bytes.length + 64);
      padded.set(bytes, 32);
      const inputs = [
        ...files.slice(0, 9),
        broken,
        padded.subarray(32, 32 + bytes.length),
        createReadStream(files[2] as string),
        missing,
        ...files.slice(9),
      ];
      const expected = [...files.slice(0, 9), 'broken', files[1], files[2], 'missing', ...files.slice(9)];
      const reference = new Map(
        (await split.classifyBatch(files, { topK: 3 })).map((r, i) => [
          files[i],
          r.ok ? r.predictions : r.error,
        ]),
      );
      const seen: number[] = [];
      const batchSizes = new Set<number>();
      for await (const item of pipelined.classifyStream(inputs, { topK: 3 })) {
        seen.push(item.index);
        const want = expected[item.index];
        if (want === 'broken') expect(item).toMatchObject({ ok: false, error: { code: 'INVALID_IMAGE' } });
        else if (want === 'missing')
          expect(item).toMatchObject({ ok: false, error: { code: 'IMAGE_READ_FAILED' } });
        else {
          if (!item.ok) throw new Error(`image ${item.index} failed: ${item.error.code}`);
          expect(item.predictions).toEqual(reference.get(want));
          batchSizes.add(item.timings.batchSize);
        }
      }
      expect(seen).toEqual(inputs.map((_, i) => i));
      // Chunks of maxBatchSize (4) minus the images that failed in them; the stream alone ran in a batch of its own.
      expect(Math.max(...batchSizes)).toBe(4);
      expect(pipelined.status().inProgress).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a stream abandoned early, and a close while chunks run, leave nothing hanging', async () => {
    const classifier = await ImageClassifier.create({
      model: shared.int8Model,
      workers: 2,
      inferenceThread: 'decode-workers',
      autoOrient: false,
      maxBatchSize: 4,
    });
    const files = sharedImages().slice(0, 40);
    let taken = 0;
    for await (const item of classifier.classifyStream(files, { topK: 1 })) {
      expect(item.ok).toBe(true);
      if (++taken === 3) break;
    }
    const stream = classifier.classifyStream(files, { topK: 1 });
    const first = await stream.next();
    expect(first.value?.ok).toBe(true);
    await classifier.close();
    const rest: string[] = [];
    for await (const item of stream) rest.push(item.ok ? 'ok' : item.error.code);
    // Every later image either finished before the close or was refused as shutting down; none is lost.
    expect(rest.length).toBe(files.length - 1);
    for (const r of rest) expect(['ok', 'SHUTTING_DOWN']).toContain(r);
    expect(classifier.status().state).toBe('closed');
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
