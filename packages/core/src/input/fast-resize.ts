/**
 * The `fast` engine: libvips decodes and resizes in one pipeline (its resize kernels, not Pillow's), then our
 * `toTensor` normalises. Faster on large photos; not bit-exact (see the README for the measured difference).
 * @module
 */
import {
  type CenterCropOptions,
  centerCrop,
  type PreprocessRecipe,
  type RawImage,
  type ResampleFilter,
  shorterSideOutputSize,
} from '@mtailor/preprocess';
import sharp, { type KernelEnum, type Metadata } from 'sharp';
import { InvalidOptionError } from '../errors.js';
import type { ImageFormat } from './image-format.js';
import { appliesOrientation, type SharpDecodeSettings, sharpInputOptions } from './sharp-input.js';

/**
 * Pillow filter → the libvips kernel the `fast` engine uses for it. `box` and `hamming` have no libvips equivalent
 * (a recipe using them needs the `exact` engine).
 *
 * @example
 * ```ts
 * FAST_ENGINE_KERNELS.bilinear; // 'linear'
 * ```
 */
export const FAST_ENGINE_KERNELS: Readonly<Partial<Record<ResampleFilter, keyof KernelEnum>>> = {
  nearest: 'nearest',
  bilinear: 'linear',
  bicubic: 'cubic',
  lanczos: 'lanczos3',
};

/** The geometry the fast engine runs: one resize (exact size), then optionally a crop window. */
export interface FastPlan {
  resize: { filter: ResampleFilter } & (
    | { kind: 'exact'; width: number; height: number }
    | { kind: 'shorterSide'; size: number; maxSize: number | undefined }
  );
  crop: CenterCropOptions | undefined;
}

/**
 * Checks that the fast engine can run `recipe` — `[toRGB], resize | resizeShorterSide, [centerCrop]` with a filter
 * libvips has — and returns its plan. Throws {@link InvalidOptionError} naming what is not supported.
 */
export function planFastResize(recipe: PreprocessRecipe): FastPlan {
  const steps = recipe.steps.filter((s) => s.op !== 'toRGB');
  const [first, second, ...rest] = steps;
  const shape = recipe.steps.map((s) => s.op).join(', ');
  const unsupported = (): InvalidOptionError =>
    new InvalidOptionError(
      `engine 'fast' runs recipes of the form [toRGB], resize | resizeShorterSide, [centerCrop]; this recipe has [${shape}] — use engine 'exact'`,
    );
  if (first === undefined || rest.length > 0) throw unsupported();
  if (first.op !== 'resize' && first.op !== 'resizeShorterSide') throw unsupported();
  if (second !== undefined && second.op !== 'centerCrop') throw unsupported();
  const filter = first.filter ?? 'bilinear';
  if (FAST_ENGINE_KERNELS[filter] === undefined) {
    throw new InvalidOptionError(
      `engine 'fast' has no libvips kernel for filter '${filter}' (it has ${Object.keys(FAST_ENGINE_KERNELS).join(', ')}) — use engine 'exact'`,
    );
  }
  return {
    resize:
      first.op === 'resize'
        ? { kind: 'exact', width: first.width, height: first.height, filter }
        : { kind: 'shorterSide', size: first.size, maxSize: first.maxSize, filter },
    crop:
      second === undefined
        ? undefined
        : { width: second.width, height: second.height, offsets: second.offsets, fill: second.fill },
  };
}

/** The plan's resize size for a decoded image of `width` × `height` (torchvision's rules). */
function resizeSize(plan: FastPlan, width: number, height: number): { width: number; height: number } {
  return plan.resize.kind === 'exact'
    ? { width: plan.resize.width, height: plan.resize.height }
    : shorterSideOutputSize(width, height, plan.resize.size, plan.resize.maxSize);
}

/**
 * Decodes and resizes with libvips in one pipeline, center-crops with `@mtailor/preprocess`, and returns the 8-bit RGB result. `meta` is the header
 * read by `readHeader` (its size is before EXIF rotation; the plan needs the size after it).
 */
export async function fastResize(
  bytes: Uint8Array,
  format: ImageFormat,
  meta: Metadata,
  plan: FastPlan,
  settings: SharpDecodeSettings,
): Promise<RawImage> {
  const rotated = appliesOrientation(settings, format) && (meta.orientation ?? 1) >= 5;
  const width = rotated ? (meta.height as number) : (meta.width as number);
  const height = rotated ? (meta.width as number) : (meta.height as number);
  let pipeline = sharp(bytes, sharpInputOptions(settings, format));
  // Same colour handling as the exact decode where libvips can do it in-pipeline: 8-bit sRGB, alpha dropped.
  pipeline = pipeline.toColourspace('srgb').removeAlpha();
  const size = resizeSize(plan, width, height);
  pipeline = pipeline.resize(size.width, size.height, {
    fit: 'fill',
    kernel: FAST_ENGINE_KERNELS[plan.resize.filter] as keyof KernelEnum,
  });
  const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`unexpected ${info.channels}-channel fast resize`);
  const resized: RawImage = { data, width: info.width, height: info.height, channels: 3 };
  // The crop (with the recipe's offsets and padding) is a cheap copy: done by @mtailor/preprocess.
  return plan.crop === undefined ? resized : centerCrop(resized, plan.crop);
}
