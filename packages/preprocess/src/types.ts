/**
 * Shared types of `@mtailor/preprocess`. The data path is: {@link RawImage} → resize / crop / toRGB → tensor.
 * @module
 */

/**
 * Number of interleaved channels of a {@link RawImage}: gray, RGB or RGBA.
 *
 * @example
 * ```ts
 * const channels: ChannelCount = info.channels as ChannelCount;
 * ```
 */
export type ChannelCount = 1 | 3 | 4;

/**
 * An 8-bit image in HWC interleaved order (row-major, channels interleaved), as decoders return it.
 * With `channels: 4` it is layout-compatible with the browser's `ImageData`.
 *
 * @example
 * ```ts
 * const image: RawImage = { data: new Uint8Array(2 * 1 * 3), width: 2, height: 1, channels: 3 };
 * ```
 */
export interface RawImage {
  /** Pixel bytes, `width * height * channels` long. */
  data: Uint8Array | Uint8ClampedArray;
  /** Width in pixels (≥ 1). */
  width: number;
  /** Height in pixels (≥ 1). */
  height: number;
  /** Interleaved channels per pixel. */
  channels: ChannelCount;
}

/**
 * Pillow's resampling filters (`PIL.Image.Resampling`), same names in lower case.
 *
 * @example
 * ```ts
 * resize(image, { width: 224, height: 224, filter: 'bicubic' satisfies ResampleFilter });
 * ```
 */
export type ResampleFilter = 'nearest' | 'box' | 'bilinear' | 'hamming' | 'bicubic' | 'lanczos';

/**
 * Which library's resize a resize reproduces, byte for byte:
 * - `'pil'` (default): Pillow's `Image.resize` on a PIL image — what torchvision v1 transforms, timm's eval
 *   transforms and transformers' `*ImageProcessorPil` run;
 * - `'torchvision'`: torch's antialiased resize of a uint8 CPU tensor —
 *   `torchvision.transforms.v2.functional.resize(uint8Tensor, size, interpolation, antialias=True)`, what
 *   transformers 5's default image processors (torchvision backend) and torchvision v2 pipelines on tensors run.
 *   Filters `'bilinear'`, `'bicubic'` and `'lanczos'` (torchvision ≥ 0.27) only.
 *
 * @example
 * ```ts
 * resize(image, { width: 224, height: 224, filter: 'bicubic', backend: 'torchvision' satisfies ResizeBackend });
 * ```
 */
export type ResizeBackend = 'pil' | 'torchvision';

/**
 * Options of {@link resize}.
 *
 * @example
 * ```ts
 * const options: ResizeOptions = { width: 224, height: 224, filter: 'bilinear' };
 * ```
 */
export interface ResizeOptions {
  /** Output width in pixels (positive integer). */
  width: number;
  /** Output height in pixels (positive integer). */
  height: number;
  /** Resampling filter, default `'bilinear'` (torchvision's default for `Resize`). */
  filter?: ResampleFilter;
  /** Whose resize to reproduce, default `'pil'`; see {@link ResizeBackend}. */
  backend?: ResizeBackend;
}

/**
 * Options of {@link resizeShorterSide} — torchvision `Resize(size: int, max_size=None)` semantics.
 *
 * @example
 * ```ts
 * const options: ResizeShorterSideOptions = { size: 256 }; // Resize(256)
 * ```
 */
export interface ResizeShorterSideOptions {
  /** Target length of the shorter side. */
  size: number;
  /** If set, the longer side is capped at this length (torchvision's `max_size`). */
  maxSize?: number;
  /** Resampling filter, default `'bilinear'`. */
  filter?: ResampleFilter;
  /** Whose resize to reproduce, default `'pil'`; see {@link ResizeBackend}. */
  backend?: ResizeBackend;
}

/**
 * Options of the `resizeKeepRatio` recipe step — timm's `ResizeKeepRatio(size=(height, width), longest)`: with
 * `ratio = max(h / height, w / width) · longest + min(h / height, w / width) · (1 − longest)`, the image is resized
 * to `round(h / ratio)` × `round(w / ratio)` (Python's half-to-even `round`). `longest: 0` fits the shorter side
 * (timm's `crop_mode='center'` with a non-square size), `longest: 1` the longer (`crop_mode='border'`).
 *
 * @example
 * ```ts
 * const options: ResizeKeepRatioOptions = { width: 240, height: 240, longest: 1, filter: 'bicubic' };
 * ```
 */
export interface ResizeKeepRatioOptions {
  /** Target width (timm's `size[1]`). */
  width: number;
  /** Target height (timm's `size[0]`). */
  height: number;
  /** Weight of the longer side's ratio, 0 to 1; default 0 (timm's default). */
  longest?: number;
  /** Resampling filter, default `'bilinear'` (timm's default for `ResizeKeepRatio`). */
  filter?: ResampleFilter;
  /** Whose resize to reproduce, default `'pil'`; see {@link ResizeBackend}. */
  backend?: ResizeBackend;
}

/**
 * Where a center crop takes its window, and how it pads an image smaller than the crop (margin `m = size − crop`
 * per axis, `offset` = first source row/column, negative = padding before the image):
 * - `'torchvision'` (default): torchvision's `CenterCrop` (and timm's `CenterCropOrPad`): `m ≥ 0` →
 *   `round(m / 2)` half-to-even; `m < 0` → `−floor(−m / 2)`;
 * - `'transformers-torchvision'`: transformers' torchvision backend `center_crop`: `m ≥ 0` → `floor(m / 2)`;
 *   `m < 0` → `−floor(−m / 2)`;
 * - `'transformers-pil'`: transformers' PIL backend (`image_transforms.center_crop`): `floor(m / 2)` for both signs.
 *
 * @example
 * ```ts
 * const step: PreprocessStep = { op: 'centerCrop', width: 224, height: 224, offsets: 'transformers-pil' };
 * ```
 */
export type CenterCropOffsets = 'torchvision' | 'transformers-torchvision' | 'transformers-pil';

/**
 * Options of {@link centerCrop} — torchvision `CenterCrop((height, width))`.
 *
 * @example
 * ```ts
 * const options: CenterCropOptions = { width: 224, height: 224 }; // CenterCrop(224)
 * ```
 */
export interface CenterCropOptions {
  width: number;
  height: number;
  /** Window and padding rule, default `'torchvision'`; see {@link CenterCropOffsets}. */
  offsets?: CenterCropOffsets;
  /**
   * Colour of the padding where the crop is larger than the image: one byte per channel (or one byte for all),
   * default 0 — timm's `CenterCropOrPad(size, fill)`.
   */
  fill?: readonly number[];
}

/**
 * Channel order of the output tensor.
 *
 * @example
 * ```ts
 * toTensor(image, { channelOrder: 'BGR' satisfies ChannelOrder });
 * ```
 */
export type ChannelOrder = 'RGB' | 'BGR';
/**
 * Memory layout of the output tensor.
 *
 * @example
 * ```ts
 * toTensor(image, { layout: 'NHWC' satisfies TensorLayout });
 * ```
 */
export type TensorLayout = 'NCHW' | 'NHWC';

/**
 * The float32 arithmetic of the tensor conversion; each reproduces one library to the last bit (`m`, `s` = mean and
 * std as float32, `p` = the byte, every operation rounded to float32 unless said otherwise):
 * - `'torchvision'` (default): `ToTensor()` + `Normalize(mean, std)` (torchvision, timm):
 *   `x = p / scale`, `out = (x − m) / s`;
 * - `'transformers-torchvision'`: transformers 5's torchvision backend, which fuses rescale into normalize:
 *   `out = (p − m·scale) / (s·scale)` with `m·scale` and `s·scale` rounded to float32 (`scale` = 1 / `rescale_factor`);
 * - `'transformers-pil'`: transformers' PIL backend (numpy): `x = float32(p × (1 / scale))` with the product in
 *   float64, then `out = (x − m) / s`.
 *
 * @example
 * ```ts
 * const options: TensorOptions = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], formula: 'transformers-torchvision' };
 * ```
 */
export type TensorFormula = 'torchvision' | 'transformers-torchvision' | 'transformers-pil';

/**
 * Options of {@link toTensor}: by default `out = (pixel / scale − mean[c]) / std[c]`, computed in float32 exactly as
 * torchvision's `ToTensor()` + `Normalize(mean, std)` do; `formula` selects transformers' arithmetic instead.
 *
 * @example
 * ```ts
 * const options: TensorOptions = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], layout: 'NCHW' };
 * ```
 */
export interface TensorOptions {
  /** Per-channel mean in the scaled range, default ImageNet `[0.485, 0.456, 0.406]`. */
  mean?: readonly [number, number, number];
  /** Per-channel standard deviation in the scaled range, default ImageNet `[0.229, 0.224, 0.225]`. */
  std?: readonly [number, number, number];
  /** Pixels are divided by this first; default 255 (torchvision `ToTensor`). Use 1 to keep 0–255. */
  scale?: number;
  /** Default `'RGB'`. */
  channelOrder?: ChannelOrder;
  /** Default `'NCHW'`. */
  layout?: TensorLayout;
  /** Which library's float32 arithmetic, default `'torchvision'`; see {@link TensorFormula}. */
  formula?: TensorFormula;
  /**
   * Subtracted right after the rescale, in float32, default 0: transformers' EfficientNet `rescale_offset: true`
   * is 1 (pixels in [−1, 1]). transformers then rescales and normalises separately, so with
   * `'transformers-torchvision'` the rescale is `p × float32(1 / scale)` in float32 instead of the fused formula.
   */
  rescaleOffset?: number;
  /**
   * Divide by `std` once more after normalising, in float32, default false: transformers' EfficientNet
   * `include_top: true` (its default) runs `normalize(image, 0, std)` after the normalisation.
   */
  divideByStdTwice?: boolean;
}

/**
 * One step of a {@link PreprocessRecipe}; plain JSON data.
 *
 * @example
 * ```ts
 * const step: PreprocessStep = { op: 'resizeShorterSide', size: 256 };
 * ```
 */
export type PreprocessStep =
  /** Convert to 3-channel RGB the way PIL `convert('RGB')` does (gray replicated, alpha dropped). */
  | { op: 'toRGB' }
  /** Resize to an exact size (torchvision `Resize((h, w))`). */
  | { op: 'resize'; width: number; height: number; filter?: ResampleFilter; backend?: ResizeBackend }
  /** Resize the shorter side (torchvision `Resize(int)`). */
  | {
      op: 'resizeShorterSide';
      size: number;
      maxSize?: number;
      filter?: ResampleFilter;
      backend?: ResizeBackend;
    }
  /** Resize keeping the aspect ratio with timm's `ResizeKeepRatio` rounding ({@link ResizeKeepRatioOptions}). */
  | ({ op: 'resizeKeepRatio' } & ResizeKeepRatioOptions)
  /** Center crop (torchvision's offsets and zero padding by default; see {@link CenterCropOptions}). */
  | ({ op: 'centerCrop' } & CenterCropOptions);

/**
 * A whole preprocessing pipeline as JSON-serialisable data: image steps, then the tensor conversion.
 * The recipe travels with a model (see `@mtailor/core`'s model manifest).
 *
 * @example
 * ```ts
 * const recipe: PreprocessRecipe = { steps: [{ op: 'toRGB' }], tensor: {} };
 * ```
 */
export interface PreprocessRecipe {
  /** Optional human-readable name, e.g. `'resize-224'`. */
  name?: string;
  /** Image steps applied in order. The image must be 3-channel RGB after the steps. */
  steps: PreprocessStep[];
  /** Tensor conversion. */
  tensor: TensorOptions;
}

/**
 * Where {@link toTensor} writes: `out[offset ..]` of a preallocated buffer, e.g. the slot of one image in a batch
 * tensor. `offset` is counted in elements (floats), not bytes.
 *
 * @example
 * ```ts
 * toTensor(image, {}, { out: batch, offset: i * 3 * 224 * 224 } satisfies TensorTarget);
 * ```
 */
export interface TensorTarget {
  /** The buffer to write into. */
  out: Float32Array;
  /** Element index of the first value written. */
  offset: number;
}

/**
 * What {@link preprocess} returns: the tensor of one image and the image size it was computed at.
 *
 * @example
 * ```ts
 * const { tensor, width, height }: PreprocessResult = preprocess(image, getPreset('resize-224'));
 * ```
 */
export interface PreprocessResult {
  /** `3 × height × width` floats in the recipe's layout (a view into the target buffer when one was given). */
  tensor: Float32Array;
  /** Width of the image after the recipe's steps. */
  width: number;
  /** Height of the image after the recipe's steps. */
  height: number;
}
