/**
 * classifyStream: input order, async inputs, early exit, option checks, closing mid-stream, and a process that
 * forgets close().
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ImageClassifier, InvalidOptionError, ShuttingDownError } from '@mtailor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, shared, sharedImages } from '../../../test/support/shared-data.js';

describe('classifyStream', () => {
  let classifier: ImageClassifier;
  beforeAll(async () => {
    classifier = await ImageClassifier.create({
      model: shared.int8Model,
      intraOpThreads: 1,
      autoOrient: false,
      maxBatchSize: 4,
      workers: 2,
    });
  });
  afterAll(() => classifier.close());

  it('takes an async iterable of bytes and paths, yields in input order with timings', async () => {
    const files = sharedImages().slice(0, 11);
    async function* inputs() {
      for (const [i, f] of files.entries()) yield i % 2 ? readFileSync(f) : f;
    }
    const items = [];
    for await (const item of classifier.classifyStream(inputs(), { topK: 2 })) items.push(item);
    expect(items.map((i) => i.index)).toEqual(files.map((_, i) => i));
    for (const item of items) {
      if (!item.ok) throw item.error;
      expect(item.predictions).toHaveLength(2);
      expect(item.timings.totalMs).toBeGreaterThan(0);
      expect(item.timings.decodeMs).toBeGreaterThan(0);
      expect(item.timings.batchSize).toBeGreaterThanOrEqual(1);
      expect(item.timings.batchSize).toBeLessThanOrEqual(4);
    }
    expect(items[0]!.ok && items[0]!.predictions[0]!.index).toBe(0); // tench is the first file
  });

  it('stops cleanly when the consumer breaks early, and the classifier serves the next stream', async () => {
    let seen = 0;
    for await (const _ of classifier.classifyStream(sharedImages(), { topK: 1 })) {
      if (++seen === 3) break;
    }
    expect(seen).toBe(3);
    const again = [];
    for await (const item of classifier.classifyStream([shared.mudTurtle], { topK: 1 })) again.push(item);
    expect(again[0]!.ok && again[0]!.predictions[0]!.index).toBe(35);
  });

  it('checks its options', async () => {
    const run = async (options: object) => {
      for await (const _ of classifier.classifyStream([shared.tench], options)) {
        /* drain */
      }
    };
    await expect(run({ readAhead: 0 })).rejects.toThrow(
      'Expected integer from 1 to maxQueue (512) for readAhead but received 0 of type number',
    );
    await expect(run({ workers: 2 })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(run({ topK: 1001 })).rejects.toThrow('Expected integer between 1 and 1000 for topK');
  });

  it('closing the classifier mid-stream ends the stream with ShuttingDownError items, not a hang', async () => {
    const own = await ImageClassifier.create({ model: shared.int8Model, intraOpThreads: 1, workers: 2 });
    let consumed = 0;
    let closing: Promise<void> | undefined;
    const codes: string[] = [];
    for await (const item of own.classifyStream(sharedImages(), { topK: 1 })) {
      if (++consumed === 2) closing = own.close({ timeoutMs: 0 });
      if (!item.ok) codes.push(item.error.code);
    }
    await closing;
    expect(consumed).toBe(104);
    // Images already in progress may finish; every later one is refused with SHUTTING_DOWN.
    expect(codes.length).toBeGreaterThan(50);
    expect(new Set(codes)).toEqual(new Set(['SHUTTING_DOWN']));
    await expect(own.classify(shared.tench)).rejects.toBeInstanceOf(ShuttingDownError);
  });

  it('idle workers do not keep a process alive that forgot close()', () => {
    const script = `
      import { ImageClassifier } from '@mtailor/core';
      const c = await ImageClassifier.create({ model: ${JSON.stringify(shared.int8Model)}, workers: 2 });
      for await (const item of c.classifyStream([${JSON.stringify(shared.tench)}]))
        console.log(item.ok ? item.predictions[0].index : item.error.code);
      // no c.close(): the process must still exit on its own
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
