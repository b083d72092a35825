/**
 * The micro-batcher's scheduling on its own: the runner here records which slots each batch held (the real
 * onnxruntime path is covered by the classifier and server tests).
 */
import { describe, expect, it } from 'vitest';
import { MicroBatcher } from '../src/engine/micro-batcher.js';

function recordingRunner(delayMs = 5) {
  const batches: number[][] = [];
  const run = async (slots: readonly number[]) => {
    batches.push([...slots]);
    await new Promise((r) => setTimeout(r, delayMs));
    return { runMs: delayMs };
  };
  return { batches, run };
}

describe('MicroBatcher', () => {
  it('fills batches up to maxBatchSize and tells each image the batch it ran in', async () => {
    const { batches, run } = recordingRunner();
    const batcher = new MicroBatcher({ maxBatchSize: 3, maxDelayMs: 50, run });
    const results = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((slot) => batcher.submit(slot)));
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(results.map((r) => r.batchSize)).toEqual([3, 3, 3, 3, 3, 3, 1]);
  });

  it('waits at most maxDelayMs for company, and not at all when nothing else is coming', async () => {
    const slow = recordingRunner(0);
    const waiting = new MicroBatcher({ maxBatchSize: 8, maxDelayMs: 30, run: slow.run });
    const lone = await waiting.submit(1);
    expect(lone.queueMs).toBeGreaterThanOrEqual(25);
    const eager = new MicroBatcher({
      maxBatchSize: 8,
      maxDelayMs: 30,
      run: slow.run,
      expectMore: () => false,
    });
    const alone = await eager.submit(2);
    expect(alone.queueMs).toBeLessThan(25);
  });

  it('a batch waiting for company leaves when poked once nothing more is coming', async () => {
    const { batches, run } = recordingRunner(0);
    let coming = true;
    const batcher = new MicroBatcher({ maxBatchSize: 8, maxDelayMs: 10_000, run, expectMore: () => coming });
    const first = batcher.submit(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(batches).toEqual([]);
    coming = false;
    batcher.poke();
    expect((await first).queueMs).toBeLessThan(1000);
    expect(batches).toEqual([[1]]);
  });

  it('a failing batch rejects exactly its own images', async () => {
    let call = 0;
    const batcher = new MicroBatcher({
      maxBatchSize: 2,
      maxDelayMs: 1,
      run: async () => {
        call += 1;
        if (call === 1) throw new Error('boom');
        return { runMs: 0 };
      },
    });
    const settled = await Promise.allSettled([1, 2, 3].map((slot) => batcher.submit(slot)));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
  });
});
