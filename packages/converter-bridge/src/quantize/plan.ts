/**
 * The quantization plan: which nodes become int8, which tensors get a QuantizeLinear → DequantizeLinear pair (and
 * whose calibrated range sets its scale), which activations the quantization itself replaces, which weights and
 * biases become int8 / int32. Decided on the float graph, before calibration, so calibration observes exactly the
 * tensors the rewrite needs.
 *
 * The layout follows what onnxruntime's QDQ fusions look for (onnxruntime/core/optimizer/qdq_transformer):
 * `DQ(x), DQ(w), DQ(b) → Conv → Q` becomes QLinearConv; `DQ, DQ → Add → Q` QLinearAdd; `DQ → GlobalAveragePool → Q`
 * QLinearGlobalAveragePool; `DQ, DQ(w), DQ(b) → Gemm [→ Q]` QGemm (float output allowed, so the logits stay float);
 * `DQ → Flatten/Reshape/MaxPool/… → Q` with one scale on both sides runs on the int8 tensor directly.
 * @module
 */
import { ConverterError } from '../errors.js';
import type { NodeProto } from '../validate/onnx-proto.js';
import { attrFloat, attrInt, dimsOf, type GraphIndex, readFloats } from './graph.js';

/** How a quantized node is handled. */
type Role =
  /** Weights to int8 per channel, bias to int32: Conv, Gemm, MatMul. */
  | 'weighted'
  /** Two activation inputs with their own scales: Add, Mul. */
  | 'binary'
  /** Own output scale: GlobalAveragePool, AveragePool. */
  | 'pool'
  /** Moves or selects values, so the output keeps the input's scale: MaxPool, Flatten, Reshape, … */
  | 'shared';

const ROLES: Record<string, Role> = {
  Conv: 'weighted',
  Gemm: 'weighted',
  MatMul: 'weighted',
  Add: 'binary',
  Mul: 'binary',
  GlobalAveragePool: 'pool',
  AveragePool: 'pool',
  MaxPool: 'shared',
  Flatten: 'shared',
  Reshape: 'shared',
  Transpose: 'shared',
  Squeeze: 'shared',
  Unsqueeze: 'shared',
};

/** A weight (and its bias) to quantize. */
export interface WeightPlan {
  /** The node reading the weight. */
  node: NodeProto;
  /** Input index of the weight. */
  weightInput: number;
  /** Axis of the output channels in the weight (per-channel scales run along it), or -1 for per tensor. */
  axis: number;
  /** Input index of the float bias, or -1. */
  biasInput: number;
  /** Input index of the activation the weight multiplies (its scale times the weight's is the bias scale). */
  activationInput: number;
}

/** Result of {@link planQuantization}. */
export interface QuantizationPlan {
  /** Nodes that run in int8 after onnxruntime's fusions. */
  quantized: Set<NodeProto>;
  /** Relu / Clip(0, max) nodes the output quantization makes redundant: activation → the node producing its input. */
  removedActivations: Map<NodeProto, NodeProto>;
  /** Tensors getting a Q→DQ pair → the tensor whose calibrated range sets their scale (itself, or a shared root). */
  qdq: Map<string, string>;
  /** The tensors to calibrate (the distinct roots of `qdq`), in graph order. */
  calibrate: string[];
  /** Weights to quantize. */
  weights: WeightPlan[];
  /** Nodes of quantizable types left in float, with the reason. */
  skipped: { node: string; opType: string; reason: string }[];
  /** Nodes left in float on request. */
  excluded: string[];
}

/** Options of {@link planQuantization}. */
export interface PlanOptions {
  /** Node names to keep in float. */
  exclude: readonly string[];
  /** Per-channel weight scales (else one scale per weight tensor). */
  perChannel: boolean;
  /** Activations quantized symmetrically (zero point 0): Relu/Clip then cannot be folded into the quantization. */
  symmetricActivations: boolean;
}

/**
 * Decide what to quantize in a (BatchNorm-folded) float graph.
 *
 * @throws {ConverterError} INVALID_OPTION when an excluded name matches no node.
 */
export function planQuantization(index: GraphIndex, options: PlanOptions): QuantizationPlan {
  const nodes = index.graph.node ?? [];
  const byName = new Map(nodes.filter((n) => n.name).map((n) => [n.name!, n]));
  const unknown = options.exclude.filter((name) => !byName.has(name));
  if (unknown.length > 0) {
    const sample = nodes
      .filter((n) => ROLES[n.opType ?? ''] && n.name)
      .slice(0, 3)
      .map((n) => n.name);
    throw new ConverterError(
      'INVALID_OPTION',
      `Expected node names for exclude but received ${unknown.map((n) => JSON.stringify(n)).join(', ')}, which name no node of the model (node names look like ${sample.join(', ')})`,
    );
  }
  const excluded = new Set(options.exclude);
  const isActivation = (name: string | undefined): boolean =>
    !!name && !index.constants.has(name) && name !== '';

  const quantized = new Set<NodeProto>();
  const roles = new Map<NodeProto, Role>();
  const weights: WeightPlan[] = [];
  const skipped: QuantizationPlan['skipped'] = [];
  const skip = (node: NodeProto, reason: string): void => {
    skipped.push({ node: node.name ?? '', opType: node.opType ?? '', reason });
  };

  for (const node of nodes) {
    const role = node.domain ? undefined : ROLES[node.opType ?? ''];
    if (!role || excluded.has(node.name ?? '')) continue;
    const inputs = node.input ?? [];
    if (role === 'shared') continue; // decided below, once removed activations are known
    if (role === 'pool' || role === 'binary') {
      const count = role === 'pool' ? 1 : 2;
      if (inputs.slice(0, count).every(isActivation) && inputs.length >= count) {
        quantized.add(node);
        roles.set(node, role);
      } else skip(node, 'an input is a constant');
      continue;
    }
    const plan = planWeights(node, index, options.perChannel);
    if (typeof plan === 'string') skip(node, plan);
    else {
      quantized.add(node);
      roles.set(node, role);
      weights.push(plan);
    }
  }

  // Relu / Clip(0, max) right after a quantized node: quantizing its output with a range starting at 0 clamps the
  // same values, so the node goes and the producer's output takes its name (what onnxruntime's quantizer does).
  const removedActivations = new Map<NodeProto, NodeProto>();
  if (!options.symmetricActivations) {
    for (const node of nodes) {
      if (node.domain || excluded.has(node.name ?? '')) continue;
      if (node.opType !== 'Relu' && node.opType !== 'Clip') continue;
      const x = node.input?.[0] ?? '';
      const producer = index.producer.get(x);
      if (!producer || !quantized.has(producer) || roles.get(producer) === 'shared') continue;
      if (index.readers(x).length !== 1 || index.outputs.has(x)) continue;
      if (node.opType === 'Clip' && !clipStartsAtZero(node, index)) continue;
      removedActivations.set(node, producer);
    }
  }
  // Data movement right after an int8 result stays int8 (same scale in and out); elsewhere it stays float.
  for (const node of nodes) {
    if (node.domain || ROLES[node.opType ?? ''] !== 'shared' || excluded.has(node.name ?? '')) continue;
    const producer = index.producer.get(node.input?.[0] ?? '');
    if (producer && (quantized.has(producer) || removedActivations.has(producer))) {
      quantized.add(node);
      roles.set(node, 'shared');
    }
  }
  const removedBy = new Map([...removedActivations].map(([act, producer]) => [producer, act]));
  const outputOf = (node: NodeProto): string => {
    const act = removedBy.get(node);
    return (act ?? node).output?.[0] ?? '';
  };
  const readsQuantized = (tensor: string): boolean =>
    index.readers(tensor).some((r) => quantized.has(r) || removedActivations.has(r));

  const qdq = new Map<string, string>();
  const root = (tensor: string): string => {
    let t = tensor;
    for (let next = qdq.get(t); next !== undefined && next !== t; next = qdq.get(t)) t = next;
    return t;
  };
  const mark = (tensor: string, shareWith?: string): void => {
    if (!tensor || qdq.has(tensor)) return;
    qdq.set(tensor, shareWith === undefined ? tensor : root(shareWith));
  };
  for (const node of nodes) {
    const role = roles.get(node);
    if (!role) continue;
    const inputs = node.input ?? [];
    if (role === 'weighted') {
      const w = weights.find((p) => p.node === node)!;
      inputs.forEach((name, i) => {
        if (i !== w.weightInput && i !== w.biasInput && isActivation(name)) mark(name);
      });
    } else if (role === 'binary') {
      mark(inputs[0] ?? '');
      mark(inputs[1] ?? '');
    } else mark(inputs[0] ?? '');
    const out = outputOf(node);
    if (role === 'shared') mark(out, inputs[0]);
    else if (node.opType === 'Gemm') {
      // A Gemm may end in float (QGemm with a float output): the logits keep their precision.
      if (readsQuantized(out)) mark(out);
    } else {
      // A MatMul ending in float would first be fused with a following bias Add into a float Gemm by onnxruntime
      // (measured: no int8 kernel left), so its output is quantized too (QLinearMatMul).
      mark(out);
    }
  }
  const calibrate = [...new Set([...qdq.values()])];
  return {
    quantized,
    removedActivations,
    qdq,
    calibrate,
    weights,
    skipped,
    excluded: [...excluded],
  };
}

/** A Clip whose lower bound is exactly 0 (ReLU6 and friends) and whose upper bound, if any, is constant. */
function clipStartsAtZero(node: NodeProto, index: GraphIndex): boolean {
  const inputs = node.input ?? [];
  if (inputs.length < 2 || !inputs[1]) {
    // opset < 11: bounds are attributes.
    return attrFloat(node, 'min', Number.NEGATIVE_INFINITY) === 0;
  }
  const min = index.floatConstant(inputs[1]);
  if (!min || readFloats(min)[0] !== 0) return false;
  return !inputs[2] || index.floatConstant(inputs[2]) !== undefined;
}

/** The weight plan of a Conv / Gemm / MatMul, or why it stays float. */
function planWeights(node: NodeProto, index: GraphIndex, perChannel: boolean): WeightPlan | string {
  const inputs = node.input ?? [];
  const w = index.floatConstant(inputs[1]);
  if (index.constants.has(inputs[0] ?? '')) return 'its first input is a constant';
  if (node.opType === 'Conv') {
    if (!w) return 'the weight is not a float32 constant';
    const dims = dimsOf(w);
    if (dims.length < 3) return `the weight has rank ${dims.length}`;
    const bias = inputs[2] ? index.floatConstant(inputs[2]) : undefined;
    if (inputs[2] && (!bias || readFloats(bias).length !== dims[0]))
      return 'the bias is not a float32 constant with one value per output channel';
    return {
      node,
      weightInput: 1,
      axis: perChannel ? 0 : -1,
      biasInput: inputs[2] ? 2 : -1,
      activationInput: 0,
    };
  }
  if (node.opType === 'Gemm') {
    if (!w) return 'the weight B is not a float32 constant';
    if (attrInt(node, 'transA', 0) !== 0) return 'transA = 1';
    if (attrFloat(node, 'alpha', 1) !== 1 || (inputs[2] && attrFloat(node, 'beta', 1) !== 1))
      return 'alpha or beta is not 1';
    const dims = dimsOf(w);
    if (dims.length !== 2) return `B has rank ${dims.length}`;
    const transB = attrInt(node, 'transB', 0) === 1;
    const n = transB ? dims[0]! : dims[1]!;
    if (inputs[2]) {
      const c = index.floatConstant(inputs[2]);
      if (!c || dimsOf(c).length !== 1 || dimsOf(c)[0] !== n)
        return 'C is not a float32 constant of shape [N]';
    }
    return {
      node,
      weightInput: 1,
      axis: perChannel ? (transB ? 0 : 1) : -1,
      biasInput: inputs[2] ? 2 : -1,
      activationInput: 0,
    };
  }
  // MatMul: a constant B is a weight; two activations are both quantized as activations (QLinearMatMul).
  if (!w) {
    if (index.constants.has(inputs[1] ?? '')) return 'B is a constant but not float32';
    return { node, weightInput: -1, axis: -1, biasInput: -1, activationInput: 0 };
  }
  const dims = dimsOf(w);
  return {
    node,
    weightInput: 1,
    axis: perChannel && dims.length === 2 ? 1 : -1,
    biasInput: -1,
    activationInput: 0,
  };
}
