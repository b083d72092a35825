/**
 * Parity: run the ONNX model with onnxruntime-node on the inputs PyTorch saw at export time and compare logits.
 * parity file (JSON) + binary → inputs, torch logits → onnxruntime session → logits → element-wise
 * `|onnx − torch| ≤ atol + rtol·|torch|` (numpy's `allclose` rule) and top-1 agreement on every sample.
 * @module
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ConverterError, invalidOption } from './errors.js';
import { modelForRuntime } from './model-file.js';

/**
 * Default relative tolerance of the parity rule `|onnx − torch| ≤ atol + rtol·|torch|`. Chosen from the zoo run
 * (README, "Parity tolerance"): float32 exports of every torchvision 0.14 classifier stay well inside it, while a
 * real export defect (a wrong op, a wrong constant) is orders of magnitude outside.
 */
export const DEFAULT_PARITY_RTOL = 1e-4;

/** Default absolute tolerance of the parity rule (covers logits near 0, where the relative part vanishes). */
export const DEFAULT_PARITY_ATOL = 1e-5;

/**
 * Default of {@link ParityTolerance.float32ErrorFactor}: a sample's absolute tolerance is at least this many times
 * PyTorch's own float32 error on it (max |float32 − float64| of its logits, recorded at export time). onnxruntime
 * and PyTorch each round in float32, so an exact export differs from PyTorch by up to about twice PyTorch's own
 * error; the zoo measured at most MEASURED_RATIO (README, "Parity tolerance").
 */
export const DEFAULT_FLOAT32_ERROR_FACTOR = 3;

/**
 * @deprecated The parity rule is now scale-aware ({@link DEFAULT_PARITY_RTOL}, {@link DEFAULT_PARITY_ATOL}); this
 * is the old absolute bound, still what `{ tolerance }` alone means (`atol = tolerance`, `rtol = 0`).
 */
export const DEFAULT_PARITY_TOLERANCE = 1e-4;

/** Parity vectors written by the export script (`<model>.parity.json` + `.parity.bin`). */
export interface ParityVectors {
  /** Absolute path of the JSON description. */
  file: string;
  /** Number of samples. */
  samples: number;
  /** Inputs, float32 [N, 3, S, S] flattened. */
  inputs: Float32Array;
  /** Shape of `inputs`. */
  inputShape: number[];
  /** PyTorch's logits, float32 [N, C] flattened. */
  logits: Float32Array;
  /** Shape of `logits`. */
  logitsShape: number[];
  /** `rtol` recorded at export time (the default when the file has none). */
  rtol: number;
  /** `atol` recorded at export time (the default when the file has none). */
  atol: number;
  /** @deprecated The absolute tolerance older files record (`tolerance`); {@link DEFAULT_PARITY_TOLERANCE} if absent. */
  tolerance: number;
  /**
   * Per sample, max |float32 − float64| of PyTorch's own logits (how far float32 arithmetic is from exact in this
   * network), when the export recorded it; undefined for files without it.
   */
  torchFloat32Error: number[] | undefined;
  /** The JSON document as written (source of the inputs, torch version, …). */
  meta: Record<string, unknown>;
}

/** The tolerances of the parity rule `|onnx − torch| ≤ atol + rtol·|torch|`, element-wise. */
export interface ParityTolerance {
  /** Relative part. Default {@link DEFAULT_PARITY_RTOL}. */
  rtol?: number;
  /** Absolute part. Default {@link DEFAULT_PARITY_ATOL}. */
  atol?: number;
  /**
   * @deprecated The old absolute rule: `{ tolerance: x }` alone means `atol = x, rtol = 0`. Ignored for whichever
   * of `rtol` / `atol` is given.
   */
  tolerance?: number;
  /**
   * When the parity file records PyTorch's own float32 error per sample (max |float32 − float64| of its logits),
   * the absolute part for that sample is `max(atol, float32ErrorFactor × that error)`: an export cannot be more
   * exact than float32 arithmetic in this network. Default {@link DEFAULT_FLOAT32_ERROR_FACTOR}; 0 turns it off.
   */
  float32ErrorFactor?: number;
}

/** One logit of the comparison. */
export interface ParityElement {
  /** Sample index. */
  sample: number;
  /** Class index. */
  index: number;
  /** PyTorch's value. */
  torch: number;
  /** onnxruntime's value. */
  onnx: number;
  /** `|onnx − torch|`. */
  absDiff: number;
  /** `|onnx − torch| / |torch|` (Infinity when torch is 0 and they differ, 0 when both are 0). */
  relDiff: number;
  /** `atol + rtol·|torch|`: the difference this element may have. */
  allowed: number;
}

/** One parity sample's comparison. */
export interface ParitySample {
  /** Sample index. */
  index: number;
  /** max |onnx − torch| over this sample's logits. */
  maxAbsDiff: number;
  /** max |onnx − torch| / |torch| over this sample's logits. */
  maxRelDiff: number;
  /** Logits of this sample outside `atol + rtol·|torch|`. */
  violations: number;
  /** The absolute part applied to this sample: `atol`, or more where PyTorch's own float32 error is larger. */
  atol: number;
  /** PyTorch's own float32 error on this sample (max |float32 − float64|), when recorded. */
  torchFloat32Error: number | undefined;
  /** PyTorch's top-1 class. */
  top1Torch: number;
  /** onnxruntime's top-1 class. */
  top1Onnx: number;
  /**
   * Whether the top-1 agrees. A different index j also agrees when PyTorch's logits of the two classes are closer
   * than their two allowed differences (`|t_i − t_j| ≤ allowed_i + allowed_j`): within the tolerance they are a tie.
   */
  top1Agrees: boolean;
}

/** One batched run of {@link checkParity}. */
export interface ParityBatch {
  /** Rows in the batch. */
  batchSize: number;
  /** Every row within the parity rule and agreeing on top-1. */
  ok: boolean;
  /** max |onnx − torch| over the batch. */
  maxAbsDiff: number;
  /** Fraction of rows whose top-1 agrees. */
  top1Agreement: number;
}

/** Result of {@link checkParity} / {@link compareLogits}. */
export interface ParityResult {
  /** Every logit satisfies `|onnx − torch| ≤ atol + rtol·|torch|` and every sample's top-1 agrees. */
  ok: boolean;
  /** Relative tolerance applied. */
  rtol: number;
  /** Absolute tolerance asked for (a sample may get more: see `perSample[].atol` and `float32ErrorFactor`). */
  atol: number;
  /** Factor applied to PyTorch's own float32 error (0: off). */
  float32ErrorFactor: number;
  /** max over samples of PyTorch's own float32 error (max |float32 − float64| of its logits), when recorded. */
  torchFloat32Error: number | undefined;
  /** @deprecated The absolute part of the rule (= `atol`), kept for readers of the old result. */
  tolerance: number;
  /** Number of samples compared. */
  samples: number;
  /** max |onnx − torch| over all logits. */
  maxAbsDiff: number;
  /** max |onnx − torch| / |torch| over all logits (large where PyTorch's logit is near 0: that is what atol is for). */
  maxRelDiff: number;
  /** mean |onnx − torch| over all logits. */
  meanAbsDiff: number;
  /** Number of logits outside `atol + rtol·|torch|`. */
  violations: number;
  /**
   * The logit closest to (or furthest beyond) its bound: the largest `absDiff / allowed`. Undefined when there are
   * no logits.
   */
  worst: ParityElement | undefined;
  /** Fraction of samples whose top-1 agrees (1 = all). */
  top1Agreement: number;
  /**
   * max |PyTorch logit|: the scale the differences compare to. Near 0 (e.g. a randomly initialised network
   * whose logits all vanish) the parity check proves little.
   */
  referenceScale: number;
  /** Per-sample details. */
  perSample: ParitySample[];
  /**
   * The model run on whole batches of the parity samples (repeated in order), each row against PyTorch's logits
   * for its sample: sizes {@link DYNAMIC_BATCH_SIZES} for a model with a dynamic batch axis, none for a fixed one
   * or for {@link compareLogits}. `ok` includes them.
   */
  batches: ParityBatch[];
  /** The parity file used (empty for {@link compareLogits} on arrays). */
  parityFile: string;
}

/**
 * `{ rtol, atol }` from options, with the defaults and the legacy `tolerance`.
 * @throws {ConverterError} INVALID_OPTION for a negative or non-finite value.
 *
 * @example
 * ```ts
 * resolveTolerance(); // { rtol: 1e-4, atol: DEFAULT_PARITY_ATOL, float32ErrorFactor: 3 }
 * resolveTolerance({ tolerance: 1e-4 }); // { rtol: 0, atol: 1e-4, float32ErrorFactor: 0 }: the old rule
 * ```
 */
export function resolveTolerance(options: ParityTolerance = {}): {
  rtol: number;
  atol: number;
  float32ErrorFactor: number;
} {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'object', options);
  const check = (name: string, v: unknown): number | undefined => {
    if (v === undefined) return undefined;
    if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0))
      throw invalidOption(name, 'non-negative finite number', v);
    return v;
  };
  const rtol = check('rtol', options.rtol);
  const atol = check('atol', options.atol);
  const tolerance = check('tolerance', options.tolerance);
  const factor = check('float32ErrorFactor', options.float32ErrorFactor);
  if (tolerance !== undefined)
    // The old absolute rule, unless told otherwise.
    return { rtol: rtol ?? 0, atol: atol ?? tolerance, float32ErrorFactor: factor ?? 0 };
  return {
    rtol: rtol ?? DEFAULT_PARITY_RTOL,
    atol: atol ?? DEFAULT_PARITY_ATOL,
    float32ErrorFactor: factor ?? DEFAULT_FLOAT32_ERROR_FACTOR,
  };
}

/**
 * Read and check a parity file and its binary.
 * @throws {ConverterError} PARITY_FILE_INVALID when a file is missing, malformed or inconsistent.
 */
export async function readParityVectors(parityFile: string): Promise<ParityVectors> {
  const file = path.resolve(parityFile);
  const bad = (why: string, cause?: unknown): ConverterError =>
    new ConverterError('PARITY_FILE_INVALID', `Parity file ${file}: ${why}`, { cause });
  let doc: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not a JSON object');
    doc = parsed as Record<string, unknown>;
  } catch (err) {
    throw bad((err as Error).message, err);
  }
  if (doc.format !== 'mtailor-parity' || doc.version !== 1) throw bad('not an mtailor-parity version 1 file');
  if (doc.dtype !== 'float32' || doc.byteOrder !== 'little')
    throw bad('only float32 little-endian data is supported');
  if (typeof doc.binary !== 'string' || doc.binary.length === 0) throw bad('no "binary" file name');
  const input = section(doc.input, 'input', bad);
  const logits = section(doc.logits, 'logits', bad);
  if (input.shape.length !== 4 || logits.shape.length !== 2 || input.shape[0] !== logits.shape[0])
    throw bad(`inconsistent shapes: input [${input.shape}] vs logits [${logits.shape}]`);
  const binPath = path.resolve(path.dirname(file), doc.binary);
  let bin: Buffer;
  try {
    bin = await readFile(binPath);
  } catch (err) {
    throw bad(`cannot read its binary ${binPath}: ${(err as Error).message}`, err);
  }
  for (const s of [input, logits])
    if (s.offset + s.byteLength > bin.length)
      throw bad(`${binPath} has ${bin.length} bytes, needs ${s.offset + s.byteLength}`);
  const recorded = (v: unknown, fallback: number): number =>
    typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback;
  const tolerance = recorded(doc.tolerance, DEFAULT_PARITY_TOLERANCE);
  return {
    file,
    samples: input.shape[0]!,
    inputs: readFloat32(bin, input.offset, input.byteLength),
    inputShape: input.shape,
    logits: readFloat32(bin, logits.offset, logits.byteLength),
    logitsShape: logits.shape,
    torchFloat32Error: float64Errors(doc.float64, input.shape[0]!),
    rtol: recorded(doc.rtol, DEFAULT_PARITY_RTOL),
    atol: recorded(doc.atol, DEFAULT_PARITY_ATOL),
    tolerance,
    meta: doc,
  };
}

/** The per-sample float32 errors of a parity file's `float64` entry, if well-formed. */
function float64Errors(value: unknown, samples: number): number[] | undefined {
  const errors = (value as { maxAbsDiff?: unknown } | null | undefined)?.maxAbsDiff;
  if (
    !Array.isArray(errors) ||
    errors.length !== samples ||
    !errors.every((e) => typeof e === 'number' && Number.isFinite(e) && e >= 0)
  )
    return undefined;
  return errors as number[];
}

function section(
  value: unknown,
  name: string,
  bad: (why: string) => ConverterError,
): { offset: number; byteLength: number; shape: number[] } {
  const s = value as { offset?: unknown; byteLength?: unknown; shape?: unknown } | undefined;
  const shape = s?.shape;
  if (
    !s ||
    !Number.isInteger(s.offset) ||
    (s.offset as number) < 0 ||
    !Array.isArray(shape) ||
    !shape.every((d) => Number.isInteger(d) && d > 0)
  )
    throw bad(`"${name}" needs a non-negative integer offset and a shape of positive integers`);
  const byteLength = (shape as number[]).reduce((n, d) => n * d, 4);
  if (s.byteLength !== byteLength) throw bad(`"${name}".byteLength ${String(s.byteLength)} ≠ 4 × [${shape}]`);
  return { offset: s.offset as number, byteLength, shape: shape as number[] };
}

/** float32 little-endian, independent of the host's byte order and of the buffer's alignment. */
function readFloat32(bin: Buffer, offset: number, byteLength: number): Float32Array {
  const out = new Float32Array(byteLength / 4);
  const view = new DataView(bin.buffer, bin.byteOffset + offset, byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/**
 * Run `modelPath` with onnxruntime-node on the stored parity inputs (one sample at a time, so static-batch models
 * work too) and compare with PyTorch's logits: `ok` when every logit satisfies `|onnx − torch| ≤ atol +
 * rtol·|torch|` and every sample's top-1 agrees.
 *
 * @throws {ConverterError} PARITY_FILE_INVALID, PARITY_RUN_FAILED (model not loadable or not runnable on the
 * inputs), EXTERNAL_DATA_MISSING / EXTERNAL_DATA_PATH (its external-data file, read from beside the model),
 * INVALID_OPTION (a negative or non-finite tolerance).
 *
 * @example
 * ```ts
 * const parity = await checkParity('model.onnx', 'model.onnx.parity.json', { rtol: 1e-4, atol: 1e-5 });
 * console.log(parity.ok, parity.maxAbsDiff, parity.maxRelDiff, parity.worst);
 * ```
 */
export async function checkParity(
  modelPath: string,
  parityFile: string,
  options: ParityTolerance = {},
): Promise<ParityResult> {
  const tolerance = resolveTolerance(options);
  const vectors = await readParityVectors(parityFile);
  const model = await modelForRuntime(modelPath, 'PARITY_RUN_FAILED');
  let session: ort.InferenceSession;
  try {
    session =
      typeof model === 'string'
        ? await ort.InferenceSession.create(model)
        : await ort.InferenceSession.create(model);
  } catch (err) {
    throw new ConverterError(
      'PARITY_RUN_FAILED',
      `onnxruntime cannot load ${modelPath}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  try {
    const classes = vectors.logitsShape[1]!;
    const onnx = await runSamples(session, vectors);
    const single = compareLogits(vectors.logits, onnx, classes, tolerance, vectors.torchFloat32Error);
    const batches: ParityBatch[] = [];
    if (hasDynamicBatch(session))
      for (const batchSize of DYNAMIC_BATCH_SIZES) {
        const { torch, onnx: rows, float32Error } = await runBatch(session, vectors, batchSize);
        const r = compareLogits(torch, rows, classes, tolerance, float32Error);
        batches.push({ batchSize, ok: r.ok, maxAbsDiff: r.maxAbsDiff, top1Agreement: r.top1Agreement });
      }
    return {
      ...single,
      ok: single.ok && batches.every((b) => b.ok),
      batches,
      parityFile: vectors.file,
    };
  } finally {
    await session.release();
  }
}

/**
 * Batch sizes a model with a dynamic batch axis is also run at, besides one sample at a time: exporters can freeze
 * the batch axis at the example's size (torch's new exporter does, given a batch-1 example and no dynamic shapes),
 * or mix rows; a batch of 3 and one of 8 show neither happened.
 */
export const DYNAMIC_BATCH_SIZES = [3, 8] as const;

function hasDynamicBatch(session: ort.InferenceSession): boolean {
  const meta = session.inputMetadata[0];
  if (!meta?.isTensor) return false;
  const batch = meta.shape[0];
  return typeof batch !== 'number' || batch < 0;
}

/** Samples 0, 1, … N−1, 0, 1, … in one batch of `batchSize`, with PyTorch's logits (one sample at a time) for each row. */
async function runBatch(
  session: ort.InferenceSession,
  v: ParityVectors,
  batchSize: number,
): Promise<{ torch: Float32Array; onnx: Float32Array; float32Error: number[] | undefined }> {
  const [, c, h, w] = v.inputShape as [number, number, number, number];
  const classes = v.logitsShape[1]!;
  const sampleSize = c * h * w;
  const input = new Float32Array(batchSize * sampleSize);
  const torch = new Float32Array(batchSize * classes);
  const float32Error: number[] | undefined = v.torchFloat32Error ? [] : undefined;
  for (let row = 0; row < batchSize; row++) {
    const n = row % v.samples;
    input.set(v.inputs.subarray(n * sampleSize, (n + 1) * sampleSize), row * sampleSize);
    torch.set(v.logits.subarray(n * classes, (n + 1) * classes), row * classes);
    float32Error?.push(v.torchFloat32Error![n]!);
  }
  let out: ort.Tensor;
  try {
    const result = await session.run({
      [session.inputNames[0]!]: new ort.Tensor('float32', input, [batchSize, c, h, w]),
    });
    out = result[session.outputNames[0]!]!;
  } catch (err) {
    throw new ConverterError(
      'PARITY_RUN_FAILED',
      `onnxruntime fails on a batch of ${batchSize} (the model declares a dynamic batch axis): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const data = out.data as Float32Array;
  if (out.type !== 'float32' || data.length !== batchSize * classes)
    throw new ConverterError(
      'PARITY_RUN_FAILED',
      `The model returns ${out.type} [${out.dims}] for a batch of ${batchSize}; expected [${batchSize}, ${classes}] float32`,
    );
  return { torch, onnx: data, float32Error };
}

async function runSamples(session: ort.InferenceSession, v: ParityVectors): Promise<Float32Array> {
  const [, c, h, w] = v.inputShape as [number, number, number, number];
  const classes = v.logitsShape[1]!;
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  const all = new Float32Array(v.samples * classes);
  for (let n = 0; n < v.samples; n++) {
    const sampleSize = c * h * w;
    const input = new ort.Tensor('float32', v.inputs.subarray(n * sampleSize, (n + 1) * sampleSize), [
      1,
      c,
      h,
      w,
    ]);
    let out: ort.Tensor;
    try {
      const result = await session.run({ [inputName]: input });
      out = result[outputName]!;
    } catch (err) {
      throw new ConverterError(
        'PARITY_RUN_FAILED',
        `onnxruntime fails on parity sample ${n}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    const data = out.data as Float32Array;
    if (out.type !== 'float32' || data.length !== classes)
      throw new ConverterError(
        'PARITY_RUN_FAILED',
        `The model returns ${out.type} [${out.dims}] for sample ${n}; the parity file has ${classes} float32 logits`,
      );
    all.set(data, n * classes);
  }
  return all;
}

/**
 * Compare two sets of logits `[N, classes]` (flattened) with the parity rule: every element
 * `|onnx − torch| ≤ atol + rtol·|torch|` (NaN never passes) and the same top-1 per sample (ties within the
 * tolerance count as the same). With `torchFloat32Error` (per sample: PyTorch's own max |float32 − float64|), a
 * sample's absolute part is `max(atol, float32ErrorFactor × its error)`. What {@link checkParity} does after
 * running the model.
 *
 * @throws {ConverterError} INVALID_OPTION for mismatched lengths or a bad tolerance.
 *
 * @example
 * ```ts
 * const torch = Float32Array.of(110.2, -3.5, 0.25);
 * const onnx = Float32Array.of(110.2001, -3.5, 0.25);
 * compareLogits(torch, onnx, 3).ok; // true: 1e-4 on a logit of 110 is a relative error of 1e-6
 * ```
 */
export function compareLogits(
  torch: Float32Array,
  onnx: Float32Array,
  classes: number,
  options: ParityTolerance = {},
  torchFloat32Error?: readonly number[],
): ParityResult {
  const { rtol, atol, float32ErrorFactor } = resolveTolerance(options);
  if (!Number.isInteger(classes) || classes < 1) throw invalidOption('classes', 'positive integer', classes);
  if (torch.length !== onnx.length || torch.length % classes !== 0)
    throw new ConverterError(
      'INVALID_OPTION',
      `Expected two logit arrays of the same length, a multiple of ${classes}, but received ${torch.length} and ${onnx.length}`,
    );
  const samples = torch.length / classes;
  if (torchFloat32Error !== undefined && torchFloat32Error.length !== samples)
    throw new ConverterError(
      'INVALID_OPTION',
      `Expected one float32 error per sample (${samples}) but received ${torchFloat32Error.length}`,
    );
  const perSample: ParitySample[] = [];
  let maxAbsDiff = 0;
  let maxRelDiff = 0;
  let sumAbsDiff = 0;
  let referenceScale = 0;
  let violations = 0;
  let worst: ParityElement | undefined;
  let worstRatio = -1;
  for (let n = 0; n < samples; n++) {
    const t = torch.subarray(n * classes, (n + 1) * classes);
    const o = onnx.subarray(n * classes, (n + 1) * classes);
    const ownError = torchFloat32Error?.[n];
    const sampleAtol = Math.max(atol, float32ErrorFactor * (ownError ?? 0));
    let sampleAbs = 0;
    let sampleRel = 0;
    let sampleViolations = 0;
    for (let i = 0; i < classes; i++) {
      const tv = t[i]!;
      const ov = o[i]!;
      referenceScale = Math.max(referenceScale, Math.abs(tv));
      let d = Math.abs(ov - tv);
      if (Number.isNaN(d)) d = Number.POSITIVE_INFINITY; // NaN on either side is never within tolerance
      const rel = d === 0 ? 0 : d / Math.abs(tv);
      const allowed = sampleAtol + rtol * Math.abs(tv);
      sumAbsDiff += d;
      sampleAbs = Math.max(sampleAbs, d);
      sampleRel = Math.max(sampleRel, rel);
      if (!(d <= allowed)) sampleViolations++;
      const ratio = allowed > 0 ? d / allowed : d > 0 ? Number.POSITIVE_INFINITY : 0;
      if (ratio > worstRatio) {
        worstRatio = ratio;
        worst = { sample: n, index: i, torch: tv, onnx: ov, absDiff: d, relDiff: rel, allowed };
      }
    }
    maxAbsDiff = Math.max(maxAbsDiff, sampleAbs);
    maxRelDiff = Math.max(maxRelDiff, sampleRel);
    violations += sampleViolations;
    const top1Torch = argmax(t);
    const top1Onnx = argmax(o);
    const bound = (v: number): number => sampleAtol + rtol * Math.abs(v);
    const top1Agrees =
      top1Onnx === top1Torch || t[top1Torch]! - t[top1Onnx]! <= bound(t[top1Torch]!) + bound(t[top1Onnx]!);
    perSample.push({
      index: n,
      maxAbsDiff: sampleAbs,
      maxRelDiff: sampleRel,
      violations: sampleViolations,
      atol: sampleAtol,
      torchFloat32Error: ownError,
      top1Torch,
      top1Onnx,
      top1Agrees,
    });
  }
  const agreeing = perSample.filter((s) => s.top1Agrees).length;
  return {
    ok: violations === 0 && agreeing === samples,
    rtol,
    atol,
    float32ErrorFactor,
    torchFloat32Error: torchFloat32Error === undefined ? undefined : Math.max(0, ...torchFloat32Error),
    tolerance: atol,
    samples,
    maxAbsDiff,
    maxRelDiff,
    meanAbsDiff: samples ? sumAbsDiff / (samples * classes) : 0,
    violations,
    worst,
    top1Agreement: samples ? agreeing / samples : 1,
    referenceScale,
    perSample,
    batches: [],
    parityFile: '',
  };
}
