/**
 * ImageClassifier behaviour: per-image typed errors in batches and streams (decoded in worker threads and on the
 * calling thread), fixed batch dims, softmax detection, layouts, manifests and option checks — on real models and
 * real (or really broken) images.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ImageClassifier,
  ImagePreprocessor,
  ImageTooLargeError,
  InvalidImageError,
  InvalidOptionError,
  ManifestError,
  ONNXModel,
  ShuttingDownError,
  UnsupportedImageError,
} from '@mtailor/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTorch, python, shared } from '../../../test/support/shared-data.js';
import { makeTinyModel } from './support/tiny-models.js';

const torch = hasTorch();
const dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-classifier-'));

const tenchBytes = readFileSync(shared.tench);
const bad = {
  truncated: tenchBytes.subarray(0, Math.floor(tenchBytes.length / 3)),
  empty: new Uint8Array(0),
  text: new TextEncoder().encode('this is a text file, not an image\n'),
};
/** Limit for the batch tests: far above the shared photos (≤ 0.5 MP), far below the bomb. */
const MAX_PIXELS = 2_000_000;
/** A real, valid PNG of 6000 × 4000 = 24 MP that compresses to a few kB: a small decompression bomb. */
const pixelBomb = () =>
  sharp({ create: { width: 6000, height: 4000, channels: 3, background: '#336699' } })
    .png({ compressionLevel: 9 })
    .toBuffer();

describe('a batch with bad images among good ones', () => {
  let classifier: ImageClassifier;
  let inThread: ImageClassifier;
  let bomb: Buffer;
  beforeAll(async () => {
    classifier = await ImageClassifier.create({
      model: shared.int8Model,
      maxBatchSize: 4,
      maxPixels: MAX_PIXELS,
      workers: 2,
    });
    inThread = await ImageClassifier.create({
      model: shared.int8Model,
      maxPixels: MAX_PIXELS,
      workers: 0,
      inferenceThread: 'caller',
    });
    bomb = await pixelBomb();
    expect(bomb.length).toBeLessThan(200_000);
  });
  afterAll(async () => {
    await classifier.close();
    await inThread.close();
  });

  const inputs = () => [
    shared.tench,
    bad.truncated,
    bad.empty,
    shared.mudTurtle,
    bad.text,
    bomb,
    shared.tench,
  ];
  const expectOutcomes = (
    outcomes: { ok: boolean; error?: unknown; predictions?: { index: number }[] }[],
  ) => {
    expect(
      outcomes.map((o) => (o.ok ? o.predictions![0]!.index : (o.error as { code: string }).code)),
    ).toEqual([0, 'INVALID_IMAGE', 'INVALID_IMAGE', 35, 'UNSUPPORTED_IMAGE', 'IMAGE_TOO_LARGE', 0]);
    expect(outcomes[1]!.error).toBeInstanceOf(InvalidImageError);
    expect(outcomes[4]!.error).toBeInstanceOf(UnsupportedImageError);
    expect(outcomes[5]!.error).toBeInstanceOf(ImageTooLargeError);
  };

  it('classifyBatch: each item is a result or its typed error, in input order', async () => {
    expectOutcomes(await classifier.classifyBatch(inputs(), { topK: 1 }));
  });

  it('classifyStream (worker threads): the same outcomes, error classes rebuilt across the thread boundary', async () => {
    const items = [];
    for await (const item of classifier.classifyStream(inputs(), { topK: 1 })) items.push(item);
    expect(items.map((i) => i.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expectOutcomes(items);
  });

  it('on the calling thread (no workers) the same outcomes, batch and stream', async () => {
    const items = [];
    for await (const item of inThread.classifyStream(inputs(), { topK: 1 })) items.push(item);
    expectOutcomes(items);
    expectOutcomes(await inThread.classifyBatch(inputs(), { topK: 1 }));
  });

  it("the caller's buffers are left intact (copied, never moved, to the decode workers)", async () => {
    const before = Buffer.from(tenchBytes);
    await classifier.classifyBatch(inputs(), { topK: 1 });
    expect(tenchBytes.equals(before)).toBe(true);
    expect(bad.truncated.length).toBe(Math.floor(tenchBytes.length / 3));
  });

  it('classify() throws the typed error for a bad image', async () => {
    await expect(classifier.classify(bad.truncated)).rejects.toBeInstanceOf(InvalidImageError);
    await expect(classifier.classify(bomb)).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
  });
});

describe('options', () => {
  it('rejects bad options with clear messages', async () => {
    const classifier = await ImageClassifier.create({ model: shared.int8Model });
    try {
      await expect(classifier.classify(shared.tench, { topK: 0 })).rejects.toThrow(
        'Expected positive integer for topK but received 0 of type number',
      );
      await expect(classifier.classify(shared.tench, { topK: 1001 })).rejects.toThrow(
        'Expected integer between 1 and 1000 for topK but received 1001 of type number',
      );
      expect((await classifier.classify(shared.tench, { topK: 1000 })).predictions).toHaveLength(1000);
      // A typo is an error, not a silently ignored option.
      await expect(classifier.classify(shared.tench, { topk: 3 } as object)).rejects.toThrow(
        'Unknown option "topk" for classify; expected one of topK',
      );
      const stream = classifier.classifyStream([shared.tench], { batchsize: 4 } as object);
      await expect(stream.next()).rejects.toThrow('Unknown option "batchsize" for classifyStream');
    } finally {
      await classifier.close();
    }
    await expect(classifier.classify(shared.tench)).rejects.toBeInstanceOf(ShuttingDownError);
    await expect(ImageClassifier.create({})).rejects.toThrow(
      'Expected model or manifest in options but received neither',
    );
    await expect(ImageClassifier.create({ model: shared.int8Model, labelz: 'x' } as object)).rejects.toThrow(
      'Unknown option "labelz" for ImageClassifier.create',
    );
    await expect(ImageClassifier.create({ model: shared.int8Model, maxBatchSize: 0 })).rejects.toThrow(
      'Expected positive integer for maxBatchSize but received 0 of type number',
    );
    await expect(
      ImageClassifier.create({
        model: shared.int8Model,
        recipe: { steps: [{ op: 'toRGB' }, { op: 'resize', width: 100, height: 100 }], tensor: {} },
      }),
    ).rejects.toThrow(`recipe (unnamed) makes 100×100 images but model ${shared.int8Model} takes 224×224`);
    await expect(ImageClassifier.create({ model: shared.int8Model, labels: ['cat', 'dog'] })).rejects.toThrow(
      '2 labels for a model with 1000 classes',
    );
    await expect(
      ImageClassifier.create({
        model: shared.int8Model,
        recipe: { steps: [{ op: 'resize', width: 224, height: 224 }], tensor: { layout: 'NHWC' } },
      }),
    ).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('user labels and a caller-owned model (not disposed with the classifier)', async () => {
    const model = await ONNXModel.load(shared.int8Model);
    const labels = Array.from({ length: 1000 }, (_, i) => `label-${i}`);
    await expect(ImageClassifier.create({ model, intraOpThreads: 1 })).rejects.toThrow(
      'Session options (intraOpThreads) apply when the classifier loads the model',
    );
    const classifier = await ImageClassifier.create({ model, labels });
    expect((await classifier.classify(shared.tench, { topK: 1 })).predictions[0]).toMatchObject({
      index: 0,
      label: 'label-0',
    });
    expect(classifier.inferenceThread).toBe('caller');
    await classifier.close();
    expect(model.disposed).toBe(false);
    expect((await model.run(new Float32Array(model.inputElementsPerImage), 1)).length).toBe(1000);
    model.dispose();
  });

  it('imagenet-eval recipe (Resize(256) + CenterCrop(224)) still finds the tench', async () => {
    const classifier = await ImageClassifier.create({ model: shared.floatModel, recipe: 'imagenet-eval' });
    try {
      expect((await classifier.classify(shared.tench, { topK: 1 })).predictions[0]!.index).toBe(0);
    } finally {
      await classifier.close();
    }
  });
});

describe('manifest', () => {
  it('drives model, labels, recipe and outputKind', async () => {
    symlinkSync(shared.int8Model, path.join(dir, 'm.onnx'));
    writeFileSync(
      path.join(dir, 'labels.json'),
      JSON.stringify(Array.from({ length: 1000 }, (_, i) => `c${i}`)),
    );
    const logitsManifest = path.join(dir, 'logits.json');
    writeFileSync(
      logitsManifest,
      JSON.stringify({ model: 'm.onnx', recipe: 'resize-224', labels: 'labels.json', numClasses: 1000 }),
    );
    const a = await ImageClassifier.create({ manifest: logitsManifest });
    const viaManifest = await a.classify(shared.tench, { topK: 1 });
    expect(viaManifest.predictions[0]).toMatchObject({ index: 0, label: 'c0' });
    expect(viaManifest.predictions[0]!.probability).toBeGreaterThan(0.9);
    expect(viaManifest.predictions[0]!.probability).toBeLessThanOrEqual(1);

    // outputKind 'probabilities' means: use the output as it is (here raw logits, so a value far above 1).
    const probsManifest = path.join(dir, 'probs.json');
    writeFileSync(
      probsManifest,
      JSON.stringify({
        model: 'm.onnx',
        recipe: 'resize-224',
        labels: 'imagenet1k',
        numClasses: 1000,
        outputKind: 'probabilities',
      }),
    );
    const b = await ImageClassifier.create({ manifest: probsManifest });
    const raw = await b.classify(shared.tench, { topK: 1 });
    expect(raw.predictions[0]!.index).toBe(0);
    expect(raw.predictions[0]!.probability).toBeGreaterThan(10);
    await a.close();
    await b.close();
  });

  it('a manifest whose numClasses disagrees with the model → ManifestError', async () => {
    const file = path.join(dir, 'wrong.json');
    writeFileSync(
      file,
      JSON.stringify({ model: 'm.onnx', recipe: 'resize-224', labels: ['a'], numClasses: 1 }),
    );
    await expect(ImageClassifier.create({ manifest: file })).rejects.toBeInstanceOf(ManifestError);
  });
});

describe.skipIf(!torch)('models of other shapes (made in the test)', () => {
  const redPng = () =>
    sharp({ create: { width: 20, height: 10, channels: 3, background: { r: 250, g: 10, b: 10 } } })
      .png()
      .toBuffer();
  const tinyRecipe = {
    steps: [{ op: 'toRGB' as const }, { op: 'resize' as const, width: 8, height: 8 }],
    tensor: {},
  };

  it('the float model with its batch dim fixed to 1: batches run one image per call, results unchanged', async () => {
    const fixed = path.join(dir, 'mobilenet_fixed_batch1.onnx');
    execFileSync(
      python,
      [
        '-c',
        `import onnx, sys
m = onnx.load(sys.argv[1])
for v in list(m.graph.input) + list(m.graph.output):
    v.type.tensor_type.shape.dim[0].dim_value = 1
onnx.save(m, sys.argv[2])`,
        shared.floatModel,
        fixed,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const one = await ImageClassifier.create({ model: fixed, maxBatchSize: 8 });
    const dyn = await ImageClassifier.create({ model: shared.floatModel });
    try {
      expect(one.model.batchDim).toBe(1);
      expect(one.maxBatchSize).toBe(1);
      const inputs = [
        shared.tench,
        shared.mudTurtle,
        bad.text,
        shared.image('n02676566_acoustic_guitar.JPEG'),
      ];
      const a = await one.classifyBatch(inputs, { topK: 3 });
      const b = await dyn.classifyBatch(inputs, { topK: 3 });
      expect(a.map((r) => (r.ok ? r.predictions.map((p) => p.index) : r.error.code))).toEqual(
        b.map((r) => (r.ok ? r.predictions.map((p) => p.index) : r.error.code)),
      );
      const streamed = [];
      for await (const item of one.classifyStream(inputs, { topK: 3 })) streamed.push(item);
      expect(streamed.map((r) => (r.ok ? r.predictions[0]!.index : r.error.code))).toEqual([
        0,
        35,
        'UNSUPPORTED_IMAGE',
        expect.any(Number),
      ]);
    } finally {
      await one.close();
      await dyn.close();
    }
  });

  it("softmax 'auto' keeps a model's probabilities as they are; softmax: true would apply it again", async () => {
    const file = makeTinyModel({
      graph: 'gap',
      softmax: true,
      inputs: [{ name: 'image', shape: ['N', 3, 8, 8] }],
      outputs: [{ name: 'probs', shape: ['N', 3] }],
    });
    const auto = await ImageClassifier.create({
      model: file,
      recipe: tinyRecipe,
      labels: ['red', 'green', 'blue'],
    });
    const forced = await ImageClassifier.create({ model: file, recipe: tinyRecipe, softmax: true });
    try {
      const image = await redPng();
      const { tensor } = await new ImagePreprocessor({ recipe: auto.recipe }).process(image);
      const session = await ONNXModel.load(file);
      const direct = await session.run(tensor, 1); // the model's own probabilities
      session.dispose();
      const a = await auto.classify(image, { topK: 3 });
      expect(a.predictions[0]!.label).toBe('red');
      for (const p of a.predictions) expect(p.probability).toBeCloseTo(direct[p.index]!, 6);
      const f = await forced.classify(image, { topK: 3 });
      expect(f.predictions[0]!.label).toBe('class 0');
      expect(f.predictions[0]!.probability).toBeLessThan(a.predictions[0]!.probability);
    } finally {
      await auto.close();
      await forced.close();
    }
  });

  it('an NHWC model gets NHWC tensors (a red image scores highest on the R channel)', async () => {
    const file = makeTinyModel({
      graph: 'nhwc',
      inputs: [{ name: 'pixels', shape: ['N', 8, 8, 3] }],
      outputs: [{ name: 'scores', shape: ['N', 3] }],
    });
    const classifier = await ImageClassifier.create({ model: file, recipe: tinyRecipe });
    try {
      expect(classifier.recipe.tensor.layout).toBe('NHWC');
      const { predictions } = await classifier.classify(await redPng(), { topK: 3 });
      expect(predictions.map((p) => p.index)).toEqual([0, 2, 1]); // R ≫ B > G after ImageNet normalisation
    } finally {
      await classifier.close();
    }
  });
});
