/**
 * 8-bit RGB → normalised float32 tensor, bit-identical to torchvision's `ToTensor()` + `Normalize(mean, std)`.
 * @module
 */
import { PreprocessError } from './errors.js';
import { assertRawImage } from './image.js';
import * as is from './is.js';
import { RecentValues } from './recent.js';
import { tensorWasm } from './resample/wasm/engine.js';
import type {
  ChannelOrder,
  RawImage,
  TensorFormula,
  TensorLayout,
  TensorOptions,
  TensorTarget,
} from './types.js';

/**
 * The tensor formulas, see {@link TensorFormula}.
 *
 * @example
 * ```ts
 * TENSOR_FORMULAS.includes('transformers-pil'); // true
 * ```
 */
export const TENSOR_FORMULAS: readonly TensorFormula[] = [
  'torchvision',
  'transformers-torchvision',
  'transformers-pil',
];

/**
 * ImageNet mean (RGB), as torchvision's reference scripts give it.
 *
 * @example
 * ```ts
 * toTensor(image, { mean: IMAGENET_MEAN, std: IMAGENET_STD }); // the defaults
 * ```
 */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
/**
 * ImageNet standard deviation (RGB).
 *
 * @example
 * ```ts
 * toTensor(image, { mean: IMAGENET_MEAN, std: IMAGENET_STD }); // the defaults
 * ```
 */
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/**
 * {@link TensorOptions} with every default filled in.
 *
 * @example
 * ```ts
 * const { layout, channelOrder }: ResolvedTensorOptions = resolveTensorOptions({});
 * ```
 */
export interface ResolvedTensorOptions {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  scale: number;
  channelOrder: ChannelOrder;
  layout: TensorLayout;
  formula: TensorFormula;
  rescaleOffset: number;
  divideByStdTwice: boolean;
}

function assertTriple(
  value: unknown,
  name: string,
  prefix: string,
): asserts value is [number, number, number] {
  if (!Array.isArray(value) || value.length !== 3 || !value.every(is.number)) {
    throw is.invalidParameterError(`${prefix}${name}`, 'array of 3 finite numbers', value);
  }
}

/**
 * Validates tensor options and fills in the defaults (ImageNet mean/std, scale 255, RGB, NCHW). Throws
 * `INVALID_OPTION` for a mean/std that is not 3 finite numbers, a std that is 0 in float32, or a scale that is not
 * a positive finite number.
 *
 * @example
 * ```ts
 * resolveTensorOptions({ layout: 'NHWC' }).mean; // [0.485, 0.456, 0.406]
 * ```
 */
export function resolveTensorOptions(options: TensorOptions | undefined, prefix = ''): ResolvedTensorOptions {
  if (options === undefined) options = {};
  if (!is.plainObject(options)) throw is.invalidParameterError(`${prefix}options`, 'object', options);
  const {
    mean = IMAGENET_MEAN,
    std = IMAGENET_STD,
    scale = 255,
    channelOrder = 'RGB',
    layout = 'NCHW',
    formula = 'torchvision',
    rescaleOffset = 0,
    divideByStdTwice = false,
  } = options;
  assertTriple(mean, 'mean', prefix);
  assertTriple(std, 'std', prefix);
  if (std.some((s) => Math.fround(s) === 0)) {
    throw is.invalidParameterError(`${prefix}std`, 'non-zero values (in float32)', std);
  }
  if (!is.number(scale) || Math.fround(scale) <= 0 || !Number.isFinite(Math.fround(scale))) {
    throw is.invalidParameterError(`${prefix}scale`, 'positive finite number', scale);
  }
  if (!is.oneOf(channelOrder, ['RGB', 'BGR'] as const)) {
    throw is.invalidParameterError(`${prefix}channelOrder`, 'one of RGB, BGR', channelOrder);
  }
  if (!is.oneOf(layout, ['NCHW', 'NHWC'] as const)) {
    throw is.invalidParameterError(`${prefix}layout`, 'one of NCHW, NHWC', layout);
  }
  if (!is.oneOf(formula, TENSOR_FORMULAS)) {
    throw is.invalidParameterError(`${prefix}formula`, `one of ${TENSOR_FORMULAS.join(', ')}`, formula);
  }
  if (!is.number(rescaleOffset)) {
    throw is.invalidParameterError(`${prefix}rescaleOffset`, 'finite number', rescaleOffset);
  }
  if (typeof divideByStdTwice !== 'boolean') {
    throw is.invalidParameterError(`${prefix}divideByStdTwice`, 'boolean', divideByStdTwice);
  }
  return {
    mean: [mean[0], mean[1], mean[2]],
    std: [std[0], std[1], std[2]],
    scale,
    channelOrder,
    layout,
    formula,
    rescaleOffset,
    divideByStdTwice,
  };
}

/**
 * The float32 mean and std that colour `c`'s value (after rescaling) is normalised by: the options' own, or, in
 * transformers' fused torchvision backend, both multiplied by the float32 of `1 / rescale_factor` and applied to the
 * byte itself. (transformers holds rescale_factor = 1 / scale, a double; unfused, that backend multiplies the uint8
 * tensor by float32(rescale_factor), and its PIL backend multiplies bytes by it in float64.)
 */
function normalisation(
  { mean, std, scale, formula, rescaleOffset }: ResolvedTensorOptions,
  c: number,
): { fused: boolean; m: number; d: number } {
  const fused = formula === 'transformers-torchvision' && rescaleOffset === 0;
  const m = Math.fround(mean[c] as number);
  const d = Math.fround(std[c] as number);
  if (!fused) return { fused, m, d };
  const fusedScale = Math.fround(1 / (1 / scale));
  return { fused, m: Math.fround(m * fusedScale), d: Math.fround(d * fusedScale) };
}

/**
 * The float32 value of every byte for each colour (R, G, B: `lut[c * 256 + byte]`), computed as the library of
 * `formula` does it (see {@link TensorFormula}); by default as torch does it in float32: `x = byte / scale` (a
 * division, like `div(255)`), then `(x − mean) / std`. Each step is rounded to float32 (`Math.fround`); a double
 * result of one +, −, × or ÷ of float32 operands rounds to the correctly rounded float32.
 *
 * @example
 * ```ts
 * tensorLookupTable(resolveTensorOptions(undefined))[255]; // ≈ 2.2489 (red channel, byte 255)
 * ```
 */
export function tensorLookupTable(resolved: ResolvedTensorOptions): Float32Array {
  const { mean, std, scale, formula, rescaleOffset, divideByStdTwice } = resolved;
  const lut = new Float32Array(768);
  const s = Math.fround(scale);
  const rescaleFactor = 1 / scale;
  const offset = Math.fround(rescaleOffset);
  for (let c = 0; c < 3; c++) {
    const { fused, m, d: dNorm } = normalisation(resolved, c);
    const d = Math.fround(std[c]);
    for (let p = 0; p < 256; p++) {
      let x: number;
      if (fused) x = p;
      else if (formula === 'transformers-torchvision') x = Math.fround(p * Math.fround(rescaleFactor));
      else if (formula === 'transformers-pil') x = Math.fround(p * rescaleFactor);
      else x = Math.fround(p / s);
      if (rescaleOffset !== 0) x = Math.fround(x - offset);
      let v = Math.fround(Math.fround(x - m) / dNorm);
      if (divideByStdTwice) v = Math.fround(v / d);
      if (!Number.isFinite(v)) {
        throw new PreprocessError(
          'INVALID_OPTION',
          `Tensor options overflow float32: (${p} / ${scale} - ${mean[c]}) / ${std[c]} is not finite`,
        );
      }
      lut[c * 256 + p] = v;
    }
  }
  return lut;
}

/**
 * The two ways to the same floats: `lut` (see {@link tensorLookupTable}), and, where they give every entry of it to
 * the bit, per colour (R, G, B) the float32 constants `[divisor, mean, std]` of `((byte / divisor) − mean) / std` —
 * which the WebAssembly kernel computes sixteen values at a time, where a table is read one value at a time.
 */
export interface TensorTables {
  lut: Float32Array;
  quotients: Float32Array | undefined;
}

/**
 * The constants that give `lut` by arithmetic, or `undefined`: the candidate comes from the formula (torchvision:
 * `byte / scale`; transformers' torchvision backend: the byte with mean and std scaled), and is kept only if it
 * gives all 768 entries bit for bit (`Object.is`, so that −0 counts), in float32 as the kernel computes them.
 */
function quotientsOf(resolved: ResolvedTensorOptions, lut: Float32Array): Float32Array | undefined {
  const { scale, formula, rescaleOffset, divideByStdTwice } = resolved;
  if (rescaleOffset !== 0 || divideByStdTwice || formula === 'transformers-pil') return undefined;
  const quotients = new Float32Array(9);
  for (let c = 0; c < 3; c++) {
    const { fused, m, d } = normalisation(resolved, c);
    quotients.set([fused ? 1 : Math.fround(scale), m, d], 3 * c);
  }
  for (let c = 0; c < 3; c++) {
    const [divisor, m, d] = quotients.subarray(3 * c, 3 * c + 3) as unknown as [number, number, number];
    for (let p = 0; p < 256; p++) {
      const v = Math.fround(Math.fround(Math.fround(p / divisor) - m) / d);
      if (!Object.is(v, lut[c * 256 + p])) return undefined;
    }
  }
  return quotients;
}

/** The last few options' tables: a folder of images asks for the same ones image after image. */
const recentTables = new RecentValues<TensorTables>(8);

/**
 * {@link TensorTables} for `resolved`, shared between calls with the same options (callers must not modify them).
 *
 * @example
 * ```ts
 * const { lut, quotients } = tensorTables(resolveTensorOptions(undefined)); // quotients: [255, 0.485, 0.229, …]
 * ```
 */
export function tensorTables(resolved: ResolvedTensorOptions): TensorTables {
  return recentTables.get(JSON.stringify(resolved), () => {
    const lut = tensorLookupTable(resolved);
    return { lut, quotients: quotientsOf(resolved, lut) };
  });
}

/**
 * Shape of the tensor of `batch` images of `width` × `height` in `layout`: `[N, 3, H, W]` or `[N, H, W, 3]`.
 *
 * @example
 * ```ts
 * tensorShape('NCHW', 8, 224, 224); // [8, 3, 224, 224]
 * ```
 */
export function tensorShape(
  layout: TensorLayout,
  batch: number,
  width: number,
  height: number,
): [number, number, number, number] {
  return layout === 'NHWC' ? [batch, height, width, 3] : [batch, 3, height, width];
}

function assertRGB(image: RawImage, name: string): void {
  if (image.channels !== 3) {
    throw new PreprocessError(
      'CHANNELS_MISMATCH',
      `Expected a 3-channel RGB ${name} for the tensor but received ${image.channels} channel(s); convert it with toRGB() (or a { op: 'toRGB' } recipe step) first`,
    );
  }
}

function assertTarget(target: unknown, length: number): asserts target is TensorTarget {
  if (!is.plainObject(target)) throw is.invalidParameterError('target', 'object { out, offset }', target);
  const { out, offset } = target;
  if (!(out instanceof Float32Array)) throw is.invalidParameterError('target.out', 'Float32Array', out);
  if (!is.nonNegativeInteger(offset))
    throw is.invalidParameterError('target.offset', 'non-negative integer', offset);
  if (offset + length > out.length) {
    throw new PreprocessError(
      'INVALID_OPTION',
      `target.out is too small: ${length} values at offset ${offset} need length ≥ ${offset + length} but it has ${out.length}`,
    );
  }
}

/**
 * Writes the tensor of one validated RGB image at `out[offset ..]`.
 *
 * @example
 * ```ts
 * writeTensor(image, resolved, tensorTables(resolved), batch, 2 * 3 * 224 * 224);
 * ```
 */
export function writeTensor(
  image: RawImage,
  resolved: ResolvedTensorOptions,
  { lut, quotients }: TensorTables,
  out: Float32Array,
  offset: number,
): void {
  const src = image.data;
  const pixels = image.width * image.height;
  // With BGR, output channel 0 reads the blue byte and uses blue's table.
  const bgr = resolved.channelOrder === 'BGR';
  const c0 = bgr ? 2 : 0;
  const c2 = bgr ? 0 : 2;
  if (tensorWasm(src, pixels, lut, quotients, c0, c2, resolved.layout, out, offset)) return;
  const lut0 = lut.subarray(c0 * 256, c0 * 256 + 256);
  const lut1 = lut.subarray(256, 512);
  const lut2 = lut.subarray(c2 * 256, c2 * 256 + 256);
  if (resolved.layout === 'NCHW') {
    let o0 = offset;
    let o1 = offset + pixels;
    let o2 = offset + 2 * pixels;
    for (let p = 0; p < pixels * 3; p += 3) {
      out[o0++] = lut0[src[p + c0]];
      out[o1++] = lut1[src[p + 1]];
      out[o2++] = lut2[src[p + c2]];
    }
  } else {
    let o = offset;
    for (let p = 0; p < pixels * 3; p += 3) {
      out[o] = lut0[src[p + c0]];
      out[o + 1] = lut1[src[p + 1]];
      out[o + 2] = lut2[src[p + c2]];
      o += 3;
    }
  }
}

/**
 * Converts an 8-bit RGB image to a normalised float32 tensor (one image, no batch dimension in the data:
 * `3 × H × W` values), bit-identical to torchvision's `Normalize(mean, std)(ToTensor()(img))` with the defaults.
 * `mean` and `std` are always given per colour in R, G, B order; `channelOrder: 'BGR'` only reorders the output
 * (blue first, normalised with `mean[2]`/`std[2]`). With `target`, the values are written into `target.out` at
 * `target.offset` (no allocation, no copy) and the returned array is a view of that region.
 *
 * @example
 * ```ts
 * import { toTensor } from '@mtailor/preprocess';
 * const chw = toTensor(image224); // Float32Array(3 * 224 * 224), ImageNet-normalised, NCHW, RGB
 * const batch = new Float32Array(8 * 3 * 224 * 224);
 * toTensor(image224, {}, { out: batch, offset: 3 * 3 * 224 * 224 }); // 4th image of the batch
 * ```
 */
export function toTensor(image: RawImage, options?: TensorOptions, target?: TensorTarget): Float32Array {
  assertRawImage(image);
  assertRGB(image, 'image');
  const resolved = resolveTensorOptions(options);
  const tables = tensorTables(resolved);
  const length = 3 * image.width * image.height;
  if (target === undefined) {
    const out = new Float32Array(length);
    writeTensor(image, resolved, tables, out, 0);
    return out;
  }
  assertTarget(target, length);
  writeTensor(image, resolved, tables, target.out, target.offset);
  return target.out.subarray(target.offset, target.offset + length);
}

/**
 * One tensor for a batch of same-size RGB images, in `options.layout` (`[N, 3, H, W]` or `[N, H, W, 3]`): each
 * image is written straight into its slot. Throws `SIZE_MISMATCH` when the sizes differ.
 *
 * @example
 * ```ts
 * import { createBatchTensor, tensorShape } from '@mtailor/preprocess';
 * const data = createBatchTensor([a224, b224]); // Float32Array(2 * 3 * 224 * 224)
 * const dims = tensorShape('NCHW', 2, 224, 224);
 * ```
 */
export function createBatchTensor(images: readonly RawImage[], options?: TensorOptions): Float32Array {
  if (!Array.isArray(images) || images.length === 0) {
    throw is.invalidParameterError('images', 'non-empty array of images', images);
  }
  const resolved = resolveTensorOptions(options);
  const tables = tensorTables(resolved);
  const first = images[0];
  images.forEach((image, i) => {
    assertRawImage(image, `images[${i}]`);
    assertRGB(image, `images[${i}]`);
    if (image.width !== first.width || image.height !== first.height) {
      throw new PreprocessError(
        'SIZE_MISMATCH',
        `Expected every image of the batch to be ${first.width} × ${first.height} but images[${i}] is ${image.width} × ${image.height}`,
      );
    }
  });
  const length = 3 * first.width * first.height;
  const out = new Float32Array(images.length * length);
  for (let i = 0; i < images.length; i++) writeTensor(images[i], resolved, tables, out, i * length);
  return out;
}
