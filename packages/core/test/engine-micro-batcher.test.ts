/**
 * The micro-batcher's scheduling on its own (the runner here is a plain function returning each image's first value
 * as its "logit", so results can be matched to inputs; the real onnxruntime path is covered by the server tests).
 */
import { MicroBatcher } from '@mtailor/example-cerebrium';
import { describe, expect, it } from 'vitest';

function recordingRunner(delayMs = 5) {
  const batches: number[][] = [];
  const run = async (images: Float32Array[]) => {
    batches.push(images.map((i) => i[0] as number));
    await new Promise((r) => setTimeout(r, delayMs));
    return { logits: Float32Array.from(images.map((i) => (i[0] as number) * 10)), runMs: delayMs };
  };
  return { batches, run };
}

describe('MicroBatcher', () => {
  it('fills batches up to maxBatchSize and gives each image its own row', async () => {
    const { batches, run } = recordingRunner();
    const batcher = new MicroBatcher({ maxBatchSize: 3, maxDelayMs: 50, numClasses: 1, concurrency: 1, run });
    const results = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((v) => batcher.submit(Float32Array.of(v))));
    expect(results.map((r) => r.logits[0])).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(results.map((r) => r.batchSize)).toEqual([3, 3, 3, 3, 3, 3, 1]);
  });

  it('waits at most maxDelayMs for company, and not at all when nothing else is coming', async () => {
    const slow = recordingRunner(0);
    const waiting = new MicroBatcher({
      maxBatchSize: 8,
      maxDelayMs: 30,
      numClasses: 1,
      concurrency: 1,
      run: slow.run,
    });
    const lone = await waiting.submit(Float32Array.of(1));
    expect(lone.queueMs).toBeGreaterThanOrEqual(25);
    const eager = new MicroBatcher({
      maxBatchSize: 8,
      maxDelayMs: 30,
      numClasses: 1,
      concurrency: 1,
      run: slow.run,
      expectMore: () => false,
    });
    const alone = await eager.submit(Float32Array.of(2));
    expect(alone.queueMs).toBeLessThan(25);
  });

  it('a failing batch rejects exactly its own images', async () => {
    let call = 0;
    const batcher = new MicroBatcher({
      maxBatchSize: 2,
      maxDelayMs: 1,
      numClasses: 1,
      concurrency: 1,
      run: async (images) => {
        call += 1;
        if (call === 1) throw new Error('boom');
        return { logits: Float32Array.from(images.map((i) => i[0] as number)), runMs: 0 };
      },
    });
    const settled = await Promise.allSettled([1, 2, 3].map((v) => batcher.submit(Float32Array.of(v))));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
  });
});
