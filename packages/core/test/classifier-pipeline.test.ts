/**
 * classifyStream's worker pool: lifetime, early exit, async inputs, and a process that forgets dispose().
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { classifyStream, DisposedError, ImageClassifier, InvalidOptionError } from '@mtailor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, shared, sharedImages } from '../../../test/support/shared-data.js';

describe('classifyStream', () => {
  let classifier: ImageClassifier;
  beforeAll(async () => {
    classifier = await ImageClassifier.create({
      model: shared.int8Model,
      intraOpThreads: 1,
      autoOrient: false,
    });
  });
  afterAll(() => classifier.dispose());

  it('takes an async iterable of bytes and paths, yields in input order with timings', async () => {
    const files = sharedImages().slice(0, 11);
    async function* inputs() {
      for (const [i, f] of files.entries()) yield i % 2 ? readFileSync(f) : f;
    }
    const items = [];
    for await (const item of classifyStream(classifier, inputs(), { topK: 2, batchSize: 4, workers: 2 }))
      items.push(item);
    expect(items.map((i) => i.index)).toEqual(files.map((_, i) => i));
    for (const item of items) {
      if (!item.ok) throw item.error;
      expect(item.predictions).toHaveLength(2);
      expect(item.timings.totalMs).toBeGreaterThan(0);
      expect(item.timings.decodeMs).toBeGreaterThan(0);
    }
    expect(items[0]!.ok && items[0]!.predictions[0]!.index).toBe(0); // tench is the first file
  });

  it('stops cleanly when the consumer breaks early, and the pool serves the next stream', async () => {
    let seen = 0;
    for await (const _ of classifyStream(classifier, sharedImages(), { topK: 1, batchSize: 8 })) {
      if (++seen === 3) break;
    }
    expect(seen).toBe(3);
    const again = [];
    for await (const item of classifyStream(classifier, [shared.mudTurtle], { topK: 1 })) again.push(item);
    expect(again[0]!.ok && again[0]!.predictions[0]!.index).toBe(35);
  });

  it('checks its options', async () => {
    const run = async (options: object) => {
      for await (const _ of classifyStream(classifier, [shared.tench], options)) {
        /* drain */
      }
    };
    await expect(run({ workers: -1 })).rejects.toThrow(
      'Expected non-negative integer for workers but received -1 of type number',
    );
    await expect(run({ batchSize: 0 })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(run({ topK: 1001 })).rejects.toThrow('Expected integer between 1 and 1000 for topK');
  });

  it('disposing the classifier mid-stream ends the stream with DisposedError, not a hang', async () => {
    const own = await ImageClassifier.create({ model: shared.int8Model, intraOpThreads: 1 });
    let consumed = 0;
    const run = (async () => {
      for await (const _ of classifyStream(own, sharedImages(), { topK: 1, batchSize: 4, workers: 2 })) {
        if (++consumed === 2) own.dispose();
      }
    })();
    await expect(run).rejects.toBeInstanceOf(DisposedError);
    expect(consumed).toBeGreaterThanOrEqual(2);
    expect(consumed).toBeLessThan(104);
  });

  it('idle workers do not keep a process alive that forgot dispose()', () => {
    const script = `
      import { ImageClassifier, classifyStream } from '@mtailor/core';
      const c = await ImageClassifier.create({ model: ${JSON.stringify(shared.int8Model)} });
      for await (const item of classifyStream(c, [${JSON.stringify(shared.tench)}], { workers: 2 }))
        console.log(item.ok ? item.predictions[0].index : item.error.code);
      // no c.dispose(): the process must still exit on its own
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: `${repoRoot}/packages/core`,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.error).toBeUndefined(); // a timeout would set error (ETIMEDOUT)
    expect(r.stdout.trim()).toBe('0');
    expect(r.status).toBe(0);
  });
});
