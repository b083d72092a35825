/** Bad input → PreprocessError with a stable code and a sharp-form message; never a NaN tensor. */
import {
  centerCrop,
  createBatchTensor,
  getPreset,
  PreprocessError,
  type PreprocessRecipe,
  preprocess,
  type RawImage,
  recipeOutputSize,
  resize,
  resizeShorterSide,
  toRGB,
  toTensor,
  validateRecipe,
} from '@mtailor/preprocess';
import { describe, expect, it } from 'vitest';

const rgb = (width = 4, height = 3): RawImage => ({
  data: new Uint8Array(width * height * 3).map((_, i) => (i * 37) & 255),
  width,
  height,
  channels: 3,
});

/** Runs `fn`, expects a PreprocessError and returns it. */
function caught(fn: () => unknown): PreprocessError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PreprocessError);
    return err as PreprocessError;
  }
  throw new Error('expected a PreprocessError, nothing was thrown');
}

describe('INVALID_IMAGE_BUFFER', () => {
  it.each([
    [
      'data too short',
      { ...rgb(), data: new Uint8Array(35) },
      /Expected image\.data of length 36 \(4 × 3 × 3\) but received length 35/,
    ],
    [
      'data not bytes',
      { ...rgb(), data: [1, 2, 3] },
      /Expected Uint8Array or Uint8ClampedArray for image\.data but received \[1,2,3\] of type array/,
    ],
    [
      'Float32Array data',
      { ...rgb(), data: new Float32Array(36) },
      /for image\.data but received Float32Array\(36\) of type object/,
    ],
    [
      'width 0',
      { ...rgb(), width: 0 },
      /Expected positive integer for image\.width but received 0 of type number/,
    ],
    ['fractional height', { ...rgb(), height: 2.5 }, /for image\.height but received 2\.5/],
    [
      '2 channels',
      { ...rgb(), channels: 2 },
      /Expected one of 1, 3, 4 for image\.channels but received 2 of type number/,
    ],
    ['not an object', null, /for image but received null of type null/],
  ])('%s', (_label, image, message) => {
    const err = caught(() => resize(image as RawImage, { width: 2, height: 2 }));
    expect(err.code).toBe('INVALID_IMAGE_BUFFER');
    expect(err.message).toMatch(message);
  });

  it('is checked by every entry point', () => {
    const bad = { ...rgb(), data: new Uint8Array(1) };
    for (const fn of [
      () => toRGB(bad),
      () => centerCrop(bad, { width: 1, height: 1 }),
      () => resizeShorterSide(bad, { size: 2 }),
      () => toTensor(bad),
      () => createBatchTensor([rgb(), bad]),
      () => preprocess(bad, getPreset('resize-224')),
    ]) {
      expect(caught(fn).code).toBe('INVALID_IMAGE_BUFFER');
    }
  });

  it('accepts a Node Buffer and a Uint8ClampedArray (ImageData.data)', () => {
    const clamped = { data: new Uint8ClampedArray(16), width: 2, height: 2, channels: 4 as const };
    expect(toRGB(clamped).data).toHaveLength(12);
    const buffer = { ...rgb(), data: Buffer.alloc(36, 7) };
    expect(resize(buffer, { width: 2, height: 2 }).data.every((v) => v === 7)).toBe(true);
  });
});

describe('INVALID_OPTION', () => {
  it('resize: sizes and filter', () => {
    expect(caught(() => resize(rgb(), { width: -1, height: 2 })).message).toBe(
      'Expected integer between 1 and 65535 for width but received -1 of type number',
    );
    expect(caught(() => resize(rgb(), { width: 2, height: Number.NaN })).message).toMatch(
      /for height but received NaN/,
    );
    expect(caught(() => resize(rgb(), { width: 70000, height: 2 })).code).toBe('INVALID_OPTION');
    expect(caught(() => resize(rgb(), { width: 30000, height: 30000 })).message).toMatch(/exceeds the limit/);
    const err = caught(() => resize(rgb(), { width: 2, height: 2, filter: 'cubic' as never }));
    expect(err.code).toBe('INVALID_OPTION');
    expect(err.message).toBe(
      'Expected one of nearest, box, bilinear, hamming, bicubic, lanczos for filter but received "cubic" of type string',
    );
    expect(caught(() => resize(rgb(), undefined as never)).code).toBe('INVALID_OPTION');
  });

  it('resizeShorterSide: size and maxSize (maxSize must exceed size, like torchvision)', () => {
    expect(caught(() => resizeShorterSide(rgb(), { size: 0 })).message).toBe(
      'Expected positive integer for size but received 0 of type number',
    );
    expect(caught(() => resizeShorterSide(rgb(), { size: 10, maxSize: 10 })).message).toMatch(
      /Expected integer greater than size \(10\) for maxSize but received 10/,
    );
  });

  it('centerCrop: sizes', () => {
    expect(caught(() => centerCrop(rgb(), { width: 2, height: 0 })).code).toBe('INVALID_OPTION');
  });

  it("backend 'torchvision': only torch's antialiased filters; unknown backends", () => {
    const err = caught(() =>
      resize(rgb(), { width: 2, height: 2, filter: 'hamming', backend: 'torchvision' }),
    );
    expect(err.code).toBe('INVALID_OPTION');
    expect(err.message).toBe(
      `Expected one of bilinear, bicubic, lanczos for filter (backend 'torchvision') but received "hamming" of type string`,
    );
    expect(caught(() => resizeShorterSide(rgb(), { size: 2, backend: 'torch' as never })).message).toBe(
      'Expected one of pil, torchvision for backend but received "torch" of type string',
    );
  });

  it('centerCrop: offsets and fill (one byte per channel, or one for all)', () => {
    expect(
      caught(() => centerCrop(rgb(), { width: 2, height: 2, offsets: 'floor' as never })).message,
    ).toMatch(/one of torchvision, transformers-torchvision, transformers-pil for offsets/);
    expect(caught(() => centerCrop(rgb(), { width: 2, height: 2, fill: [256, 0, 0] })).message).toMatch(
      /array of 1 to 4 integers between 0 and 255 for fill but received \[256,0,0\]/,
    );
    const mismatch = caught(() => centerCrop(rgb(), { width: 9, height: 9, fill: [1, 2] }));
    expect(mismatch.code).toBe('CHANNELS_MISMATCH');
  });

  it('toTensor: mean, std, scale, layout, channelOrder, target', () => {
    const cases: [unknown, RegExp][] = [
      [
        { mean: [0.5, 0.5] },
        /Expected array of 3 finite numbers for mean but received \[0\.5,0\.5\] of type array/,
      ],
      [{ std: [0.2, 0, 0.2] }, /Expected non-zero values \(in float32\) for std/],
      [{ std: [0.2, 1e-50, 0.2] }, /non-zero values \(in float32\)/],
      [{ std: [0.2, Number.NaN, 0.2] }, /array of 3 finite numbers for std/],
      [{ scale: 0 }, /Expected positive finite number for scale but received 0/],
      [{ scale: -255 }, /for scale/],
      [{ layout: 'CHW' }, /Expected one of NCHW, NHWC for layout but received "CHW"/],
      [{ channelOrder: 'rgb' }, /Expected one of RGB, BGR for channelOrder/],
      [{ std: [1e-40, 1, 1] }, /overflow float32/],
    ];
    for (const [options, message] of cases) {
      const err = caught(() => toTensor(rgb(), options as never));
      expect(err.code).toBe('INVALID_OPTION');
      expect(err.message).toMatch(message);
    }
    const small = new Float32Array(10);
    expect(caught(() => toTensor(rgb(), {}, { out: small, offset: 0 })).message).toMatch(
      /target\.out is too small: 36 values at offset 0 need length ≥ 36 but it has 10/,
    );
    expect(caught(() => toTensor(rgb(), {}, { out: new Float32Array(72), offset: 37 })).message).toMatch(
      /too small/,
    );
    expect(caught(() => toTensor(rgb(), {}, { out: new Float32Array(72), offset: -1 })).code).toBe(
      'INVALID_OPTION',
    );
    expect(caught(() => toTensor(rgb(), {}, { out: new Float64Array(72) as never, offset: 0 })).code).toBe(
      'INVALID_OPTION',
    );
  });

  it('createBatchTensor: empty batch', () => {
    expect(caught(() => createBatchTensor([])).message).toBe(
      'Expected non-empty array of images for images but received [] of type array',
    );
  });
});

describe('CHANNELS_MISMATCH and SIZE_MISMATCH', () => {
  it('toTensor needs RGB and says how to get it', () => {
    const gray: RawImage = { data: new Uint8Array(4), width: 2, height: 2, channels: 1 };
    const err = caught(() => toTensor(gray));
    expect(err.code).toBe('CHANNELS_MISMATCH');
    expect(err.message).toMatch(/received 1 channel\(s\); convert it with toRGB\(\)/);
  });

  it('a recipe without toRGB on an RGBA image', () => {
    const rgba: RawImage = { data: new Uint8Array(16 * 16 * 4), width: 16, height: 16, channels: 4 };
    const recipe: PreprocessRecipe = { steps: [{ op: 'resize', width: 8, height: 8 }], tensor: {} };
    expect(caught(() => preprocess(rgba, recipe)).code).toBe('CHANNELS_MISMATCH');
    // With toRGB first it works.
    expect(preprocess(rgba, { ...recipe, steps: [{ op: 'toRGB' }, ...recipe.steps] }).tensor).toHaveLength(
      192,
    );
  });

  it('batch of different sizes', () => {
    const err = caught(() => createBatchTensor([rgb(4, 3), rgb(3, 4)]));
    expect(err.code).toBe('SIZE_MISMATCH');
    expect(err.message).toBe('Expected every image of the batch to be 4 × 3 but images[1] is 3 × 4');
  });
});

describe('INVALID_RECIPE', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'not an object',
      'resize-224',
      /Expected object \{ steps, tensor \} for recipe but received "resize-224"/,
    ],
    ['steps missing', { tensor: {} }, /Expected array of steps for recipe\.steps but received undefined/],
    [
      'unknown op',
      { steps: [{ op: 'rotate' }], tensor: {} },
      /for recipe\.steps\[0\]\.op but received "rotate"/,
    ],
    [
      'unknown key (typo)',
      { steps: [{ op: 'resize', width: 224, hieght: 224 }], tensor: {} },
      /Unknown key "hieght" in recipe\.steps\[0\]/,
    ],
    [
      'bad size',
      { steps: [{ op: 'resize', width: 224, height: '224' }], tensor: {} },
      /for recipe\.steps\[0\]\.height but received "224" of type string/,
    ],
    [
      'bad filter',
      { steps: [{ op: 'resizeShorterSide', size: 256, filter: 'area' }], tensor: {} },
      /for recipe\.steps\[0\]\.filter but received "area"/,
    ],
    [
      'bad crop',
      { steps: [{ op: 'centerCrop', width: 0, height: 224 }], tensor: {} },
      /for recipe\.steps\[0\]\.width but received 0/,
    ],
    ['tensor missing', { steps: [] }, /Expected object for recipe\.tensor but received undefined/],
    ['bad std', { steps: [], tensor: { std: [1, 0, 1] } }, /for recipe\.tensor\.std/],
    [
      'unknown tensor key',
      { steps: [], tensor: { dtype: 'float16' } },
      /Unknown key "dtype" in recipe\.tensor/,
    ],
    ['unknown recipe key', { steps: [], tensor: {}, version: 2 }, /Unknown key "version" in recipe/],
    ['bad name', { name: 3, steps: [], tensor: {} }, /Expected string for recipe\.name but received 3/],
    [
      'a filter the torchvision backend does not reproduce',
      { steps: [{ op: 'resize', width: 9, height: 9, filter: 'box', backend: 'torchvision' }], tensor: {} },
      /for recipe\.steps\[0\]\.filter \(backend 'torchvision'\) but received "box"/,
    ],
    [
      'bad backend',
      { steps: [{ op: 'resizeShorterSide', size: 9, backend: 'opencv' }], tensor: {} },
      /for recipe\.steps\[0\]\.backend but received "opencv"/,
    ],
    [
      'resizeKeepRatio longest out of range',
      { steps: [{ op: 'resizeKeepRatio', width: 9, height: 9, longest: 1.5 }], tensor: {} },
      /number between 0 and 1 for recipe\.steps\[0\]\.longest but received 1\.5/,
    ],
    [
      'resizeKeepRatio unknown key',
      { steps: [{ op: 'resizeKeepRatio', size: 9 }], tensor: {} },
      /Unknown key "size" in recipe\.steps\[0\]/,
    ],
    [
      'bad crop fill',
      { steps: [{ op: 'centerCrop', width: 9, height: 9, fill: 'mean' }], tensor: {} },
      /for recipe\.steps\[0\]\.fill but received "mean"/,
    ],
    [
      'bad rescaleOffset',
      { steps: [], tensor: { rescaleOffset: '1' } },
      /finite number for recipe\.tensor\.rescaleOffset but received "1"/,
    ],
    [
      'bad divideByStdTwice',
      { steps: [], tensor: { divideByStdTwice: 1 } },
      /boolean for recipe\.tensor\.divideByStdTwice but received 1/,
    ],
    [
      'bad tensor formula',
      { steps: [], tensor: { formula: 'fused' } },
      /one of torchvision, transformers-torchvision, transformers-pil for recipe\.tensor\.formula/,
    ],
  ];
  it.each(cases)('%s', (_label, recipe, message) => {
    for (const fn of [
      () => validateRecipe(recipe),
      () => preprocess(rgb(), recipe as PreprocessRecipe),
      () => recipeOutputSize(recipe as PreprocessRecipe, 10, 10),
    ]) {
      const err = caught(fn);
      expect(err.code).toBe('INVALID_RECIPE');
      expect(err.message).toMatch(message);
    }
  });

  it('unknown preset', () => {
    const err = caught(() => getPreset('resnet' as never));
    expect(err.code).toBe('INVALID_RECIPE');
    expect(err.message).toBe('Unknown preset "resnet"; expected one of resize-224, imagenet-eval');
  });

  it('valid JSON recipes round-trip', () => {
    const json = JSON.parse(JSON.stringify(getPreset('imagenet-eval')));
    expect(validateRecipe(json)).toEqual(getPreset('imagenet-eval'));
    const hub = {
      steps: [
        { op: 'toRGB' },
        { op: 'resizeKeepRatio', width: 200, height: 240, longest: 1, filter: 'bicubic', backend: 'pil' },
        { op: 'resizeShorterSide', size: 256, filter: 'lanczos', backend: 'torchvision' },
        { op: 'centerCrop', width: 224, height: 224, offsets: 'transformers-pil', fill: [124, 116, 104] },
      ],
      tensor: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], formula: 'transformers-torchvision' },
    };
    expect(validateRecipe(JSON.parse(JSON.stringify(hub)))).toEqual(hub);
  });
});
