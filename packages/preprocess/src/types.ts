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
}

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
 * Options of {@link toTensor}: `out = (pixel / scale − mean[c]) / std[c]`, computed in float32 exactly as
 * torchvision's `ToTensor()` + `Normalize(mean, std)` do.
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
  | { op: 'resize'; width: number; height: number; filter?: ResampleFilter }
  /** Resize the shorter side (torchvision `Resize(int)`). */
  | { op: 'resizeShorterSide'; size: number; maxSize?: number; filter?: ResampleFilter }
  /** Center crop with torchvision's offsets and zero padding. */
  | { op: 'centerCrop'; width: number; height: number };

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
