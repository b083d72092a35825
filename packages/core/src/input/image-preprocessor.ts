/**
 * The whole input side of the data path in one object: bytes (buffer, file, stream) → decode → preprocess → tensor.
 * @module
 */
import {
  getPreset,
  PRESETS,
  PreprocessError,
  type PreprocessRecipe,
  type PresetName,
  preprocess,
  type TensorLayout,
  toTensor,
  validateRecipe,
} from '@mtailor/preprocess';
import sharp from 'sharp';
import { InvalidOptionError, MtailorError } from '../errors.js';
import * as is from '../is.js';
import { type DecodedImage, decodeImage, decodeImagePixels, type ImageSourceInfo } from './decode-image.js';
import { type FastPlan, fastResize, planFastResize } from './fast-resize.js';
import { detectImageFormat } from './image-format.js';
import { type ImageInput, readImageBytes } from './read-image-bytes.js';
import { appliesOrientation, readHeader, type SharpDecodeSettings, toImageError } from './sharp-input.js';

/**
 * How the resize is computed: `exact` (Pillow-identical, `@mtailor/preprocess`) or `fast` (libvips' kernels; not
 * bit-exact, see `docs/decoding.md`).
 *
 * @example
 * ```ts
 * const resize: ResizeEngine = 'exact';
 * ```
 */
export type ResizeEngine = 'exact' | 'fast';

/**
 * Default byte limit of one encoded image: 50 MiB.
 *
 * @example
 * ```ts
 * new ImagePreprocessor({ maxInputBytes: 2 * DEFAULT_MAX_INPUT_BYTES });
 * ```
 */
export const DEFAULT_MAX_INPUT_BYTES = 50 * 1024 * 1024;
/**
 * Default pixel limit of one image: 100 megapixels (e.g. 12 000 × 8 000).
 *
 * @example
 * ```ts
 * new ImagePreprocessor({ maxPixels: DEFAULT_MAX_PIXELS / 4 });
 * ```
 */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/**
 * Options of {@link ImagePreprocessor}.
 *
 * @example
 * ```ts
 * const options: ImagePreprocessorOptions = { recipe: 'imagenet-eval', resize: 'exact', autoOrient: false };
 * ```
 */
export interface ImagePreprocessorOptions {
  /**
   * The preprocessing recipe or a preset name. Default `'resize-224'`: `convert('RGB')`, `Resize((224, 224))`
   * bilinear, `ToTensor()`, `Normalize(ImageNet)` — the seed model's pipeline.
   */
  recipe?: PreprocessRecipe | PresetName;
  /** Default `'exact'` (bit-identical to torchvision on PIL). `'fast'`: libvips resizes (see the README). */
  resize?: ResizeEngine;
  /**
   * Rotate by the EXIF orientation first. Default `true` (photos come out upright); `false` reproduces
   * torchvision, whose `Image.open` ignores EXIF orientation.
   */
  autoOrient?: boolean;
  /** Refuse encoded inputs over this many bytes (checked while reading). Default 50 MiB. */
  maxInputBytes?: number;
  /** Refuse images over this many pixels, from the header, before decoding. Default 100 000 000. */
  maxPixels?: number;
}

/**
 * What {@link ImagePreprocessor.process} returns.
 *
 * @example
 * ```ts
 * const { tensor, source, timings }: PreprocessedImage = await preprocessor.process('cat.jpg');
 * console.log(source.format, source.width, source.height, timings.decodeMs);
 * ```
 */
export interface PreprocessedImage {
  /** `3 × height × width` float32 values in the recipe's layout (a view into `target.out` when one was given). */
  tensor: Float32Array;
  /** Width of the tensor's image. */
  width: number;
  /** Height of the tensor's image. */
  height: number;
  /** The decoded source image. */
  source: ImageSourceInfo;
  /** Milliseconds per stage: reading the bytes, decoding, preprocessing (resize, crop, tensor). */
  timings: { readMs: number; decodeMs: number; preprocessMs: number };
}

const OPTION_KEYS = ['recipe', 'resize', 'autoOrient', 'maxInputBytes', 'maxPixels'];
const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

function resolveRecipe(recipe: ImagePreprocessorOptions['recipe']): PreprocessRecipe {
  if (recipe === undefined) return getPreset('resize-224');
  if (typeof recipe === 'string') {
    if (!is.oneOf(recipe, PRESET_NAMES)) {
      throw is.invalidParameterError(
        'recipe',
        `a recipe object or one of: ${PRESET_NAMES.join(', ')}`,
        recipe,
      );
    }
    return getPreset(recipe);
  }
  try {
    // A private deep copy: later edits of the caller's object cannot change this preprocessor.
    return validateRecipe(structuredClone(recipe));
  } catch (err) {
    if (err instanceof PreprocessError) throw new InvalidOptionError(err.message, { cause: err });
    throw is.invalidParameterError('recipe', 'a JSON recipe object { steps, tensor }', recipe);
  }
}

/** The output size when every input gives the same one (the recipe ends with a fixed-size step). */
function fixedOutputSize(recipe: PreprocessRecipe): { width: number; height: number } | undefined {
  let size: { width: number; height: number } | undefined;
  for (const step of recipe.steps) {
    if (step.op === 'resize' || step.op === 'centerCrop') size = { width: step.width, height: step.height };
    else if (step.op === 'resizeShorterSide' || step.op === 'resizeKeepRatio') size = undefined;
  }
  return size;
}

function msSince(start: number): number {
  return performance.now() - start;
}

let sharpConfigured = false;
/**
 * libvips' operation cache keeps recent decodes keyed by input; a service decodes each image once, so the cache only
 * costs memory and time (measured in bench/decode.bench.mjs). Turned off once, on the first ImagePreprocessor.
 */
function configureSharp(): void {
  if (sharpConfigured) return;
  sharp.cache(false);
  sharpConfigured = true;
}

/**
 * Turns images (bytes, file paths, streams) into model input tensors: reads the bytes under a size limit, decodes
 * them with sharp exactly as PIL's `Image.open(f).convert('RGB')` does, and applies a `@mtailor/preprocess` recipe.
 * Immutable and safe to share: one instance can process many images concurrently.
 *
 * @example
 * ```ts
 * import { ImagePreprocessor } from '@mtailor/core';
 * const preprocessor = new ImagePreprocessor({ recipe: 'resize-224' });
 * const { tensor, width, height, timings } = await preprocessor.process('n01440764_tench.JPEG');
 * // tensor: Float32Array(3 * 224 * 224), NCHW, ImageNet-normalised — torchvision's tensor, bit for bit
 * ```
 */
export class ImagePreprocessor {
  /** The validated recipe (a private copy). */
  readonly recipe: PreprocessRecipe;
  /** The resize engine. */
  readonly resize: ResizeEngine;
  /** Whether EXIF orientation is applied. */
  readonly autoOrient: boolean;
  /** Byte limit of one encoded input. */
  readonly maxInputBytes: number;
  /** Pixel limit of one image. */
  readonly maxPixels: number;
  /** Width of every output tensor's image, or `undefined` when it depends on the input (no final fixed size). */
  readonly outputWidth: number | undefined;
  /** Height of every output tensor's image, or `undefined` when it depends on the input. */
  readonly outputHeight: number | undefined;
  readonly #settings: SharpDecodeSettings;
  readonly #fastPlan: FastPlan | undefined;

  /**
   * @throws {InvalidOptionError} an unknown option, a value of the wrong type or range, an invalid recipe, or a
   *   recipe the `fast` engine cannot run.
   */
  constructor(options: ImagePreprocessorOptions = {}) {
    if (!is.plainObject(options)) throw is.invalidParameterError('options', 'object', options);
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.includes(key)) {
        throw new InvalidOptionError(
          `Unknown option ${JSON.stringify(key)} for ImagePreprocessor; expected one of ${OPTION_KEYS.join(', ')}`,
        );
      }
    }
    const { resize = 'exact', autoOrient = true } = options;
    const { maxInputBytes = DEFAULT_MAX_INPUT_BYTES, maxPixels = DEFAULT_MAX_PIXELS } = options;
    if (!is.oneOf(resize, ['exact', 'fast'] as const)) {
      throw is.invalidParameterError('resize', 'one of: exact, fast', resize);
    }
    if (!is.bool(autoOrient)) throw is.invalidParameterError('autoOrient', 'boolean', autoOrient);
    if (!is.positiveInteger(maxInputBytes)) {
      throw is.invalidParameterError('maxInputBytes', 'positive integer', maxInputBytes);
    }
    if (!is.positiveInteger(maxPixels))
      throw is.invalidParameterError('maxPixels', 'positive integer', maxPixels);
    this.recipe = resolveRecipe((options as ImagePreprocessorOptions).recipe);
    this.resize = resize;
    this.autoOrient = autoOrient;
    this.maxInputBytes = maxInputBytes;
    this.maxPixels = maxPixels;
    this.#settings = { autoOrient, maxPixels };
    this.#fastPlan = resize === 'fast' ? planFastResize(this.recipe) : undefined;
    const size = fixedOutputSize(this.recipe);
    this.outputWidth = size?.width;
    this.outputHeight = size?.height;
    configureSharp();
  }

  /** The options this preprocessor was built with (a fresh object; the recipe is a copy). */
  get options(): Required<ImagePreprocessorOptions> {
    return {
      recipe: structuredClone(this.recipe),
      resize: this.resize,
      autoOrient: this.autoOrient,
      maxInputBytes: this.maxInputBytes,
      maxPixels: this.maxPixels,
    };
  }

  /** The tensor layout the recipe produces. */
  get layout(): TensorLayout {
    return this.recipe.tensor.layout ?? 'NCHW';
  }

  /**
   * A preprocessor identical to this one but writing tensors in `layout` (the classifier sets the model's layout).
   *
   * @example
   * ```ts
   * const nhwc = new ImagePreprocessor().withLayout('NHWC');
   * ```
   */
  withLayout(layout: TensorLayout): ImagePreprocessor {
    if (!is.oneOf(layout, ['NCHW', 'NHWC'] as const)) {
      throw is.invalidParameterError('layout', 'one of: NCHW, NHWC', layout);
    }
    if (layout === this.layout) return this;
    const recipe = structuredClone(this.recipe);
    recipe.tensor.layout = layout;
    return new ImagePreprocessor({ ...this.options, recipe });
  }

  /**
   * Reads and decodes one image to 8-bit RGB pixels (PIL's `convert('RGB')`, byte for byte), with what the header
   * says about it. Does not resize.
   *
   * @throws {UnsupportedImageError} | {InvalidImageError} | {ImageTooLargeError} | {ImageReadError}
   *
   * @example
   * ```ts
   * const { image, format, orientation } = await new ImagePreprocessor().decode('photo.jpg');
   * ```
   */
  async decode(input: ImageInput): Promise<DecodedImage> {
    const readStart = performance.now();
    const bytes = await readImageBytes(input, this.maxInputBytes);
    const readMs = msSince(readStart);
    const decoded = await decodeImage(bytes, this.#settings);
    return { ...decoded, timings: { readMs, decodeMs: decoded.timings.decodeMs } };
  }

  /**
   * Reads, decodes and preprocesses one image into a tensor. With `target`, the tensor is written into
   * `target.out` at element `target.offset` (one slot of a batch buffer; nothing is copied).
   *
   * @throws {UnsupportedImageError} | {InvalidImageError} | {ImageTooLargeError} | {ImageReadError}
   * @throws {InvalidOptionError} a `target` that is not a Float32Array slot large enough.
   *
   * @example
   * ```ts
   * const preprocessor = new ImagePreprocessor({ recipe: 'imagenet-eval' });
   * const batch = new Float32Array(2 * 3 * 224 * 224);
   * await preprocessor.process('a.jpg', { out: batch, offset: 0 });
   * await preprocessor.process('b.jpg', { out: batch, offset: 3 * 224 * 224 });
   * ```
   */
  async process(
    input: ImageInput,
    target?: { out: Float32Array; offset: number },
  ): Promise<PreprocessedImage> {
    const readStart = performance.now();
    const bytes = await readImageBytes(input, this.maxInputBytes);
    const readMs = msSince(readStart);
    if (this.#fastPlan === undefined) {
      const decodeStart = performance.now();
      const { image, format } = await decodeImagePixels(bytes, this.#settings);
      const decodeMs = msSince(decodeStart);
      const start = performance.now();
      const result = runPreprocess(() => preprocess(image, this.recipe, target));
      return {
        ...result,
        source: { format, width: image.width, height: image.height },
        timings: { readMs, decodeMs, preprocessMs: msSince(start) },
      };
    }
    // fast: libvips decodes and resizes in one pipeline, so its time is reported as decodeMs.
    const decodeStart = performance.now();
    const format = detectImageFormat(bytes);
    const meta = await readHeader(bytes, format, this.#settings);
    let resized: Awaited<ReturnType<typeof fastResize>>;
    try {
      resized = await fastResize(bytes, format, meta, this.#fastPlan, this.#settings);
    } catch (err) {
      throw err instanceof MtailorError ? err : toImageError(err, format);
    }
    const decodeMs = msSince(decodeStart);
    const start = performance.now();
    const tensor = runPreprocess(() => toTensor(resized, this.recipe.tensor, target));
    const rotated = appliesOrientation(this.#settings, format) && (meta.orientation ?? 1) >= 5;
    return {
      tensor,
      width: resized.width,
      height: resized.height,
      source: {
        format,
        width: (rotated ? meta.height : meta.width) as number,
        height: (rotated ? meta.width : meta.height) as number,
      },
      timings: { readMs, decodeMs, preprocessMs: msSince(start) },
    };
  }
}

/** Runs a `@mtailor/preprocess` call, turning its option errors (e.g. a too-small target) into ours. */
function runPreprocess<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PreprocessError) throw new InvalidOptionError(err.message, { cause: err });
    throw err;
  }
}
