/**
 * int8 answers that do not depend on the CPU.
 *
 * onnxruntime multiplies uint8 activations by int8 weights (its "U8S8" kernels). On x86 CPUs without VNNI (AVX2,
 * AVX-512 without VNNI) those kernels use `vpmaddubsw`, which adds two products in int16 and saturates, so the
 * same model gives other logits there than the integer arithmetic it describes. Storing the int8 weights as
 * uint8 (+128, zero point +128) leaves every dequantized weight as it was and makes onnxruntime use its U8U8
 * kernels, which widen before adding: the exact answer on every CPU, at the cost of speed.
 *
 * With `int8Kernels: 'exact'` (the default) a model keeps onnxruntime's fast kernels whenever they are exact — no
 * int8 weights, weights within [-64, 64] (two products of at most 255 · 64 cannot leave int16), or a CPU whose
 * kernels a small built-on-purpose model shows to be exact — and is rewritten otherwise. The rewrite patches the
 * model's bytes in place (data type and a bit flip), never re-serialising it.
 * @module
 */
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import {
  type OnnxGraph,
  type OnnxNode,
  pbInitializer,
  pbModel,
  pbNode,
  pbValueInfo,
  readOnnxGraph,
  TensorType,
} from './onnx-protobuf.js';

/**
 * How int8 models run: `'exact'` (default) = the model's integer arithmetic on every CPU, rewriting int8 weights to
 * uint8 when this CPU's fast kernels would saturate; `'native'` = the model as given, onnxruntime's fastest kernels
 * (on x86 without VNNI their int16 pair sums saturate and the logits differ).
 */
export type Int8Kernels = 'exact' | 'native';

/** The values of {@link Int8Kernels}. */
export const INT8_KERNELS: readonly Int8Kernels[] = ['exact', 'native'];

/** What this CPU offers for int8 matrix products. */
export interface CpuInt8Info {
  /** `process.arch`. */
  arch: string;
  /**
   * The int8-relevant flags of `/proc/cpuinfo` (`avx2`, `avx512bw`, `avx512_vnni`, `avx_vnni`, `amx_int8`, …).
   * Informative only: under emulation (qemu-user) they are the host's, which is why the decision rests on
   * {@link CpuInt8Info.u8s8Exact}.
   */
  flags: string[];
  /**
   * Whether onnxruntime's U8S8 GEMM kernels gave the exact answer on a small model built to saturate int16 pair
   * sums; absent when the probe was not needed.
   */
  u8s8Exact?: boolean;
  /** The same for onnxruntime's depthwise-convolution kernels (a probe of their own), when it was needed. */
  u8s8DepthwiseExact?: boolean;
}

/**
 * Which int8 path a model runs on, and why. Plain JSON (part of `health()`'s model report).
 *
 * @example
 * ```ts
 * const model = await ONNXModel.load('mobilenet_v2_int8_qdq.onnx');
 * const { kernels, exact, reason, cpu } = model.int8Kernels;
 * // 'native' true "exact here: U8S8 GEMM kernels exact (probe); …" { arch: 'x64', flags: ['avx2', …], u8s8Exact: true }
 * ```
 */
export interface Int8KernelsReport {
  /** The option asked for. */
  requested: Int8Kernels;
  /**
   * What runs: `'native'` = the model's own weights on onnxruntime's kernels for them; `'uint8-weights'` = int8
   * weights stored as uint8 at load (onnxruntime's U8U8 kernels).
   */
  kernels: 'native' | 'uint8-weights';
  /** Why, in one sentence. */
  reason: string;
  /**
   * Whether the answers are the model's integer arithmetic on this CPU. `false` for `'native'` on a CPU whose
   * kernels saturate, and when weights left to onnxruntime's own conversion meet a `graphOptimizationLevel` below
   * `'extended'`, where that conversion does not run.
   */
  exact: boolean;
  /** int8 weight tensors (inputs of DequantizeLinear, QLinearConv, QLinearMatMul, MatMulInteger, …). */
  int8Weights: number;
  /** Of those, rewritten as uint8. */
  rewritten: number;
  /** The largest |stored int8 weight| (128 for -128); absent without int8 weights. */
  maxAbsWeight?: number;
  /** The same over the weights of depthwise convolutions (onnxruntime's own kernels), when there are some. */
  maxAbsDepthwiseWeight?: number;
  cpu: CpuInt8Info;
}

/** A stored int8 weight whose magnitude stays within this cannot saturate a pair sum: 2 · 255 · 64 ≤ 32767. */
export const SAFE_INT8_WEIGHT = 64;

/** Operators with an integer weight input: [weight index, weight zero point index], by `domain:opType`. */
const WEIGHT_INPUTS: Readonly<Record<string, readonly [number, number]>> = {
  ':DequantizeLinear': [0, 2],
  'com.microsoft:DequantizeLinear': [0, 2],
  ':QLinearConv': [3, 5],
  ':QLinearMatMul': [3, 5],
  ':MatMulInteger': [1, 3],
  'com.microsoft:QGemm': [3, 5],
  'com.microsoft:DynamicQuantizeMatMul': [1, 3],
  'com.microsoft:MatMulIntegerToFloat': [1, 5],
};

const opKey = (domain: string, opType: string): string => `${domain === 'ai.onnx' ? '' : domain}:${opType}`;

/** The int8 weights of a graph and which of them can be stored as uint8 in place. */
export interface Int8WeightAnalysis {
  /** int8 weight tensors found. */
  weights: number;
  /** Largest |stored value| over them (128 for -128), or 0. */
  maxAbs: number;
  /** Largest |stored value| of the weights multiplied in onnxruntime's GEMM kernels (all but depthwise convs). */
  maxAbsGemm: number;
  /** Largest |stored value| of the weights of depthwise convolutions (their own kernels), or 0. */
  maxAbsDepthwise: number;
  /** True when some int8 weight's values are unknown (a Constant node's output): its range cannot be bounded. */
  unboundedWeights: boolean;
  /** Initializers (weights and their zero points) that can be patched in place, each group complete. */
  rewritable: string[];
  /** {@link Int8WeightAnalysis.rewritable} in groups that change type together (weights sharing a zero point). */
  groups: string[][];
  /** Each int8 weight initializer: its largest |stored value| and whether only depthwise convolutions use it. */
  weightInfo: Map<string, { maxAbs: number; depthwise: boolean }>;
  /** How many of {@link Int8WeightAnalysis.rewritable} are weights (the rest are zero points). */
  rewritableWeights: number;
  /** Weights that cannot be patched, with why. */
  skipped: string[];
  /** True when the model quantizes activations to int8 (not only uint8). */
  int8Activations: boolean;
}

/** Finds the int8 weights of a model's top-level graph and which can be rewritten as uint8 in place. */
export function analyzeInt8Weights(bytes: Uint8Array, graph: OnnxGraph): Int8WeightAnalysis {
  const { nodes, initializers } = graph;
  const constantInt8 = new Set<string>();
  for (const n of nodes)
    if (n.opType === 'Constant' && n.constantType === TensorType.int8)
      for (const o of n.outputs) constantInt8.add(o);
  const isInt8Init = (name: string | undefined): boolean =>
    name !== undefined && initializers.get(name)?.dataType === TensorType.int8;
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of nodes)
    for (const name of n.inputs) consumers.set(name, [...(consumers.get(name) ?? []), n]);
  // A depthwise convolution (one input and one output channel per group, 2-D): onnxruntime runs it on its own
  // kernels, not the GEMM ones; whether they saturate is probed apart.
  const isDepthwise = (conv: OnnxNode, weight: string): boolean => {
    const dims = initializers.get(weight)?.dims ?? [];
    return dims.length === 4 && dims[1] === 1 && conv.ints.group === dims[0] && dims[0]! > 1;
  };

  // Union-find over initializer names: a weight and its zero point change type together, and so does every
  // weight sharing that zero point.
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) ?? r;
    parent.set(x, r);
    return r;
  };
  const union = (a: string, b: string): void => {
    for (const x of [a, b]) if (!parent.has(x)) parent.set(x, x);
    parent.set(find(a), find(b));
  };
  const allowedUses = new Set<string>(); // `${node}:${input}` positions where a rewritten tensor may appear
  const skipped: string[] = [];
  const badRoots = new Set<string>();
  const weightNames = new Set<string>();
  const gemmWeights = new Set<string>();
  const constantWeights = new Set<string>();
  let unboundedWeights = false;
  let int8Activations = false;
  const subgraphs = nodes.some((n) => n.hasSubgraph);

  nodes.forEach((n, i) => {
    const isQ = n.opType === 'QuantizeLinear';
    if (isQ && isInt8Init(n.inputs[2])) int8Activations = true;
    const entry = WEIGHT_INPUTS[opKey(n.domain, n.opType)];
    if (!entry) return;
    const [wi, zi] = entry;
    const w = n.inputs[wi];
    const zp = n.inputs[zi] || undefined;
    if (!w) return;
    if (!initializers.has(w)) {
      if (constantInt8.has(w)) {
        constantWeights.add(w);
        skipped.push(`${w}: a Constant node's int8 value`);
      } else if (n.opType === 'DequantizeLinear' && isInt8Init(zp)) int8Activations = true;
      return;
    }
    if (!isInt8Init(w)) return;
    weightNames.add(w);
    const depthwise =
      n.opType === 'QLinearConv'
        ? isDepthwise(n, w)
        : n.opType === 'DequantizeLinear' &&
          (consumers.get(n.outputs[0] ?? '') ?? []).every(
            (c) => c.opType === 'Conv' && c.inputs[1] === n.outputs[0] && isDepthwise(c, w),
          ) &&
          (consumers.get(n.outputs[0] ?? '') ?? []).length > 0;
    if (!depthwise) gemmWeights.add(w);
    if (!zp) {
      parent.set(w, parent.get(w) ?? w);
      badRoots.add(w);
      skipped.push(`${w}: no zero point input`);
      return;
    }
    union(w, zp);
    allowedUses.add(`${i}:${wi}`);
    allowedUses.add(`${i}:${zi}`);
  });

  // A group is patched in place only when every member is an int8 initializer whose bytes are in raw_data, used
  // nowhere but as a weight or zero point of the operators above, and neither a graph input nor output.
  for (const [i, n] of nodes.entries())
    for (const [j, name] of n.inputs.entries())
      if (parent.has(name) && !allowedUses.has(`${i}:${j}`)) {
        badRoots.add(find(name));
        skipped.push(`${name}: also used by ${n.opType}`);
      }
  for (const name of parent.keys()) {
    const init = initializers.get(name)!;
    const why = !isInt8Init(name)
      ? 'not int8'
      : init.external
        ? 'stored outside the model'
        : !init.raw
          ? 'values not in raw_data'
          : init.dataTypeOffset === undefined || bytes[init.dataTypeOffset] !== TensorType.int8
            ? 'unexpected data_type encoding'
            : graph.inputs.has(name) || graph.outputs.has(name)
              ? 'a graph input or output'
              : undefined;
    if (why) {
      badRoots.add(find(name));
      skipped.push(`${name}: ${why}`);
    }
  }

  let maxAbsGemm = 0;
  let maxAbsDepthwise = 0;
  const weightInfo = new Map<string, { maxAbs: number; depthwise: boolean }>();
  for (const name of weightNames) {
    const init = initializers.get(name)!;
    let maxAbs = 0;
    if (init.raw) {
      for (let p = init.raw.start; p < init.raw.end; p++) {
        const v = bytes[p]!;
        const a = v >= 128 ? 256 - v : v;
        if (a > maxAbs) maxAbs = a;
      }
    } else if (init.int32Data) {
      for (const v of init.int32Data) maxAbs = Math.max(maxAbs, Math.abs(v));
    } else unboundedWeights = true;
    if (gemmWeights.has(name)) maxAbsGemm = Math.max(maxAbsGemm, maxAbs);
    else maxAbsDepthwise = Math.max(maxAbsDepthwise, maxAbs);
    weightInfo.set(name, { maxAbs, depthwise: !gemmWeights.has(name) });
  }

  const rewritable =
    subgraphs || int8Activations ? [] : [...parent.keys()].filter((name) => !badRoots.has(find(name)));
  if (subgraphs && weightNames.size > 0)
    skipped.push('the model has subgraphs (If, Loop, Scan): not rewritten');
  if (int8Activations && weightNames.size > 0) skipped.push('the model has int8 activations: not rewritten');
  return {
    weights: weightNames.size + constantWeights.size,
    maxAbs: Math.max(maxAbsGemm, maxAbsDepthwise),
    maxAbsGemm,
    maxAbsDepthwise,
    unboundedWeights: unboundedWeights || constantWeights.size > 0,
    rewritable,
    groups: [
      ...rewritable
        .reduce(
          (m, name) => m.set(find(name), [...(m.get(find(name)) ?? []), name]),
          new Map<string, string[]>(),
        )
        .values(),
    ],
    weightInfo,
    rewritableWeights: rewritable.filter((name) => weightNames.has(name)).length,
    skipped: [...new Set(skipped)],
    int8Activations,
  };
}

/**
 * A copy of `bytes` with the named int8 initializers stored as uint8: `data_type` 3 → 2 and every byte + 128
 * (two's complement → offset binary is a flip of the top bit). Dequantized values are unchanged:
 * (q + 128) − (zp + 128) = q − zp.
 */
export function rewriteInt8AsUint8(
  bytes: Uint8Array,
  graph: OnnxGraph,
  names: readonly string[],
): Uint8Array {
  const out = new Uint8Array(bytes);
  for (const name of names) {
    const init = graph.initializers.get(name);
    if (!init?.raw || init.dataTypeOffset === undefined || out[init.dataTypeOffset] !== TensorType.int8)
      throw new Error(`${name} is not an int8 initializer stored in raw_data`);
    out[init.dataTypeOffset] = TensorType.uint8;
    for (let p = init.raw.start; p < init.raw.end; p++) out[p] = out[p]! ^ 0x80;
  }
  return out;
}

const INT8_FLAGS = new Set([
  'avx2',
  'avx512f',
  'avx512bw',
  'avx512vl',
  'avx512_vnni',
  'avx_vnni',
  'amx_int8',
  'asimddp',
  'i8mm',
]);

let cpuFlags: string[] | undefined;

/** The int8-relevant CPU flags of `/proc/cpuinfo` (empty where it does not exist). */
export function detectCpuInt8Flags(): string[] {
  if (cpuFlags) return cpuFlags;
  let found: string[] = [];
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = /^(?:flags|Features)\s*:(.*)$/m.exec(info)?.[1] ?? '';
    found = line.split(/\s+/).filter((f) => INT8_FLAGS.has(f));
  } catch {
    // Not Linux: behaviour (the probe) still decides.
  }
  cpuFlags = found;
  return found;
}

/** GEMM probe shape: enough rows and depth for onnxruntime to take its blocked GEMM kernels. */
const PROBE_M = 4;
const PROBE_K = 64;
const PROBE_WEIGHTS = [-128, 127, -100, 100, -65, 65, 64, -64];

/**
 * A MatMulInteger model (`a` uint8 [4, 64] × int8 [64, 8] → int32) whose products saturate int16 pair sums when
 * `a` is 255: column j holds {@link PROBE_WEIGHTS}[j] everywhere.
 */
export function buildSaturationProbeModel(): Uint8Array {
  const n = PROBE_WEIGHTS.length;
  const b = new Uint8Array(PROBE_K * n);
  for (let k = 0; k < PROBE_K; k++) for (let j = 0; j < n; j++) b[k * n + j] = PROBE_WEIGHTS[j]! & 0xff;
  return pbModel([
    pbNode('MatMulInteger', ['a', 'b'], ['y']),
    pbInitializer('b', TensorType.int8, [PROBE_K, n], b),
    pbValueInfo(11, 'a', TensorType.uint8, [PROBE_M, PROBE_K]),
    pbValueInfo(12, 'y', TensorType.int32, [PROBE_M, n]),
  ]);
}

/** Depthwise probe: one 5 × 5 image of 8 channels, a 3 × 3 kernel per channel, output scale 4096, zero point 128. */
const DW_CHANNELS = PROBE_WEIGHTS.length;
const DW_OUTPUT_SCALE = 4096;
const DW_OUTPUT_ZERO = 128;

const float32Bytes = (v: number): Uint8Array => new Uint8Array(new Float32Array([v]).buffer);

/**
 * A depthwise QLinearConv (`x` uint8 [1, 8, 5, 5], int8 weights [8, 1, 3, 3], group 8 → uint8 [1, 8, 3, 3]) whose
 * 9 products per output saturate int16 pair sums when `x` is 255: channel c's kernel holds {@link PROBE_WEIGHTS}[c].
 */
export function buildDepthwiseProbeModel(): Uint8Array {
  const w = new Uint8Array(DW_CHANNELS * 9);
  for (let c = 0; c < DW_CHANNELS; c++) w.fill(PROBE_WEIGHTS[c]! & 0xff, c * 9, (c + 1) * 9);
  return pbModel([
    pbNode('QLinearConv', ['x', 'one', 'x_zero', 'w', 'one', 'w_zero', 'y_scale', 'y_zero'], ['y'], {
      group: DW_CHANNELS,
    }),
    pbInitializer('one', TensorType.float, [], float32Bytes(1)),
    pbInitializer('x_zero', TensorType.uint8, [], new Uint8Array([0])),
    pbInitializer('w', TensorType.int8, [DW_CHANNELS, 1, 3, 3], w),
    pbInitializer('w_zero', TensorType.int8, [], new Uint8Array([0])),
    pbInitializer('y_scale', TensorType.float, [], float32Bytes(DW_OUTPUT_SCALE)),
    pbInitializer('y_zero', TensorType.uint8, [], new Uint8Array([DW_OUTPUT_ZERO])),
    pbValueInfo(11, 'x', TensorType.uint8, [1, DW_CHANNELS, 5, 5]),
    pbValueInfo(12, 'y', TensorType.uint8, [1, DW_CHANNELS, 3, 3]),
  ]);
}

/** Runs a one-input model once on 255s and checks every output against `expected(index)`. */
async function probeRun(
  model: Uint8Array,
  input: { name: string; dims: number[] },
  expected: (index: number) => number,
): Promise<boolean> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const size = input.dims.reduce((a, b) => a * b, 1);
    const feeds = { [input.name]: new ort.Tensor('uint8', new Uint8Array(size).fill(255), input.dims) };
    const out = (await session.run(feeds)).y?.data as ArrayLike<number> | undefined;
    if (!out) return false;
    for (let i = 0; i < out.length; i++) if (out[i] !== expected(i)) return false;
    return true;
  } finally {
    await session.release().catch(() => {});
  }
}

/** Round half to even, as onnxruntime requantizes. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

let gemmProbe: Promise<boolean> | undefined;
let depthwiseProbe: Promise<boolean> | undefined;

/**
 * Whether this CPU's onnxruntime U8S8 GEMM kernels (convolutions, MatMul, Gemm) are exact: runs
 * {@link buildSaturationProbeModel} once per process and compares with the integer answer.
 */
export function u8s8KernelsAreExact(): Promise<boolean> {
  gemmProbe ??= probeRun(
    buildSaturationProbeModel(),
    { name: 'a', dims: [PROBE_M, PROBE_K] },
    (i) => PROBE_K * 255 * PROBE_WEIGHTS[i % PROBE_WEIGHTS.length]!,
  );
  gemmProbe.catch(() => {
    gemmProbe = undefined;
  });
  return gemmProbe;
}

/** Whether this CPU's onnxruntime U8S8 depthwise-convolution kernels are exact ({@link buildDepthwiseProbeModel}). */
export function u8s8DepthwiseKernelsAreExact(): Promise<boolean> {
  depthwiseProbe ??= probeRun(
    buildDepthwiseProbeModel(),
    { name: 'x', dims: [1, DW_CHANNELS, 5, 5] },
    (i) => {
      const acc = 9 * 255 * PROBE_WEIGHTS[Math.floor(i / 9)]!;
      return Math.min(255, Math.max(0, roundHalfEven(acc / DW_OUTPUT_SCALE) + DW_OUTPUT_ZERO));
    },
  );
  depthwiseProbe.catch(() => {
    depthwiseProbe = undefined;
  });
  return depthwiseProbe;
}

/** What {@link prepareInt8Kernels} hands to the session: the model bytes to load, extra session config, the report. */
export interface PreparedInt8Model<M extends Uint8Array | string = Uint8Array | string> {
  /** The model for onnxruntime: bytes (given bytes), or its path (given a path too large to read here). */
  bytes: M;
  /** Session config entries under `session.` (onnxruntime's own s8→u8 weight conversion for weights we skip). */
  sessionConfig: Record<string, string>;
  report: Int8KernelsReport;
}

/**
 * Decides how an int8 model runs (see the module comment) and, for `'exact'` on a CPU whose U8S8 kernels
 * saturate, returns the model with its int8 weights stored as uint8. Bytes that are not a readable ONNX model are
 * returned unchanged (onnxruntime then says what is wrong with them).
 */
export async function prepareInt8Kernels<M extends Uint8Array | string>(
  bytes: M,
  requested: Int8Kernels,
  graphOptimizationLevel: string,
): Promise<PreparedInt8Model<M>> {
  const cpu: CpuInt8Info = { arch: process.arch, flags: detectCpuInt8Flags() };
  const done = (
    kernels: Int8KernelsReport['kernels'],
    reason: string,
    exact: boolean,
    analysis?: Int8WeightAnalysis,
    rewritten = 0,
    out: M = bytes,
    sessionConfig: Record<string, string> = {},
  ): PreparedInt8Model<M> => ({
    bytes: out,
    sessionConfig,
    report: {
      requested,
      kernels,
      reason,
      exact,
      int8Weights: analysis?.weights ?? 0,
      rewritten,
      ...(analysis?.weights ? { maxAbsWeight: analysis.maxAbs } : {}),
      ...(analysis?.maxAbsDepthwise ? { maxAbsDepthwiseWeight: analysis.maxAbsDepthwise } : {}),
      cpu,
    },
  });
  // Past protobuf's 2 GB the model goes to onnxruntime by path, unread here; such models are float in practice.
  if (typeof bytes === 'string')
    return done(
      'native',
      'a model over 2 GB goes to onnxruntime by path: its weights are not inspected',
      true,
    );
  let graph: OnnxGraph;
  try {
    graph = readOnnxGraph(bytes);
  } catch {
    return done('native', 'not read as an ONNX model here; onnxruntime loads it as given', true);
  }
  const analysis = analyzeInt8Weights(bytes, graph);
  if (analysis.weights === 0) return done('native', 'no int8 weights', true, analysis);
  // Each kind of kernel is exact when its weights cannot saturate a pair sum, or when its probe says so.
  const gemmSafe = !analysis.unboundedWeights && analysis.maxAbsGemm <= SAFE_INT8_WEIGHT;
  const depthwiseSafe = analysis.maxAbsDepthwise <= SAFE_INT8_WEIGHT;
  if (!gemmSafe) cpu.u8s8Exact = await u8s8KernelsAreExact();
  if (!depthwiseSafe) cpu.u8s8DepthwiseExact = await u8s8DepthwiseKernelsAreExact();
  const why = [
    gemmSafe
      ? `weights within ±${SAFE_INT8_WEIGHT} (largest ${analysis.maxAbsGemm}) cannot saturate int16 pair sums`
      : `U8S8 GEMM kernels ${cpu.u8s8Exact ? 'exact' : 'saturate'} (probe)`,
    ...(analysis.maxAbsDepthwise === 0
      ? []
      : [
          depthwiseSafe
            ? `depthwise weights within ±${SAFE_INT8_WEIGHT}`
            : `depthwise kernels ${cpu.u8s8DepthwiseExact ? 'exact' : 'saturate'} (probe)`,
        ]),
  ].join('; ');
  if ((gemmSafe || cpu.u8s8Exact) && (depthwiseSafe || cpu.u8s8DepthwiseExact))
    return done('native', `exact here: ${why}`, true, analysis);
  if (requested === 'native')
    return done(
      'native',
      `int8Kernels 'native': ${why}, so logits differ from the model's integer arithmetic on this CPU`,
      false,
      analysis,
    );
  // Only the weights that can saturate on this CPU change: layers whose weights fit in ±64 keep the fast kernels.
  const saturates = (name: string): boolean => {
    const info = analysis.weightInfo.get(name);
    if (!info || info.maxAbs <= SAFE_INT8_WEIGHT) return false;
    return info.depthwise ? !cpu.u8s8DepthwiseExact : !cpu.u8s8Exact;
  };
  const chosen = analysis.groups.filter((group) => group.some(saturates)).flat();
  const out = rewriteInt8AsUint8(bytes, graph, chosen);
  const rewritten = chosen.filter((name) => analysis.weightInfo.has(name)).length;
  if (analysis.skipped.length === 0)
    return done(
      'uint8-weights',
      `${why}: the int8 weights that could saturate (${rewritten} of ${analysis.weights}) stored as uint8 (exact U8U8 kernels)`,
      true,
      analysis,
      rewritten,
      out as M,
    );
  // What cannot be patched in place is left to onnxruntime's own s8→u8 weight conversion, which it applies while
  // optimising the graph (graphOptimizationLevel 'extended' or 'all' only).
  const optimised = graphOptimizationLevel === 'extended' || graphOptimizationLevel === 'all';
  return done(
    'uint8-weights',
    `${why}: ${rewritten > 0 ? 'int8 weights stored as uint8 where possible; ' : ''}onnxruntime's session.x64quantprecision for the rest (${analysis.skipped.slice(0, 3).join('; ')}${analysis.skipped.length > 3 ? '; …' : ''})`,
    optimised,
    analysis,
    rewritten,
    out as M,
    { x64quantprecision: '1' },
  );
}
