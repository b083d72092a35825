/** toTensor / createBatchTensor / preprocess: layouts, channel order, batch offsets, presets' shape logic. */
import {
  createBatchTensor,
  getPreset,
  IMAGENET_MEAN,
  IMAGENET_STD,
  PRESETS,
  preprocess,
  type RawImage,
  recipeOutputSize,
  resampleBackend,
  resolveTensorOptions,
  setResampleBackend,
  TENSOR_FORMULAS,
  type TensorOptions,
  tensorLookupTable,
  tensorShape,
  toTensor,
} from '@mtailor/preprocess';
import { describe, expect, it } from 'vitest';
// Not public: which form the kernel computes is the package's own business, checked here from its build.
import { tensorTables } from '../dist/tensor.js';

/** A W×H RGB image whose every byte is distinct enough to catch any misplaced value. */
function image(width: number, height: number, seed: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 97 + seed * 31) % 256;
  return { data, width, height, channels: 3 };
}

/** Reference normalisation in float32, written out independently of the package's lookup table. */
function norm(byte: number, c: number, mean = IMAGENET_MEAN, std = IMAGENET_STD, scale = 255): number {
  const f = Math.fround;
  return f(f(f(byte / f(scale)) - f(mean[c]!)) / f(std[c]!));
}

describe('toTensor', () => {
  const img = image(5, 3, 1);
  const at = (x: number, y: number, c: number) => img.data[(y * 5 + x) * 3 + c]!;

  it('NCHW RGB (default): planes R, G, B', () => {
    const t = toTensor(img);
    expect(t).toBeInstanceOf(Float32Array);
    expect(t).toHaveLength(45);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 3; y++)
        for (let x = 0; x < 5; x++) expect(t[c * 15 + y * 5 + x]).toBe(norm(at(x, y, c), c));
  });

  it('NHWC: interleaved, same values', () => {
    const t = toTensor(img, { layout: 'NHWC' });
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 5; x++)
        for (let c = 0; c < 3; c++) expect(t[(y * 5 + x) * 3 + c]).toBe(norm(at(x, y, c), c));
  });

  it('BGR: blue first, each colour keeps its own (RGB-ordered) mean/std', () => {
    const nchw = toTensor(img, { channelOrder: 'BGR' });
    const nhwc = toTensor(img, { channelOrder: 'BGR', layout: 'NHWC' });
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 5; x++)
        for (let o = 0; o < 3; o++) {
          const c = 2 - o;
          expect(nchw[o * 15 + y * 5 + x]).toBe(norm(at(x, y, c), c));
          expect(nhwc[(y * 5 + x) * 3 + o]).toBe(norm(at(x, y, c), c));
        }
  });

  it('custom mean/std/scale (scale 1 keeps 0–255)', () => {
    const t = toTensor(img, { mean: [0, 0, 0], std: [1, 1, 1], scale: 1 });
    expect(Array.from(t.subarray(0, 5))).toEqual([0, 1, 2, 3, 4].map((x) => at(x, 0, 0)));
    const u = toTensor(img, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    expect(u[0]).toBe(norm(at(0, 0, 0), 0, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]));
  });

  it('writes into a target at an element offset, touches nothing else, returns a view', () => {
    const out = new Float32Array(100).fill(-7);
    const view = toTensor(img, {}, { out, offset: 50 });
    expect(view.buffer).toBe(out.buffer);
    expect(view.byteOffset).toBe(200);
    expect(Array.from(view)).toEqual(Array.from(toTensor(img)));
    expect(out.subarray(0, 50).every((v) => v === -7)).toBe(true);
    expect(out.subarray(95).every((v) => v === -7)).toBe(true);
  });
});

describe('createBatchTensor', () => {
  const images = [image(4, 2, 1), image(4, 2, 2), image(4, 2, 3)];
  it('NCHW: image i at offset i·3·H·W, equal to its own toTensor', () => {
    const batch = createBatchTensor(images);
    expect(batch).toHaveLength(3 * 24);
    images.forEach((img, i) => {
      expect(Array.from(batch.subarray(i * 24, (i + 1) * 24))).toEqual(Array.from(toTensor(img)));
    });
    expect(tensorShape('NCHW', 3, 4, 2)).toEqual([3, 3, 2, 4]);
  });
  it('NHWC + BGR', () => {
    const options = { layout: 'NHWC', channelOrder: 'BGR' } as const;
    const batch = createBatchTensor(images, options);
    images.forEach((img, i) => {
      expect(Array.from(batch.subarray(i * 24, (i + 1) * 24))).toEqual(Array.from(toTensor(img, options)));
    });
    expect(tensorShape('NHWC', 3, 4, 2)).toEqual([3, 2, 4, 3]);
  });
  it('preprocess() can fill a batch buffer slot by slot', () => {
    const recipe = { steps: [{ op: 'resize' as const, width: 2, height: 2 }], tensor: {} };
    const out = new Float32Array(3 * 12);
    images.forEach((img, i) => {
      preprocess(img, recipe, { out, offset: i * 12 });
    });
    images.forEach((img, i) => {
      expect(Array.from(out.subarray(i * 12, (i + 1) * 12))).toEqual(
        Array.from(preprocess(img, recipe).tensor),
      );
    });
  });
});

describe('presets and recipeOutputSize', () => {
  it('presets are the two torchvision pipelines, frozen; getPreset returns a mutable copy', () => {
    expect(Object.keys(PRESETS)).toEqual(['resize-224', 'imagenet-eval']);
    expect(PRESETS['imagenet-eval'].steps).toEqual([
      { op: 'toRGB' },
      { op: 'resizeShorterSide', size: 256, filter: 'bilinear' },
      { op: 'centerCrop', width: 224, height: 224 },
    ]);
    expect(Object.isFrozen(PRESETS['resize-224'].tensor)).toBe(true);
    const copy = getPreset('resize-224');
    copy.tensor.layout = 'NHWC';
    expect(PRESETS['resize-224'].tensor.layout).toBe('NCHW');
  });

  it('output sizes', () => {
    expect(recipeOutputSize(getPreset('imagenet-eval'), 500, 375)).toEqual({ width: 224, height: 224 });
    expect(recipeOutputSize(getPreset('resize-224'), 10, 4000)).toEqual({ width: 224, height: 224 });
    const shorter = { steps: [{ op: 'resizeShorterSide' as const, size: 256 }], tensor: {} };
    expect(recipeOutputSize(shorter, 500, 375)).toEqual({ width: 341, height: 256 });
    expect(recipeOutputSize(shorter, 375, 500)).toEqual({ width: 256, height: 341 });
    expect(recipeOutputSize({ steps: [], tensor: {} }, 7, 9)).toEqual({ width: 7, height: 9 });
  });

  it('preprocess returns the size its tensor was computed at, NHWC when asked', () => {
    const recipe = getPreset('imagenet-eval');
    recipe.tensor.layout = 'NHWC';
    const { tensor, width, height } = preprocess(image(300, 200, 5), recipe);
    expect([width, height]).toEqual([224, 224]);
    expect(tensor).toHaveLength(3 * 224 * 224);
    expect(tensor.every(Number.isFinite)).toBe(true);
  });
});

describe('toTensor: the WebAssembly kernels (table lookup, arithmetic) and the JS loop write the same bits', () => {
  // Every byte value in every channel, at a pixel count that is no multiple of anything the kernel might unroll by.
  const width = 37;
  const height = 7;
  const img = image(width, height, 5);
  const pixels = width * height;
  const variants: TensorOptions[] = TENSOR_FORMULAS.flatMap((formula) =>
    (['NCHW', 'NHWC'] as const).flatMap((layout) =>
      (['RGB', 'BGR'] as const).map((channelOrder) => ({ formula, layout, channelOrder, scale: 255 })),
    ),
  );
  variants.push({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], rescaleOffset: 1, divideByStdTwice: true });

  it.each(variants)('%o', (options) => {
    expect(resampleBackend()).toBe('wasm');
    const offset = 11;
    const wasm = new Float32Array(offset + 3 * pixels + 5).fill(-7);
    toTensor(img, options, { out: wasm, offset });
    expect(setResampleBackend('js')).toBe('js');
    try {
      const js = new Float32Array(offset + 3 * pixels + 5).fill(-7);
      toTensor(img, options, { out: js, offset });
      // Bit patterns, so that -0 and NaN payloads count too; the cells around the slot stay untouched.
      expect(new Int32Array(wasm.buffer)).toEqual(new Int32Array(js.buffer));
      expect(wasm[offset - 1]).toBe(-7);
      expect(wasm[offset + 3 * pixels]).toBe(-7);
    } finally {
      setResampleBackend('auto');
    }
  });
});

describe('tensorTables', () => {
  it('gives the arithmetic form where it equals the table to the bit, and only there', () => {
    const torchvision = tensorTables(resolveTensorOptions(undefined));
    expect(Array.from(torchvision.quotients ?? [])).toEqual(
      [255, 0.485, 0.229, 255, 0.456, 0.224, 255, 0.406, 0.225].map(Math.fround),
    );
    // transformers' torchvision backend: the byte itself, mean and std scaled by 255 in float32.
    const fused = tensorTables(resolveTensorOptions({ formula: 'transformers-torchvision' }));
    expect(fused.quotients?.[0]).toBe(1);
    expect(fused.quotients?.[1]).toBe(Math.fround(Math.fround(0.485) * 255));
    // Bytes multiplied in float64, an offset, a second division: the table only.
    expect(tensorTables(resolveTensorOptions({ formula: 'transformers-pil' })).quotients).toBeUndefined();
    expect(tensorTables(resolveTensorOptions({ rescaleOffset: 1 })).quotients).toBeUndefined();
    expect(tensorTables(resolveTensorOptions({ divideByStdTwice: true })).quotients).toBeUndefined();
    // Shared between calls with the same options; the public table is the caller's own copy.
    expect(tensorTables(resolveTensorOptions(undefined))).toBe(torchvision);
    expect(tensorLookupTable(resolveTensorOptions(undefined))).not.toBe(torchvision.lut);
  });
});
