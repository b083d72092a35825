/**
 * The engine under ImageClassifier, on the real int8 model and real images: concurrent calls share onnxruntime runs,
 * back-pressure refuses with OVERLOADED, close() drains and then refuses with SHUTTING_DOWN, every input kind takes
 * the same path, and worker threads answer exactly what the calling thread answers.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  ImageClassifier,
  ImagePreprocessor,
  InvalidImageError,
  NotReadyError,
  OverloadedError,
  ShuttingDownError,
  UnsupportedImageError,
} from '@mtailor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, shared, sharedImages } from '../../../test/support/shared-data.js';

const tench = readFileSync(shared.tench);

describe('one engine, every way in', () => {
  let workers: ImageClassifier;
  let caller: ImageClassifier;
  const batches: number[] = [];
  beforeAll(async () => {
    workers = await ImageClassifier.create({
      model: shared.int8Model,
      workers: 2,
      maxBatchSize: 8,
      maxDelayMs: 20,
      autoOrient: false,
      onBatch: (size) => batches.push(size),
    });
    caller = await ImageClassifier.create({
      model: shared.int8Model,
      workers: 0,
      inferenceThread: 'caller',
      autoOrient: false,
    });
  });
  afterAll(async () => {
    await workers.close();
    await caller.close();
  });

  it('worker threads and the calling thread give identical scores on 16 real images', async () => {
    const files = sharedImages().slice(0, 16);
    const a = await Promise.all(files.map((f) => workers.classify(f, { topK: 3, includeScores: true })));
    const b = await Promise.all(files.map((f) => caller.classify(f, { topK: 3, includeScores: true })));
    for (let i = 0; i < files.length; i++) {
      expect(a[i]!.scores).toEqual(b[i]!.scores);
      expect(a[i]!.predictions).toEqual(b[i]!.predictions);
    }
    expect(a[0]!.scores).toHaveLength(1000);
  });

  it('concurrent calls are micro-batched: fewer onnxruntime runs than images', async () => {
    batches.length = 0;
    const files = sharedImages().slice(0, 24);
    const results = await Promise.all(files.map((f) => workers.classify(f, { topK: 1 })));
    expect(batches.reduce((a, b) => a + b, 0)).toBe(24);
    expect(batches.length).toBeLessThan(24);
    expect(Math.max(...batches)).toBeLessThanOrEqual(8);
    expect(results.some((r) => r.timings.batchSize > 1)).toBe(true);
  });

  it('path, bytes, ArrayBuffer, stream, base64, data URL and a ready tensor take the same path', async () => {
    const { tensor } = await new ImagePreprocessor({ recipe: workers.recipe, autoOrient: false }).process(
      tench,
    );
    const { Readable } = await import('node:stream');
    const inputs = [
      shared.tench,
      tench,
      tench.buffer.slice(tench.byteOffset, tench.byteOffset + tench.length),
      Readable.from([tench.subarray(0, 1000), tench.subarray(1000)]),
      { base64: tench.toString('base64') },
      { base64: Buffer.from(`data:image/jpeg;base64,${tench.toString('base64')}`), transfer: true },
      { tensor },
    ];
    const scores = [];
    for (const input of inputs) scores.push((await workers.classify(input, { includeScores: true })).scores);
    for (const s of scores.slice(1)) expect(s).toEqual(scores[0]);
    const viaTensor = await workers.classify({ tensor });
    expect(viaTensor.timings.decodeMs).toBe(0);
  });

  it('bad inputs get typed errors, on both threads', async () => {
    for (const c of [workers, caller]) {
      await expect(c.classify(new Uint8Array(0))).rejects.toBeInstanceOf(InvalidImageError);
      await expect(c.classify({ base64: 'not base64!' })).rejects.toThrow('image_base64 is not valid base64');
      await expect(
        c.classify({ base64: `data:text/html;base64,${tench.toString('base64')}` }),
      ).rejects.toBeInstanceOf(UnsupportedImageError);
      await expect(c.classify({ tensor: new Float32Array(10) })).rejects.toThrow(
        'an image tensor must be a Float32Array of 150528 floats (3 × 224 × 224), not 10 floats',
      );
    }
  });
});

describe('back-pressure and drain', () => {
  it(`refuses with OVERLOADED beyond maxQueue, at once, and takes work again when there is room`, async () => {
    const classifier = await ImageClassifier.create({ model: shared.int8Model, workers: 1, maxQueue: 4 });
    try {
      const files = sharedImages().slice(0, 10);
      const settled = await Promise.allSettled(files.map((f) => classifier.classify(f, { topK: 1 })));
      const refused = settled.filter((s) => s.status === 'rejected');
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(4);
      expect(refused).toHaveLength(6);
      for (const r of refused) {
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(OverloadedError);
        expect((r as PromiseRejectedResult).reason.message).toBe(
          '4 images are already in progress (maxQueue); retry later',
        );
      }
      expect((await classifier.classify(shared.mudTurtle, { topK: 1 })).predictions[0]!.index).toBe(35);
    } finally {
      await classifier.close();
    }
  });

  it('close() lets the images in progress finish, refuses new ones with SHUTTING_DOWN, and is idempotent', async () => {
    const classifier = await ImageClassifier.create({ model: shared.int8Model, workers: 2 });
    const files = sharedImages().slice(0, 12);
    const inProgress = files.map((f) => classifier.classify(f, { topK: 1 }));
    const closing = classifier.close({ timeoutMs: 30_000 });
    expect(classifier.status()).toMatchObject({ state: 'closing', ready: false });
    await expect(classifier.classify(shared.tench)).rejects.toBeInstanceOf(ShuttingDownError);
    const results = await Promise.all(inProgress);
    expect(results[0]!.predictions[0]!.index).toBe(0); // tench, finished during the drain
    await closing;
    await classifier.close();
    expect(classifier.status()).toMatchObject({ state: 'closed', inProgress: 0 });
  });

  it('close() with a timeout drops what is unfinished with SHUTTING_DOWN (nothing hangs)', async () => {
    const classifier = await ImageClassifier.create({ model: shared.int8Model, workers: 1, maxBatchSize: 1 });
    const settling = Promise.allSettled(sharedImages().map((f) => classifier.classify(f, { topK: 1 })));
    await classifier.close({ timeoutMs: 0 });
    const settled = await settling;
    const reasons = settled
      .filter((s) => s.status === 'rejected')
      .map((s) => (s as PromiseRejectedResult).reason);
    expect(reasons.length).toBeGreaterThan(50);
    for (const r of reasons) expect(r).toBeInstanceOf(ShuttingDownError);
  });

  it('close() with no grace while batches run never takes the process down (threads stop between native calls)', () => {
    // Stopping the inference thread in the middle of onnxruntime's run() aborted the whole process ("terminate
    // called after throwing an instance of 'Napi::Error'"): in its own process, so that an abort fails the test
    // instead of killing the test runner.
    const script = `
      import { ImageClassifier } from '@mtailor/core';
      const files = ${JSON.stringify(sharedImages())};
      for (let round = 0; round < 4; round++) {
        const c = await ImageClassifier.create({ model: ${JSON.stringify(shared.int8Model)}, workers: 2, maxBatchSize: 8 });
        const settling = Promise.allSettled(files.map((f) => c.classify(f, { topK: 1 })));
        await new Promise((r) => setTimeout(r, 30 + round * 20));
        await c.close({ timeoutMs: 0 });
        const codes = new Set((await settling).filter((s) => s.status === 'rejected').map((s) => s.reason.code));
        console.log([...codes].join(',') || 'none');
      }
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: `${repoRoot}/packages/core`,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.stderr).not.toContain('terminate called');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(['SHUTTING_DOWN', 'none']).toContain(line);
  });

  it('a self-test that does not get its class fails creation with NOT_READY', async () => {
    await expect(
      ImageClassifier.create({
        model: shared.int8Model,
        workers: 0,
        selfTest: { image: shared.tench, expectedClass: 35 },
      }),
    ).rejects.toThrow(
      new NotReadyError(`self-test failed: ${shared.tench} classified as 0 (tench), expected 35`),
    );
    const ok = await ImageClassifier.create({
      model: shared.int8Model,
      workers: 0,
      selfTest: { image: shared.mudTurtle, expectedClass: 35 },
    });
    expect(ok.status()).toMatchObject({ ready: true, selfTest: { ok: true, expectation: 'configured' } });
    await ok.close();
  });
});
