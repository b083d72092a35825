/**
 * Measuring the quantized model against its float original with onnxruntime-node: top-1 / top-5 agreement and
 * logit error per class on images, the speed of both models interleaved in one process, and the kernels
 * onnxruntime actually runs after its QDQ fusions (from the optimized graph it writes out).
 * @module
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Int8KernelsReport } from '@mtailor/core';
import ort from 'onnxruntime-node';
import { ConverterError } from '../errors.js';
import { createSession, type ImageTensors, runSession, type StageProgress } from './calibrate.js';
import { decodeModel } from './graph.js';
import type {
  AccuracyReport,
  Disagreement,
  KernelReport,
  SpeedOptions,
  SpeedReport,
  Timing,
} from './summary.js';

/** An int8 model as `@mtailor/core` serves it by default, and how. */
export interface ServedInt8Model {
  /** The bytes onnxruntime loads (int8 weights stored as uint8 when this CPU's U8S8 kernels saturate). */
  bytes: Uint8Array;
  /** Session options to load them with. */
  sessionOptions: ort.InferenceSession.SessionOptions;
  /** The path and why, with the CPU's int8 flags and the saturation probe's result (always run here). */
  report: Int8KernelsReport;
}

/**
 * The int8 model as `@mtailor/core` runs it by default (`int8Kernels: 'exact'`): the model's own integer
 * arithmetic on this CPU, whatever its int8 kernels, so that what the quantizer reports is what serving gives.
 */
export async function servedInt8Model(int8: Uint8Array): Promise<ServedInt8Model> {
  const core = await import('@mtailor/core/internal');
  const prepared = await core.prepareInt8Kernels(int8, 'exact', 'all');
  const u8s8Exact = await core.u8s8KernelsAreExact();
  return {
    bytes: prepared.bytes,
    sessionOptions: Object.keys(prepared.sessionConfig).length
      ? { extra: { session: prepared.sessionConfig } }
      : {},
    report: { ...prepared.report, cpu: { ...prepared.report.cpu, u8s8Exact } },
  };
}

/** Logits of both models on a set of images. */
export interface LogitPairs {
  /** Images compared. */
  files: string[];
  /** Classes per image. */
  classes: number;
  /** Float logits, [images × classes]. */
  float: Float32Array;
  /** Quantized logits, [images × classes]. */
  int8: Float32Array;
}

/** A model to run on images, for {@link runModels}. */
export interface ModelToRun {
  /** Its bytes or file. */
  model: Uint8Array | string;
  /** What to call it in errors ("float model", "quantized model"). */
  what: string;
  /** onnxruntime session options (see {@link servedInt8Model}). */
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

/** How to feed the models of {@link runModels} and {@link computeLogits}. */
export interface LogitRun {
  inputName: string;
  outputName: string;
  batch: number | 'dynamic';
  imageShape: readonly [number, number, number];
  onProgress?: StageProgress;
  signal?: AbortSignal;
}

/**
 * Run models on every image (batches of up to 8, each batch through every model in turn, so each image is
 * preprocessed once): their logits, [images × classes] per model.
 *
 * @throws {ConverterError} QUANTIZE_RUN_FAILED | CALIBRATION_FAILED | ABORTED
 */
export async function runModels(
  models: readonly ModelToRun[],
  images: ImageTensors,
  run: LogitRun,
): Promise<{ classes: number; logits: Float32Array[] }> {
  const sessions: ort.InferenceSession[] = [];
  const fixed = run.batch !== 'dynamic';
  const batchSize = fixed ? (run.batch as number) : 8;
  const [c, h, w] = run.imageShape;
  const chunks: Float32Array[][] = models.map(() => []);
  let classes = 0;
  try {
    for (const m of models) sessions.push(await createSession(m.model, m.what, m.sessionOptions));
    for await (const batch of images.batches(batchSize, fixed, run.signal)) {
      const rows = batch.data.length / (c * h * w);
      const input = new ort.Tensor('float32', batch.data, [rows, c, h, w]);
      for (const [k, session] of sessions.entries()) {
        const out = await runSession(session, { [run.inputName]: input }, [run.outputName], models[k]!.what);
        const t = out[run.outputName]!;
        classes = t.dims[t.dims.length - 1] ?? 0;
        chunks[k]!.push((t.data as Float32Array).slice(0, batch.count * classes));
        t.dispose();
      }
      run.onProgress?.(batch.first + batch.count, images.count);
    }
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
  const join = (parts: Float32Array[]): Float32Array => {
    const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return all;
  };
  return { classes, logits: chunks.map(join) };
}

/**
 * Run the float and the quantized model on every image.
 *
 * @throws {ConverterError} QUANTIZE_RUN_FAILED | CALIBRATION_FAILED | ABORTED
 */
export async function computeLogits(
  floatModel: Uint8Array | string,
  int8Model: Uint8Array | string,
  images: ImageTensors,
  run: LogitRun & {
    /** Session options of the int8 model (see {@link servedInt8Model}). */
    int8SessionOptions?: ort.InferenceSession.SessionOptions;
  },
): Promise<LogitPairs> {
  const int8: ModelToRun = { model: int8Model, what: 'quantized model' };
  if (run.int8SessionOptions) int8.sessionOptions = run.int8SessionOptions;
  const { classes, logits } = await runModels(
    [{ model: floatModel, what: 'float model' }, int8],
    images,
    run,
  );
  return { files: [...images.files], classes, float: logits[0]!, int8: logits[1]! };
}

function topK(row: Float32Array, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < row.length; i++) {
    if (idx.length < k || row[i]! > row[idx[idx.length - 1]!]!) {
      idx.push(i);
      idx.sort((a, b) => row[b]! - row[a]! || a - b);
      if (idx.length > k) idx.pop();
    }
  }
  return idx;
}

/**
 * The int8 model's accuracy against the float model's on the same images: top-1 agreement, top-5 overlap, logit
 * error per class (named apart from parity's `compareLogits`, which checks an export element by element).
 *
 * @example
 * ```ts
 * const acc = accuracyAgainstFloat(pairs, labels);
 * console.log(`top-1 agreement ${(acc.top1Agreement * 100).toFixed(1)} %`);
 * ```
 */
export function accuracyAgainstFloat(pairs: LogitPairs, labels?: readonly string[]): AccuracyReport {
  const { classes } = pairs;
  const images = classes ? pairs.float.length / classes : 0;
  let agree = 0;
  let top5 = 0;
  let overlap = 0;
  let maxAbs = 0;
  let sumAbs = 0;
  let sumSq = 0;
  let floatScale = 0;
  const classSum = new Float64Array(classes);
  const classMax = new Float64Array(classes);
  const disagreements: Disagreement[] = [];
  for (let n = 0; n < images; n++) {
    const f = pairs.float.subarray(n * classes, (n + 1) * classes);
    const q = pairs.int8.subarray(n * classes, (n + 1) * classes);
    const fTop = topK(f, 5);
    const qTop = topK(q, 5);
    const f1 = fTop[0]!;
    const qMax = q[qTop[0]!]!;
    if (q[f1] === qMax) agree++;
    else {
      const d: Disagreement = {
        file: pairs.files[n] ?? String(n),
        float: f1,
        int8: qTop[0]!,
        floatMargin: f[f1]! - f[fTop[1] ?? f1]!,
      };
      const [fl, ql] = [labels?.[f1], labels?.[qTop[0]!]];
      if (fl !== undefined && ql !== undefined) d.labels = { float: fl, int8: ql };
      disagreements.push(d);
    }
    if (qTop.includes(f1)) top5++;
    overlap += fTop.filter((c) => qTop.includes(c)).length / fTop.length;
    for (let c = 0; c < classes; c++) {
      const d = Math.abs(q[c]! - f[c]!);
      sumAbs += d;
      sumSq += d * d;
      if (d > maxAbs) maxAbs = d;
      classSum[c]! += d;
      if (d > classMax[c]!) classMax[c] = d;
      const a = Math.abs(f[c]!);
      if (a > floatScale) floatScale = a;
    }
  }
  const total = images * classes || 1;
  const meanAbsPerClass = Array.from(classSum, (s) => s / (images || 1));
  const sorted = [...meanAbsPerClass].sort((a, b) => a - b);
  const worst = meanAbsPerClass
    .map((meanAbs, index) => ({ index, meanAbs, maxAbs: classMax[index]! }))
    .sort((a, b) => b.meanAbs - a.meanAbs)
    .slice(0, 5)
    .map((e) => (labels?.[e.index] === undefined ? e : { ...e, label: labels[e.index]! }));
  return {
    images,
    top1Agreement: images ? agree / images : 0,
    top1Agree: agree,
    top5Agreement: images ? top5 / images : 0,
    top5Overlap: images ? overlap / images : 0,
    logitError: { maxAbs, meanAbs: sumAbs / total, rms: Math.sqrt(sumSq / total), floatScale },
    perClass: {
      meanAbs: meanAbsPerClass,
      median: sorted.length ? sorted[Math.floor(sorted.length / 2)]! : 0,
      min: sorted[0] ?? 0,
      max: sorted[sorted.length - 1] ?? 0,
      worst,
    },
    disagreements,
  };
}

function timing(samples: number[]): Timing {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p25: at(0.25), p75: at(0.75) };
}

/**
 * Time both models on the same input, alternating which goes first each round, after a warm-up: machine load
 * then hits both alike, and the ratio stays meaningful on a busy machine.
 */
export async function measureSpeed(
  floatModel: Uint8Array | string,
  int8Model: Uint8Array | string,
  input: { name: string; image: Float32Array; shape: readonly [number, number, number] },
  options: SpeedOptions = {},
  int8SessionOptions: ort.InferenceSession.SessionOptions = {},
): Promise<SpeedReport> {
  const runs = options.runs ?? 40;
  const threads = options.threads ?? 1;
  const batch = options.batch ?? 1;
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const sessions = [
    await createSession(floatModel, 'float model', sessionOptions),
    await createSession(int8Model, 'quantized model', { ...sessionOptions, ...int8SessionOptions }),
  ] as const;
  const [c, h, w] = input.shape;
  const data = new Float32Array(batch * c * h * w);
  for (let b = 0; b < batch; b++) data.set(input.image, b * c * h * w);
  const feeds = { [input.name]: new ort.Tensor('float32', data, [batch, c, h, w]) };
  const samples: [number[], number[]] = [[], []];
  try {
    for (let round = -5; round < runs; round++) {
      for (const k of round % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)) {
        const start = performance.now();
        const out = await runSession(sessions[k], feeds, sessions[k].outputNames, 'speed run');
        const ms = performance.now() - start;
        for (const t of Object.values(out)) t.dispose();
        if (round >= 0) samples[k].push(ms);
      }
    }
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
  const floatMs = timing(samples[0]);
  const int8Ms = timing(samples[1]);
  // The ratio of each round's pair (run back to back), then the median: a burst of load from other processes
  // slows both runs of a round, where a ratio of separate medians would charge it to whichever model it hit more.
  const ratios = samples[0].map((f, i) => f / samples[1][i]!).sort((a, b) => a - b);
  const speedup = ratios[Math.floor(ratios.length / 2)]!;
  return { floatMs, int8Ms, speedup, threads, batch, runs };
}

/** Operators that are int8 kernels in onnxruntime's CPU provider. */
const INT8_KERNELS = new Set([
  'QLinearConv',
  'QLinearAdd',
  'QLinearMul',
  'QLinearGlobalAveragePool',
  'QLinearAveragePool',
  'QLinearMatMul',
  'QLinearConcat',
  'QLinearSigmoid',
  'QLinearLeakyRelu',
  'QLinearSoftmax',
  'QGemm',
  'MatMulIntegerToFloat',
  'ConvInteger',
  'MatMulInteger',
  'DynamicQuantizeMatMul',
]);

/** Float operators that do the heavy arithmetic (what should have become int8). */
const FLOAT_COMPUTE = new Set([
  'Conv',
  'FusedConv',
  'Gemm',
  'FusedGemm',
  'MatMul',
  'FusedMatMul',
  'ConvTranspose',
]);

/**
 * Load the quantized model with all graph optimizations, have onnxruntime write the optimized graph, and count its
 * kernels: proof that the QDQ fusions made int8 kernels (a layout onnxruntime does not recognise stays float).
 */
export async function inspectKernels(int8Model: Uint8Array): Promise<KernelReport> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mtailor-quantize-'));
  const file = path.join(dir, 'optimized.onnx');
  try {
    const session = await createSession(int8Model, 'quantized model', {
      graphOptimizationLevel: 'all',
      optimizedModelFilePath: file,
    });
    await session.release();
    const optimized = decodeModel(await readFile(file));
    const report: KernelReport = { int8: {}, floatCompute: {}, quantizeLinear: 0, dequantizeLinear: 0 };
    for (const node of optimized.graph?.node ?? []) {
      const op = node.opType ?? '';
      if (INT8_KERNELS.has(op)) report.int8[op] = (report.int8[op] ?? 0) + 1;
      else if (FLOAT_COMPUTE.has(op)) report.floatCompute[op] = (report.floatCompute[op] ?? 0) + 1;
      else if (op === 'QuantizeLinear') report.quantizeLinear++;
      else if (op === 'DequantizeLinear') report.dequantizeLinear++;
    }
    return report;
  } catch (err) {
    if (err instanceof ConverterError) throw err;
    throw new ConverterError(
      'QUANTIZE_RUN_FAILED',
      `Cannot read onnxruntime's optimized graph: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
