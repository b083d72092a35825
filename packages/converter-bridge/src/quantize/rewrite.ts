/**
 * The QDQ rewrite: a float graph + a plan + activation parameters → the same graph with QuantizeLinear →
 * DequantizeLinear pairs on the planned tensors, int8 per-channel weights and int32 biases behind
 * DequantizeLinear, and the activations the quantization replaces removed. onnxruntime fuses the result into int8
 * kernels when it loads it; any other ONNX runtime runs it as written (float arithmetic on quantized values).
 * @module
 */
import type { onnx } from 'onnx-proto';
import type { NodeProto } from '../validate/onnx-proto.js';
import {
  attrInt,
  byteTensor,
  DataType,
  dimsOf,
  floatTensor,
  GraphIndex,
  int32Tensor,
  intAttr,
  type LoadedModel,
  NameAllocator,
  pruneDeadCode,
  readFloats,
  roundHalfEven,
} from './graph.js';
import type { QuantizationPlan } from './plan.js';
import { type QuantParams, quantizeWeights, quantizeWithScales, WEIGHT_MAX } from './ranges.js';
import type { RewriteSummary } from './summary.js';

const INT32_MAX = 2 ** 31 - 1;

/** What the rewrite did, for the report. */

/** Options of {@link rewriteToQdq}. */
export interface RewriteOptions {
  /** Per-channel means of calibrated tensors (by root name): enables bias correction. */
  inputMeans?: ReadonlyMap<string, Float64Array>;
  /**
   * Largest |stored weight| ({@link WEIGHT_MAX}); default 127. Depthwise convolutions and the layers reading the
   * graph input or writing a graph output keep 127.
   */
  weightMax?: number;
}

/**
 * Rewrite `model` (edited in place: pass a copy) into QDQ form.
 *
 * @param params - Quantization parameters of every root tensor of `plan.qdq`.
 */
export function rewriteToQdq(
  model: LoadedModel,
  plan: QuantizationPlan,
  params: ReadonlyMap<string, QuantParams>,
  options: RewriteOptions = {},
): RewriteSummary {
  const graph = model.graph;
  const names = new NameAllocator(graph);
  const summary: RewriteSummary = {
    activationPairs: 0,
    int8Weights: 0,
    int32Biases: 0,
    removedActivations: plan.removedActivations.size,
    biasAdjustedChannels: 0,
    biasCorrected: 0,
  };
  const initializers: onnx.ITensorProto[] = [];
  const paramsOf = (tensor: string): QuantParams => {
    const root = plan.qdq.get(tensor);
    const p = root === undefined ? undefined : params.get(root);
    if (!p) throw new Error(`internal: no quantization parameters for ${tensor}`);
    return p;
  };

  // 1. Relu / Clip(0, …) before a QuantizeLinear: the producer writes the activation's output directly.
  for (const [activation, producer] of plan.removedActivations)
    producer.output = [activation.output?.[0] ?? '', ...(producer.output ?? []).slice(1)];
  const removed = new Set<NodeProto>(plan.removedActivations.keys());
  graph.node = (graph.node ?? []).filter((n) => !removed.has(n));

  // 2. Weights and biases (read before the activations are renamed: the bias scale needs the input's scale).
  const before = new Map<NodeProto, NodeProto[]>();
  const constants = new GraphIndex(graph).constants;
  const constant = (name: string | undefined): onnx.ITensorProto => {
    const t = name === undefined ? undefined : constants.get(name);
    if (!t) throw new Error(`internal: ${name} is not a constant`);
    return t;
  };
  const graphInputs = new Set((graph.input ?? []).map((i) => i.name ?? ''));
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  for (const w of plan.weights) {
    if (w.weightInput < 0) continue;
    const node = w.node;
    const inputs = [...(node.input ?? [])];
    const weight = constant(inputs[w.weightInput]);
    const dims = dimsOf(weight);
    const values = readFloats(weight);
    // Full 8-bit weights where reduced ones are not needed or cost the most: depthwise convolutions run on
    // onnxruntime's own kernels, which widen before adding (measured exact on AVX2 without VNNI; @mtailor/core
    // probes them at load); the layer reading the image and the layer writing the logits are the most sensitive
    // (held-out logit rms 0.274 → 0.263 on MobileNetV2) and small (on CPUs without VNNI only they then run on
    // @mtailor/core's slower exact kernels).
    const depthwise =
      node.opType === 'Conv' && dims.length === 4 && dims[1] === 1 && attrInt(node, 'group', 1) === dims[0];
    const edge =
      graphInputs.has(inputs[w.activationInput] ?? '') ||
      (node.output ?? []).some((o) => graphOutputs.has(o));
    const weightMax = depthwise || edge ? WEIGHT_MAX.full : (options.weightMax ?? WEIGHT_MAX.full);
    let { data, scales } = quantizeWeights(values, dims, w.axis, weightMax);
    const dqNodes: NodeProto[] = [];
    const activation = inputs[w.activationInput]!;
    const biasTensor = w.biasInput >= 0 ? constant(inputs[w.biasInput]) : undefined;
    let bias = biasTensor ? readFloats(biasTensor) : undefined;
    // Bias correction: the rounded weights shift each output channel's mean by ΔW · E[x]; the bias takes it back.
    const means = options.inputMeans?.get(plan.qdq.get(activation) ?? activation);
    const outputs = outputChannels(node, dims);
    if (means && outputs !== undefined && node.opType !== 'MatMul') {
      const shift = meanShift(node, values, data, scales, dims, w.axis, means);
      if (shift) {
        bias = bias ? Float32Array.from(bias) : new Float32Array(outputs);
        for (let c = 0; c < outputs; c++) bias[c]! -= shift[c]!;
        summary.biasCorrected++;
      }
    }
    if (bias) {
      const inputScale = paramsOf(activation).scale;
      // A bias too large for int32 at scale inputScale × weightScale: widen that channel's weight scale.
      let adjusted = false;
      for (let c = 0; c < bias.length; c++) {
        const k = w.axis < 0 ? 0 : c;
        const needed = Math.abs(bias[c]!) / (inputScale * INT32_MAX);
        if (needed > scales[k]!) {
          scales[k] = needed * 1.0001;
          adjusted = true;
          summary.biasAdjustedChannels++;
        }
      }
      if (adjusted) data = requantize(values, dims, w.axis, scales, weightMax);
      const biasScales = new Float32Array(scales.length);
      for (let k = 0; k < scales.length; k++) biasScales[k] = Math.fround(inputScale * scales[k]!);
      const q = new Int32Array(bias.length);
      for (let c = 0; c < bias.length; c++) {
        const v = roundHalfEven(bias[c]! / biasScales[w.axis < 0 ? 0 : c]!);
        q[c] = Math.max(-INT32_MAX, Math.min(INT32_MAX, v));
      }
      const base = biasTensor?.name ?? `${node.name || node.opType}.bias`;
      const perChannel = w.axis >= 0;
      const qName = names.take(`${base}_quantized`);
      const sName = names.take(`${base}_scale`);
      const zName = names.take(`${base}_zero_point`);
      const outName = names.take(`${base}_dequantized`);
      initializers.push(
        int32Tensor(qName, [bias.length], q),
        floatTensor(sName, perChannel ? [scales.length] : [], biasScales),
        int32Tensor(zName, perChannel ? [scales.length] : [], new Int32Array(scales.length)),
      );
      dqNodes.push({
        opType: 'DequantizeLinear',
        name: names.take(`${base}_DequantizeLinear`),
        input: [qName, sName, zName],
        output: [outName],
        attribute: perChannel ? [intAttr('axis', 0)] : [],
      });
      inputs[w.biasInput >= 0 ? w.biasInput : 2] = outName;
      summary.int32Biases++;
    }
    const base = weight.name ?? 'weight';
    const perChannel = w.axis >= 0;
    const qName = names.take(`${base}_quantized`);
    const sName = names.take(`${base}_scale`);
    const zName = names.take(`${base}_zero_point`);
    const outName = names.take(`${base}_dequantized`);
    initializers.push(
      byteTensor(qName, dims, data, DataType.INT8),
      floatTensor(sName, perChannel ? [scales.length] : [], scales),
      byteTensor(zName, perChannel ? [scales.length] : [], new Int8Array(scales.length), DataType.INT8),
    );
    dqNodes.unshift({
      opType: 'DequantizeLinear',
      name: names.take(`${base}_DequantizeLinear`),
      input: [qName, sName, zName],
      output: [outName],
      attribute: perChannel ? [intAttr('axis', w.axis)] : [],
    });
    inputs[w.weightInput] = outName;
    node.input = inputs;
    before.set(node, dqNodes);
    summary.int8Weights++;
  }

  // 3. QuantizeLinear → DequantizeLinear on the planned activations.
  const index = new GraphIndex(graph);
  const after = new Map<NodeProto, NodeProto[]>();
  const atStart: NodeProto[] = [];
  const sharedParams = new Map<string, { scale: string; zeroPoint: string }>();
  for (const [tensor, root] of plan.qdq) {
    const p = paramsOf(tensor);
    let pairNames = sharedParams.get(root);
    if (!pairNames) {
      pairNames = { scale: names.take(`${root}_scale`), zeroPoint: names.take(`${root}_zero_point`) };
      sharedParams.set(root, pairNames);
      initializers.push(floatTensor(pairNames.scale, [], Float32Array.of(p.scale)));
      initializers.push(
        p.type === 'uint8'
          ? byteTensor(pairNames.zeroPoint, [], Uint8Array.of(p.zeroPoint), DataType.UINT8)
          : byteTensor(pairNames.zeroPoint, [], Int8Array.of(p.zeroPoint), DataType.INT8),
      );
    }
    const producer = index.producer.get(tensor);
    const producerQuantized = producer !== undefined && plan.quantized.has(producer);
    const readers = index.readers(tensor);
    const quantizedName = names.take(`${tensor}_quantized`);
    let source = tensor;
    let dequantized: string;
    if (index.outputs.has(tensor) && producer) {
      // A graph output keeps its name: the producer writes a float copy that the pair turns into the output.
      source = names.take(`${tensor}_float`);
      producer.output = (producer.output ?? []).map((o) => (o === tensor ? source : o));
      dequantized = tensor;
    } else {
      dequantized = names.take(`${tensor}_dequantized`);
      // After an int8 producer the float tensor no longer exists once fused: everyone reads the dequantized one.
      for (const r of readers) {
        if (!producerQuantized && !plan.quantized.has(r)) continue;
        r.input = (r.input ?? []).map((i) => (i === tensor ? dequantized : i));
      }
    }
    const pair: NodeProto[] = [
      {
        opType: 'QuantizeLinear',
        name: names.take(`${tensor}_QuantizeLinear`),
        input: [source, pairNames.scale, pairNames.zeroPoint],
        output: [quantizedName],
      },
      {
        opType: 'DequantizeLinear',
        name: names.take(`${tensor}_DequantizeLinear`),
        input: [quantizedName, pairNames.scale, pairNames.zeroPoint],
        output: [dequantized],
      },
    ];
    if (producer) after.set(producer, [...(after.get(producer) ?? []), ...pair]);
    else atStart.push(...pair);
    summary.activationPairs++;
  }

  const ordered: NodeProto[] = [...atStart];
  for (const node of graph.node ?? []) {
    ordered.push(...(before.get(node) ?? []), node, ...(after.get(node) ?? []));
  }
  graph.node = ordered;
  graph.initializer = [...(graph.initializer ?? []), ...initializers];
  // Shapes recorded for tensors that were renamed or removed would now be wrong; onnxruntime infers them again.
  graph.valueInfo = [];
  pruneDeadCode(graph);
  return summary;
}

function requantize(
  values: Float32Array,
  dims: readonly number[],
  axis: number,
  scales: Float32Array,
  weightMax: number,
): Int8Array {
  const channels = axis < 0 ? 1 : dims[axis]!;
  const inner = axis < 0 ? values.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  return quantizeWithScales(
    values,
    scales,
    (i) => (axis < 0 ? 0 : Math.floor(i / inner) % channels),
    weightMax,
  );
}

/** Output channels of a Conv / Gemm weight (undefined for MatMul and shapes not understood). */
function outputChannels(node: NodeProto, dims: readonly number[]): number | undefined {
  if (node.opType === 'Conv') return dims[0];
  if (node.opType === 'Gemm') return attrInt(node, 'transB', 0) === 1 ? dims[0] : dims[1];
  return undefined;
}

/**
 * The expected output shift (dequantized − float weights) · E[input] of each output channel, from the per-channel
 * means of the input (zero padding at the borders ignored), or undefined when the means do not fit the weight.
 */
function meanShift(
  node: NodeProto,
  values: Float32Array,
  data: Int8Array,
  scales: Float32Array,
  dims: readonly number[],
  axis: number,
  means: Float64Array,
): Float64Array | undefined {
  if (node.opType === 'Conv') {
    const [m, perGroup] = [dims[0]!, dims[1]!];
    const groups = attrInt(node, 'group', 1);
    if (means.length !== perGroup * groups || m % groups !== 0) return undefined;
    const kernel = dims.slice(2).reduce((a, b) => a * b, 1);
    const outPerGroup = m / groups;
    const shift = new Float64Array(m);
    for (let o = 0; o < m; o++) {
      const s = scales[axis < 0 ? 0 : o]!;
      const firstIn = Math.floor(o / outPerGroup) * perGroup;
      let acc = 0;
      for (let ci = 0; ci < perGroup; ci++) {
        const base = (o * perGroup + ci) * kernel;
        let d = 0;
        for (let k = base; k < base + kernel; k++) d += data[k]! * s - values[k]!;
        acc += d * means[firstIn + ci]!;
      }
      shift[o] = acc;
    }
    return shift;
  }
  const transB = attrInt(node, 'transB', 0) === 1;
  const [rows, cols] = [dims[0]!, dims[1]!];
  const n = transB ? rows : cols;
  const k = transB ? cols : rows;
  if (means.length !== k) return undefined;
  const shift = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const out = transB ? r : c;
      const s = scales[axis < 0 ? 0 : out]!;
      shift[out]! += (data[i]! * s - values[i]!) * means[transB ? c : r]!;
    }
  }
  return shift;
}
