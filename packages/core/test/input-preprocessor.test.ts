/**
 * ImagePreprocessor end to end: the exact engine gives torchvision's tensor; every input kind gives the same
 * tensor; batch slots and layouts; and the fast engine's measured difference from exact on the 104 shared images.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { ImagePreprocessor } from '@mtailor/core';
import { IMAGENET_MEAN, IMAGENET_STD } from '@mtailor/preprocess';
import { describe, expect, it } from 'vitest';
import { hasTorch, shared, sharedImages } from '../../../test/support/shared-data.js';
import { maxAbsDiff, torchvisionTensors } from './input-support.js';

const torch = hasTorch();
const PIXELS = 224 * 224;

describe.skipIf(!torch)('exact engine = torchvision on PIL', () => {
  for (const preset of ['resize-224', 'imagenet-eval'] as const) {
    it(`${preset}: tench and mud turtle tensors within 1e-6 of torchvision`, async () => {
      const files = [shared.tench, shared.mudTurtle];
      const expected = torchvisionTensors(preset, files);
      const preprocessor = new ImagePreprocessor({ recipe: preset, autoOrient: false });
      for (const [i, file] of files.entries()) {
        const { tensor, width, height } = await preprocessor.process(file);
        expect([width, height]).toEqual([224, 224]);
        expect(
          maxAbsDiff(tensor, expected.subarray(i * 3 * PIXELS, (i + 1) * 3 * PIXELS)),
        ).toBeLessThanOrEqual(1e-6);
      }
    });
  }

  it('resize-224 on all 104 shared images: within 1e-6 of torchvision', async () => {
    const files = sharedImages();
    const expected = torchvisionTensors('resize-224', files);
    const preprocessor = new ImagePreprocessor({ autoOrient: false });
    const worst: number[] = [];
    for (const [i, file] of files.entries()) {
      const { tensor } = await preprocessor.process(file);
      worst.push(maxAbsDiff(tensor, expected.subarray(i * 3 * PIXELS, (i + 1) * 3 * PIXELS)));
    }
    expect(Math.max(...worst)).toBeLessThanOrEqual(1e-6);
  });
});

describe('ImagePreprocessor', () => {
  const preprocessor = new ImagePreprocessor();

  it('defaults: resize-224, exact, autoOrient, 224×224 NCHW', () => {
    expect(preprocessor.recipe.name).toBe('resize-224');
    expect(preprocessor.resize).toBe('exact');
    expect(preprocessor.autoOrient).toBe(true);
    expect([preprocessor.outputWidth, preprocessor.outputHeight]).toEqual([224, 224]);
    expect(preprocessor.layout).toBe('NCHW');
    const shorter = new ImagePreprocessor({
      recipe: { steps: [{ op: 'resizeShorterSide', size: 256 }], tensor: {} },
    });
    expect(shorter.outputWidth).toBeUndefined();
  });

  it('Buffer, Uint8Array, ArrayBuffer, file path, Node and web streams give the identical tensor', async () => {
    const bytes = readFileSync(shared.tench);
    const copy = new Uint8Array(bytes);
    const inputs = [
      bytes,
      copy,
      copy.buffer,
      shared.tench,
      createReadStream(shared.tench, { highWaterMark: 4096 }),
    ];
    const results = await Promise.all(inputs.map((input) => preprocessor.process(input)));
    for (const result of results) {
      expect(result.source).toEqual({ format: 'jpeg', width: 500, height: 375 });
      expect(maxAbsDiff(result.tensor, results[0]?.tensor as Float32Array)).toBe(0);
      expect(result.timings.decodeMs).toBeGreaterThan(0);
      expect(result.timings.preprocessMs).toBeGreaterThan(0);
    }
  });

  it('writes into a batch slot without touching the rest of the buffer', async () => {
    const batch = new Float32Array(3 * 3 * PIXELS).fill(7);
    const alone = await preprocessor.process(shared.mudTurtle);
    const inSlot = await preprocessor.process(shared.mudTurtle, { out: batch, offset: 3 * PIXELS });
    expect(inSlot.tensor.buffer).toBe(batch.buffer);
    expect(maxAbsDiff(batch.subarray(3 * PIXELS, 6 * PIXELS), alone.tensor)).toBe(0);
    expect(batch.subarray(0, 3 * PIXELS).every((v) => v === 7)).toBe(true);
    expect(batch.subarray(6 * PIXELS).every((v) => v === 7)).toBe(true);
  });

  it('withLayout("NHWC") gives the transpose of NCHW; the original is unchanged', async () => {
    const nhwc = preprocessor.withLayout('NHWC');
    expect(nhwc.layout).toBe('NHWC');
    expect(preprocessor.layout).toBe('NCHW');
    expect(preprocessor.withLayout('NCHW')).toBe(preprocessor);
    const a = (await preprocessor.process(shared.tench)).tensor;
    const b = (await nhwc.process(shared.tench)).tensor;
    for (const p of [0, 1, 777, PIXELS - 1]) {
      for (let c = 0; c < 3; c++) expect(b[p * 3 + c]).toBe(a[c * PIXELS + p]);
    }
  });

  it('autoOrient rotates the EXIF-6 image before resizing (source size is the upright one)', async () => {
    const can = shared.image('n02951585_can_opener.JPEG');
    const raw = await new ImagePreprocessor({ autoOrient: false }).process(can);
    const upright = await preprocessor.process(can);
    expect(upright.source.width).toBe(raw.source.height);
    expect(upright.source.height).toBe(raw.source.width);
    expect(maxAbsDiff(upright.tensor, raw.tensor)).toBeGreaterThan(0.5);
  });

  it('the caller editing its recipe object later does not change the preprocessor', () => {
    const recipe = {
      steps: [{ op: 'resize' as const, width: 100, height: 100 }],
      tensor: {},
    };
    const p = new ImagePreprocessor({ recipe });
    recipe.steps[0] = { op: 'resize', width: 5, height: 5 };
    expect(p.outputWidth).toBe(100);
    expect(p.recipe.steps[0]).toEqual({ op: 'resize', width: 100, height: 100 });
  });
});

/** The 8-bit pixel a normalised value came from (exact: the tensor is (v/255 − mean)/std in float32). */
function toUint8(tensor: Float32Array): Uint8Array {
  const out = new Uint8Array(tensor.length);
  for (let c = 0; c < 3; c++) {
    const mean = IMAGENET_MEAN[c] as number;
    const std = IMAGENET_STD[c] as number;
    for (let p = c * PIXELS; p < (c + 1) * PIXELS; p++) {
      out[p] = Math.round(((tensor[p] as number) * std + mean) * 255);
    }
  }
  return out;
}

describe('fast engine vs exact (libvips resize vs Pillow resize)', () => {
  for (const preset of ['resize-224', 'imagenet-eval'] as const) {
    it(`${preset}: measured on the 104 shared images`, async () => {
      const exact = new ImagePreprocessor({ recipe: preset, autoOrient: false });
      const fast = new ImagePreprocessor({ recipe: preset, autoOrient: false, resize: 'fast' });
      let max = 0;
      let sum = 0;
      let count = 0;
      let identicalImages = 0;
      for (const file of sharedImages()) {
        const a = toUint8((await exact.process(file)).tensor);
        const fastResult = await fast.process(file);
        expect([fastResult.width, fastResult.height]).toEqual([224, 224]);
        const b = toUint8(fastResult.tensor);
        let imageMax = 0;
        for (let i = 0; i < a.length; i++) {
          const d = Math.abs((a[i] as number) - (b[i] as number));
          sum += d;
          if (d > imageMax) imageMax = d;
        }
        if (imageMax === 0) identicalImages++;
        max = Math.max(max, imageMax);
        count += a.length;
      }
      const mean = sum / count;
      console.log(
        `[fast vs exact, ${preset}] 104 images: max |Δ| = ${max}, mean |Δ| = ${mean.toFixed(3)} (uint8 levels); identical images: ${identicalImages}`,
      );
      // Same picture (small mean difference), but not Pillow's resize (the reason the exact engine exists).
      expect(mean).toBeGreaterThan(0);
      expect(mean).toBeLessThan(5);
    });
  }
});
