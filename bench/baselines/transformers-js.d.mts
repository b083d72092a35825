/**
 * Types of `transformers-js.mjs`: the Transformers.js throughput/fidelity baseline (see that file's comment).
 *
 * @example
 * ```ts
 * import { runTransformersJs } from '../bench/baselines/transformers-js.mjs';
 * const { imagesPerSecond, top1 } = await runTransformersJs({ modelPath, images, labelsTsv, batchSize: 8 });
 * ```
 * @module
 */

/** Options of {@link runTransformersJs}. */
export interface RunTransformersJsOptions {
  /** ONNX image classifier (one float32 NCHW input, one [batch, classes] output). */
  modelPath: string;
  /** Image file paths, classified in this order. */
  images: string[];
  /** Class table (`index<TAB>wnid<TAB>label`, header first) for `config.json`'s `id2label`. */
  labelsTsv: string;
  /** Image paths per pipeline call (default 8). */
  batchSize?: number;
  /** Transformers.js dtype (default: `q8` for a quantized graph, else `fp32`). */
  dtype?: 'q8' | 'fp32';
}

/** What {@link runTransformersJs} measured. */
export interface RunTransformersJsResult {
  /** `count / seconds`. */
  imagesPerSecond: number;
  /** Wall time of the timed pipeline calls (after the warm-up). */
  seconds: number;
  /** Images classified in the timed part. */
  count: number;
  /** Class index of the top-1 answer for each input image, in input order. */
  top1: number[];
  /** What ran: versions, dtype, model file, the image processor's settings, batching, network attempts (none). */
  info: {
    versions: Record<string, string>;
    dtype: 'q8' | 'fp32';
    modelFile: string;
    modelFileIs: string;
    batching: string;
    preprocessing: Record<string, unknown>;
    /** Process CPU time (user + system, every thread) per image in the timed part. */
    cpuMsPerImage: number;
    networkAttempts: string[];
  };
}

/**
 * Runs `pipeline('image-classification', …)` over the images from a temporary, offline model folder.
 * @example
 * ```ts
 * const r = await runTransformersJs({ modelPath: 'm.onnx', images: ['a.jpg'], labelsTsv: 'classes.tsv' });
 * ```
 */
export function runTransformersJs(options: RunTransformersJsOptions): Promise<RunTransformersJsResult>;

/**
 * The `preprocessor_config.json` the baseline writes.
 * @example
 * ```ts
 * PREPROCESSOR_CONFIG.size; // { height: 224, width: 224 }
 * ```
 */
export const PREPROCESSOR_CONFIG: Readonly<Record<string, unknown>>;

/**
 * `id2label` / `label2id` from the class table; duplicated names get their wnid appended.
 * @example
 * ```ts
 * readLabels('classes.tsv').id2label['0']; // 'tench'
 * ```
 */
export function readLabels(labelsTsv: string): {
  id2label: Record<string, string>;
  label2id: Record<string, number>;
};

/**
 * Builds the Transformers.js model folder inside `dir`.
 * @example
 * ```ts
 * buildModelFolder({ dir: tmp, modelPath: 'm.onnx', labelsTsv: 'classes.tsv' }).modelId;
 * ```
 */
export function buildModelFolder(options: {
  dir: string;
  modelPath: string;
  labelsTsv: string;
  dtype?: 'q8' | 'fp32';
}): {
  modelId: string;
  modelFile: string;
  dtype: 'q8' | 'fp32';
  renamed: Record<string, string> | null;
  labels: { id2label: Record<string, string>; label2id: Record<string, number> };
};

/** A network guard: every attempt is recorded and fails; `restore()` puts the originals back. */
export interface NetworkGuard {
  attempts: string[];
  fetch: typeof fetch;
  restore(): void;
}

/**
 * Replaces `fetch`, `net.Socket#connect` and `dns.lookup` with functions that record and refuse.
 * @example
 * ```ts
 * const guard = installNetworkGuard();
 * try { await fetch('http://127.0.0.1:9/'); } catch {} finally { guard.restore(); }
 * guard.attempts; // ['fetch http://127.0.0.1:9/']
 * ```
 */
export function installNetworkGuard(): NetworkGuard;

/**
 * Top-1 agreement with a shared reference JSON (ties in the reference count as agreement).
 * @example
 * ```ts
 * agreement(files, top1, 'ort_mobilenet_v2_int8_on_torchvision_tensors.json').uniqueAgree;
 * ```
 */
export function agreement(
  files: string[],
  top1: number[],
  referenceJson: string,
): { matched: number; agree: number; unique: number; uniqueAgree: number };

/**
 * Versions of Node, Transformers.js, and the onnxruntime-node / sharp / libvips it resolves.
 * @example
 * ```ts
 * versions().transformers; // '4.3.2'
 * ```
 */
export function versions(): Record<string, string>;
