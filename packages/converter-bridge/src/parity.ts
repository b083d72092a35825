/**
 * Parity: run the ONNX model with onnxruntime-node on the inputs PyTorch saw at export time and compare logits.
 * parity file (JSON) + binary → inputs, torch logits → onnxruntime session → logits → max |Δ|, top-1 agreement.
 * @module
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ConverterError, invalidOption } from './errors.js';

/** Default tolerance on max |Δ| of the logits. */
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
  /** Tolerance recorded at export time. */
  tolerance: number;
  /** The JSON document as written (source of the inputs, torch version, …). */
  meta: Record<string, unknown>;
}

/** One parity sample's comparison. */
export interface ParitySample {
  /** Sample index. */
  index: number;
  /** max |onnx − torch| over this sample's logits. */
  maxAbsDiff: number;
  /** PyTorch's top-1 class. */
  top1Torch: number;
  /** onnxruntime's top-1 class. */
  top1Onnx: number;
  /** Whether the top-1 agrees (a different index whose torch logit ties the max within tolerance also agrees). */
  top1Agrees: boolean;
}

/** Result of {@link checkParity}. */
export interface ParityResult {
  /** max |Δ| ≤ tolerance and every top-1 agrees. */
  ok: boolean;
  /** Tolerance applied. */
  tolerance: number;
  /** Number of samples compared. */
  samples: number;
  /** max |onnx − torch| over all logits. */
  maxAbsDiff: number;
  /** mean |onnx − torch| over all logits. */
  meanAbsDiff: number;
  /** Fraction of samples whose top-1 agrees (1 = all). */
  top1Agreement: number;
  /**
   * max |PyTorch logit|: the scale the differences compare to. Near 0 (e.g. a randomly initialised network
   * whose logits all vanish) the parity check proves little.
   */
  referenceScale: number;
  /** Per-sample details. */
  perSample: ParitySample[];
  /** The parity file used. */
  parityFile: string;
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
  const tolerance =
    typeof doc.tolerance === 'number' && doc.tolerance > 0 ? doc.tolerance : DEFAULT_PARITY_TOLERANCE;
  return {
    file,
    samples: input.shape[0]!,
    inputs: readFloat32(bin, input.offset, input.byteLength),
    inputShape: input.shape,
    logits: readFloat32(bin, logits.offset, logits.byteLength),
    logitsShape: logits.shape,
    tolerance,
    meta: doc,
  };
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
 * work too) and compare with PyTorch's logits.
 *
 * @throws {ConverterError} PARITY_FILE_INVALID, PARITY_RUN_FAILED (model not loadable or not runnable on the inputs).
 *
 * @example
 * ```ts
 * const parity = await checkParity('model.onnx', 'model.onnx.parity.json', { tolerance: 1e-4 });
 * console.log(parity.ok, parity.maxAbsDiff, `${parity.top1Agreement * 100}% top-1`);
 * ```
 */
export async function checkParity(
  modelPath: string,
  parityFile: string,
  options: { tolerance?: number } = {},
): Promise<ParityResult> {
  const tolerance = options.tolerance ?? DEFAULT_PARITY_TOLERANCE;
  if (!(typeof tolerance === 'number' && Number.isFinite(tolerance) && tolerance >= 0))
    throw invalidOption('tolerance', 'non-negative number', tolerance);
  const vectors = await readParityVectors(parityFile);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath);
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
    return await compare(session, vectors, tolerance);
  } finally {
    await session.release();
  }
}

async function compare(
  session: ort.InferenceSession,
  v: ParityVectors,
  tolerance: number,
): Promise<ParityResult> {
  const [, c, h, w] = v.inputShape as [number, number, number, number];
  const classes = v.logitsShape[1]!;
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  const perSample: ParitySample[] = [];
  let maxAbsDiff = 0;
  let sumAbsDiff = 0;
  let referenceScale = 0;
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
    const onnx = out.data as Float32Array;
    if (out.type !== 'float32' || onnx.length !== classes)
      throw new ConverterError(
        'PARITY_RUN_FAILED',
        `The model returns ${out.type} [${out.dims}] for sample ${n}; the parity file has ${classes} float32 logits`,
      );
    const torch = v.logits.subarray(n * classes, (n + 1) * classes);
    let sampleMax = 0;
    for (let i = 0; i < classes; i++) {
      referenceScale = Math.max(referenceScale, Math.abs(torch[i]!));
      const d = Math.abs(onnx[i]! - torch[i]!);
      sumAbsDiff += d;
      if (d > sampleMax || Number.isNaN(d)) sampleMax = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
    }
    maxAbsDiff = Math.max(maxAbsDiff, sampleMax);
    const top1Torch = argmax(torch);
    const top1Onnx = argmax(onnx);
    const top1Agrees = top1Onnx === top1Torch || torch[top1Torch]! - torch[top1Onnx]! <= tolerance;
    perSample.push({ index: n, maxAbsDiff: sampleMax, top1Torch, top1Onnx, top1Agrees });
  }
  const agreeing = perSample.filter((s) => s.top1Agrees).length;
  return {
    ok: maxAbsDiff <= tolerance && agreeing === v.samples,
    tolerance,
    samples: v.samples,
    maxAbsDiff,
    meanAbsDiff: sumAbsDiff / (v.samples * classes),
    top1Agreement: v.samples ? agreeing / v.samples : 1,
    referenceScale,
    perSample,
    parityFile: v.file,
  };
}
