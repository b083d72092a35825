/**
 * The classifier on the 104 shared ImageNet images against PyTorch's own answers (../shared/reference).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type ClassifyResult, ImageClassifier } from '@mtailor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shared, sharedImages } from '../../../test/support/shared-data.js';

interface Reference {
  images: Record<string, { top5: number[]; logits: number[]; probs: number[] }>;
}
const reference = (name: string): Reference =>
  JSON.parse(readFileSync(shared.reference(name), 'utf8')) as Reference;

/** Probabilities of every class, by class index, from a topK = numClasses result. */
function byIndex(result: ClassifyResult): Float64Array {
  const p = new Float64Array(result.predictions.length);
  for (const pred of result.predictions) p[pred.index] = pred.probability;
  return p;
}

describe.each([
  ['int8', shared.int8Model],
  ['float', shared.floatModel],
])('the seed images with the %s model', (_name, model) => {
  it('tench → class 0, mud turtle → class 35 (default options)', async () => {
    const classifier = await ImageClassifier.create({ model });
    try {
      const tench = await classifier.classify(shared.tench);
      expect(tench.predictions[0]).toMatchObject({ index: 0, label: 'tench' });
      expect(tench.predictions).toHaveLength(5);
      const turtle = await classifier.classify(shared.mudTurtle, { topK: 1 });
      expect(turtle.predictions).toEqual([expect.objectContaining({ index: 35, label: 'mud turtle' })]);
      for (const t of Object.values(tench.timings)) expect(t).toBeGreaterThanOrEqual(0);
      expect(tench.timings.totalMs).toBeGreaterThanOrEqual(tench.timings.inferenceMs);
    } finally {
      await classifier.close();
    }
  });
});

describe('all 104 shared images, exact engine, autoOrient false (torchvision ignores EXIF)', () => {
  const images = sharedImages();
  let float: ImageClassifier;
  let int8: ImageClassifier;
  beforeAll(async () => {
    float = await ImageClassifier.create({ model: shared.floatModel, resize: 'exact', autoOrient: false });
    int8 = await ImageClassifier.create({ model: shared.int8Model, resize: 'exact', autoOrient: false });
  });
  afterAll(async () => {
    await float.close();
    await int8.close();
  });

  it('has the 104 images', () => {
    expect(images).toHaveLength(104);
  });

  it('float model: top-1 equals PyTorch for ≥ 103/104, top-5 probabilities within 1e-3', async () => {
    const ref = reference('torch_mobilenet_v2_float.json');
    let agree = 0;
    let maxDiff = 0;
    const disagreements: string[] = [];
    const results = await float.classifyBatch(images, { topK: 1000 });
    for (const [i, file] of images.entries()) {
      const r = results[i]!;
      if (!r.ok) throw r.error;
      const want = ref.images[path.basename(file)]!;
      if (r.predictions[0]!.index === want.top5[0]) agree++;
      else
        disagreements.push(`${path.basename(file)}: ours ${r.predictions[0]!.index}, torch ${want.top5[0]}`);
      const probs = byIndex(r);
      want.top5.forEach((cls, k) => {
        maxDiff = Math.max(maxDiff, Math.abs(probs[cls]! - want.probs[k]!));
      });
    }
    console.log(
      `float model vs PyTorch: top-1 agrees on ${agree}/104; max |Δp| over reference top-5 = ${maxDiff.toExponential(2)}` +
        (disagreements.length ? `; differs: ${disagreements.join('; ')}` : ''),
    );
    expect(agree).toBeGreaterThanOrEqual(103);
    expect(maxDiff).toBeLessThanOrEqual(1e-3);
  });

  it('int8 model: top-1 is a top-1 of onnxruntime on torchvision tensors (ties count) for ≥ 103/104', async () => {
    const ref = reference('ort_mobilenet_v2_int8_on_torchvision_tensors.json');
    let agree = 0;
    let ties = 0;
    const disagreements: string[] = [];
    const results = await int8.classifyBatch(images, { topK: 5 });
    for (const [i, file] of images.entries()) {
      const r = results[i]!;
      if (!r.ok) throw r.error;
      const want = ref.images[path.basename(file)]!;
      // Every class whose logit equals the maximum is a top-1 (int8 logits are quantised and tie often).
      const best = want.top5.filter((_, k) => want.logits[k] === want.logits[0]);
      if (best.length > 1) ties++;
      if (best.includes(r.predictions[0]!.index)) agree++;
      else
        disagreements.push(`${path.basename(file)}: ours ${r.predictions[0]!.index}, ort ${best.join('/')}`);
    }
    console.log(
      `int8 model vs onnxruntime on torchvision tensors: top-1 agrees on ${agree}/104 (${ties} reference ties)` +
        (disagreements.length ? `; differs: ${disagreements.join('; ')}` : ''),
    );
    expect(agree).toBeGreaterThanOrEqual(103);
  });

  it('batched results equal single-image results, and the stream through worker threads equals both', async () => {
    const some = images.slice(0, 20);
    const batched = await int8.classifyBatch(some, { topK: 5 });
    const streamed = [];
    for await (const item of int8.classifyStream(images, { topK: 5 })) streamed.push(item);
    expect(streamed.map((s) => s.input)).toEqual(images);
    expect(streamed.map((s) => s.index)).toEqual(images.map((_, i) => i));
    // All 104 through the worker threads give the same top-5 as everything on the calling thread.
    const oneThread = await ImageClassifier.create({
      model: shared.int8Model,
      resize: 'exact',
      autoOrient: false,
      workers: 0,
      inferenceThread: 'caller',
    });
    const all = await oneThread.classifyBatch(images, { topK: 5 });
    await oneThread.close();
    for (const [i, item] of streamed.entries()) {
      const b = all[i]!;
      if (!item.ok || !b.ok) throw new Error(`${images[i]} failed`);
      expect(item.predictions).toEqual(b.predictions);
    }
    for (const [i, file] of some.entries()) {
      const single = await int8.classify(file, { topK: 5 });
      for (const other of [batched[i]!, streamed[i]!]) {
        if (!other.ok) throw other.error;
        expect(other.predictions.map((p) => p.index)).toEqual(single.predictions.map((p) => p.index));
        other.predictions.forEach((p, k) => {
          expect(p.probability).toBeCloseTo(single.predictions[k]!.probability, 5);
        });
      }
    }
  });
});
