/**
 * Calibration: calibration images → the serving preprocessing (`@mtailor/core`'s `ImagePreprocessor`, exact
 * engine) → the float model with every tensor to quantize exposed as an extra graph output (in a copy of the graph)
 * → onnxruntime-node → running statistics per tensor (min/max, then a histogram for percentile / entropy).
 * @module
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ImagePreprocessor } from '@mtailor/core';
import ort from 'onnxruntime-node';
import { ConverterError } from '../errors.js';
import { cloneModel, DataType, encodeModel, type LoadedModel } from './graph.js';
import { type CalibrationMethod, histogramKind, TensorStats } from './ranges.js';

/** File endings taken from calibration folders (the ones `mtailor classify` reads). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

/**
 * The image files of folders (searched recursively, sorted by path) and files (kept in order, in place).
 *
 * @throws {ConverterError} CALIBRATION_FAILED when nothing is given, a folder cannot be read or holds no image, or
 *   a single path given does not exist. (A missing file in a list fails later, when it is read, naming it.)
 */
export async function listImageFiles(source: string | readonly string[], what: string): Promise<string[]> {
  const entries = typeof source === 'string' ? [source] : [...source];
  if (entries.length === 0) throw new ConverterError('CALIBRATION_FAILED', `No ${what} images given`);
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const children = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const e of children) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) files.push(full);
    }
  };
  for (const entry of entries) {
    let isFolder = false;
    try {
      isFolder = (await stat(entry)).isDirectory();
    } catch (err) {
      if (typeof source === 'string')
        throw new ConverterError(
          'CALIBRATION_FAILED',
          `Cannot read the ${what} images at ${entry}: ${(err as Error).message}`,
          { cause: err },
        );
    }
    if (!isFolder) {
      files.push(entry);
      continue;
    }
    const before = files.length;
    try {
      await walk(entry);
    } catch (err) {
      throw new ConverterError(
        'CALIBRATION_FAILED',
        `Cannot read the ${what} images in ${entry}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (files.length === before)
      throw new ConverterError(
        'CALIBRATION_FAILED',
        `No ${what} images (${IMAGE_EXTENSIONS.join(' ')}) in ${path.resolve(entry)}`,
      );
  }
  return files;
}

/**
 * `count` files spread evenly over `files` (all of them when there are not more): a folder sorted by class name
 * then still gives every part of the folder a say.
 */
export function pickEvenly<T>(files: readonly T[], count: number | undefined): T[] {
  if (count === undefined || count >= files.length) return [...files];
  return Array.from({ length: count }, (_, i) => files[Math.floor((i * files.length) / count)]!);
}

/** Images and their preprocessed tensors, kept in memory up to a budget so the passes do not decode twice. */
export class ImageTensors {
  /** Tensors by file path: shared with the {@link ImageTensors.subset | subsets}, so no image is decoded twice. */
  #cache = new Map<string, Float32Array>();
  readonly #cacheLimit: number;

  /**
   * @param files - The images.
   * @param preprocessor - The serving preprocessing (NCHW).
   * @param size - Elements of one tensor (3 × H × W).
   * @param cacheBytes - Memory the cached tensors may take (default 512 MB).
   */
  constructor(
    readonly files: readonly string[],
    readonly preprocessor: ImagePreprocessor,
    readonly size: number,
    cacheBytes = 512 * 1024 * 1024,
  ) {
    this.#cacheLimit = Math.floor(cacheBytes / (size * 4));
  }

  /** Some of these images (e.g. one cross-validation fold), sharing this set's cache of decoded tensors. */
  subset(files: readonly string[]): ImageTensors {
    const view = new ImageTensors(files, this.preprocessor, this.size, this.#cacheLimit * this.size * 4);
    view.#cache = this.#cache;
    return view;
  }

  /** Number of images. */
  get count(): number {
    return this.files.length;
  }

  /**
   * The tensor of image `i`, written into `out` at `offset`.
   *
   * @throws {ConverterError} CALIBRATION_FAILED naming the file and the reason (unreadable, not an image, …).
   */
  async load(i: number, out: Float32Array, offset: number): Promise<void> {
    const file = this.files[i]!;
    const cached = this.#cache.get(file);
    if (cached) {
      out.set(cached, offset);
      return;
    }
    let tensor: Float32Array;
    try {
      ({ tensor } = await this.preprocessor.process(file, { out, offset }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new ConverterError(
        'CALIBRATION_FAILED',
        `Cannot use image ${file}: ${code ? `${code}: ` : ''}${(err as Error).message}`,
        { cause: err, details: { file } },
      );
    }
    if (tensor.length !== this.size)
      throw new ConverterError(
        'CALIBRATION_FAILED',
        `Image ${file} preprocesses to ${tensor.length} values, the model takes ${this.size}`,
        { details: { file } },
      );
    if (this.#cache.size < this.#cacheLimit) this.#cache.set(file, tensor.slice());
  }

  /**
   * The images in batches of `batchSize` ([batch, 3, H, W], the last one padded by repeating its last image when
   * the model's batch is fixed); `count` says how many leading samples are real.
   */
  async *batches(
    batchSize: number,
    fixedBatch: boolean,
    signal?: AbortSignal,
  ): AsyncGenerator<{ data: Float32Array; count: number; first: number }> {
    for (let first = 0; first < this.count; first += batchSize) {
      if (signal?.aborted) throw new ConverterError('ABORTED', 'Quantization was cancelled');
      const count = Math.min(batchSize, this.count - first);
      const rows = fixedBatch ? batchSize : count;
      const data = new Float32Array(rows * this.size);
      for (let k = 0; k < count; k++) await this.load(first + k, data, k * this.size);
      for (let k = count; k < rows; k++)
        data.copyWithin(k * this.size, (count - 1) * this.size, count * this.size);
      yield { data, count, first };
    }
  }
}

/** Progress of a long stage: `done` of `total` images. */
export type StageProgress = (done: number, total: number) => void;

/** Runs onnxruntime and wraps its failures as QUANTIZE_RUN_FAILED. */
export async function createSession(
  model: Uint8Array | string,
  what: string,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<ort.InferenceSession> {
  try {
    const sessionOptions = { logSeverityLevel: 3 as const, ...options };
    return typeof model === 'string'
      ? await ort.InferenceSession.create(model, sessionOptions)
      : await ort.InferenceSession.create(model, sessionOptions);
  } catch (err) {
    throw new ConverterError(
      'QUANTIZE_RUN_FAILED',
      `onnxruntime cannot load the ${what}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** `session.run`, with failures as QUANTIZE_RUN_FAILED. */
export async function runSession(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  fetches: readonly string[],
  what: string,
): Promise<ort.InferenceSession.ReturnType> {
  try {
    return await session.run(feeds, [...fetches]);
  } catch (err) {
    throw new ConverterError(
      'QUANTIZE_RUN_FAILED',
      `onnxruntime failed running the ${what}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** What {@link collectStatistics} needs to run the float model. */
export interface CalibrationRun {
  /** The float model (BatchNorm folded), not yet augmented. */
  model: LoadedModel;
  /** Its image input. */
  inputName: string;
  /** Fixed batch size of the input, or 'dynamic'. */
  batch: number | 'dynamic';
  /** [3, H, W]. */
  imageShape: readonly [number, number, number];
  /** Tensors whose statistics are needed. */
  targets: readonly string[];
  /** The calibration images. */
  images: ImageTensors;
  method: CalibrationMethod;
  onProgress?: StageProgress;
  signal?: AbortSignal;
}

/** Images per onnxruntime call while calibrating: every exposed tensor is copied out, so memory grows with it. */
const CALIBRATION_BATCH = 4;

/**
 * Statistics of every target tensor over the calibration images: a min/max pass, then (percentile, entropy) a
 * histogram pass over the range found by the first.
 */
export async function collectStatistics(run: CalibrationRun): Promise<Map<string, TensorStats>> {
  const augmented = cloneModel(run.model);
  const graph = augmented.graph;
  const existing = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const fetches = run.targets.filter((t) => t !== run.inputName);
  for (const t of fetches)
    if (!existing.has(t))
      graph.output = [
        ...(graph.output ?? []),
        { name: t, type: { tensorType: { elemType: DataType.FLOAT } } },
      ];
  const session = await createSession(encodeModel(augmented), 'float model with calibration outputs');
  const stats = new Map(run.targets.map((t) => [t, new TensorStats()]));
  const kind = histogramKind(run.method);
  const passes = kind === 'none' ? 1 : 2;
  const fixed = run.batch !== 'dynamic';
  const batchSize = fixed ? (run.batch as number) : CALIBRATION_BATCH;
  const [c, h, w] = run.imageShape;
  try {
    for (let pass = 0; pass < passes; pass++) {
      if (pass === 1) for (const s of stats.values()) s.startHistogram(kind === 'absolute');
      for await (const batch of run.images.batches(batchSize, fixed, run.signal)) {
        const rows = batch.data.length / (c * h * w);
        const input = new ort.Tensor('float32', batch.data, [rows, c, h, w]);
        const outputs = fetches.length
          ? await runSession(session, { [run.inputName]: input }, fetches, 'float model')
          : {};
        const observe = (name: string, data: Float32Array, dims: readonly number[]): void => {
          // Only the real samples of a padded batch count.
          const used = dims[0] === rows ? (data.length / rows) * batch.count : data.length;
          const values = used === data.length ? data : data.subarray(0, used);
          const s = stats.get(name)!;
          if (pass === 0) {
            s.observeRange(values);
            s.observeChannels(values, [batch.count, ...dims.slice(1)]);
          } else s.observeHistogram(values);
        };
        if (stats.has(run.inputName)) observe(run.inputName, batch.data, [rows, c, h, w]);
        for (const name of fetches) {
          const t = outputs[name];
          if (t?.type !== 'float32')
            throw new ConverterError(
              'QUANTIZE_RUN_FAILED',
              `Calibration output ${name} is not a float32 tensor`,
            );
          observe(name, t.data as Float32Array, t.dims);
          t.dispose();
        }
        run.onProgress?.(pass * run.images.count + batch.first + batch.count, passes * run.images.count);
      }
    }
  } finally {
    await session.release();
  }
  return stats;
}
