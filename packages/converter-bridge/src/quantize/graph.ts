/**
 * The graph view the quantizer works on: the decoded ONNX graph (onnx-proto objects, edited in place) with its
 * constants, producers and consumers indexed, and readers/writers for the tensors it touches.
 * @module
 */
import type { onnx } from 'onnx-proto';
import onnxProto from 'onnx-proto';
import { int64, type ModelProto, type NodeProto, type TensorProto } from '../validate/onnx-proto.js';

/** ONNX TensorProto.DataType numbers the quantizer reads or writes. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

/** AttributeProto.AttributeType numbers. */
const ATTR = { FLOAT: 1, INT: 2, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** A model whose graph is present (checked once on load). */
export type LoadedModel = ModelProto & { graph: onnx.GraphProto };

/** Decode bytes into a model the quantizer may edit (the caller's bytes are not touched). */
export function decodeModel(bytes: Uint8Array): LoadedModel {
  return onnxProto.onnx.ModelProto.decode(bytes) as LoadedModel;
}

/** Encode a model to ONNX bytes. */
export function encodeModel(model: onnx.IModelProto): Uint8Array {
  return onnxProto.onnx.ModelProto.encode(model).finish();
}

/** A deep copy (encode + decode), so an augmented or rewritten graph never aliases the original. */
export function cloneModel(model: onnx.IModelProto): LoadedModel {
  return decodeModel(encodeModel(model));
}

/** An attribute of a node, or undefined. */
export function attribute(node: NodeProto, name: string): onnx.IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

/** An int attribute (or `fallback`). */
export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a?.i === undefined || a.i === null ? fallback : int64(a.i);
}

/** A float attribute (or `fallback`). */
export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a?.f === undefined || a.f === null ? fallback : a.f;
}

/** An int attribute. */
export function intAttr(name: string, value: number): onnx.IAttributeProto {
  return { name, type: ATTR.INT, i: value };
}

/** Copy bytes into a fresh, aligned buffer (protobufjs' rawData may be an unaligned view of the file). */
function aligned(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

/** The values of a float32 (or float64) tensor as float32, whatever its encoding (raw_data, float_data). */
export function readFloats(tensor: TensorProto): Float32Array {
  const count = (tensor.dims ?? []).reduce<number>((n, d) => n * int64(d), 1);
  if (tensor.dataType === DataType.FLOAT) {
    if (tensor.rawData && tensor.rawData.byteLength > 0) return new Float32Array(aligned(tensor.rawData));
    return Float32Array.from(tensor.floatData ?? []).subarray(0, count);
  }
  if (tensor.dataType === DataType.DOUBLE) {
    if (tensor.rawData && tensor.rawData.byteLength > 0)
      return Float32Array.from(new Float64Array(aligned(tensor.rawData)));
    return Float32Array.from(tensor.doubleData ?? []);
  }
  throw new Error(`tensor ${tensor.name} is not float32/float64 (data type ${tensor.dataType})`);
}

/** Dimensions of a tensor as numbers. */
export function dimsOf(tensor: TensorProto): number[] {
  return (tensor.dims ?? []).map((d) => int64(d));
}

/** A float32 initializer. */
export function floatTensor(name: string, dims: readonly number[], values: Float32Array): onnx.ITensorProto {
  return {
    name,
    dataType: DataType.FLOAT,
    dims: [...dims],
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  };
}

/** An int8 or uint8 initializer. */
export function byteTensor(
  name: string,
  dims: readonly number[],
  values: Int8Array | Uint8Array,
  dataType: typeof DataType.INT8 | typeof DataType.UINT8,
): onnx.ITensorProto {
  return {
    name,
    dataType,
    dims: [...dims],
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  };
}

/** An int32 initializer. */
export function int32Tensor(name: string, dims: readonly number[], values: Int32Array): onnx.ITensorProto {
  return {
    name,
    dataType: DataType.INT32,
    dims: [...dims],
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  };
}

/** The tensor a `Constant` node holds (its `value`, `value_float` or `value_floats` attribute). */
function constantNodeTensor(node: NodeProto): TensorProto | undefined {
  const name = node.output?.[0] ?? '';
  for (const a of node.attribute ?? []) {
    if (a.name === 'value' && a.t) return { ...a.t, name };
    if (a.name === 'value_float' && typeof a.f === 'number')
      return floatTensor(name, [], Float32Array.of(a.f));
    if (a.name === 'value_floats' && a.floats)
      return floatTensor(name, [a.floats.length], Float32Array.from(a.floats));
  }
  return undefined;
}

/**
 * Indexes of a graph: which tensors are constant (initializers and Constant-node outputs), which node produces each
 * tensor, which nodes read it. Rebuilt after each structural edit (graphs are small: hundreds of nodes).
 */
export class GraphIndex {
  /** Constant tensors by name: initializers and `Constant` node outputs. */
  readonly constants = new Map<string, TensorProto>();
  /** Initializers by name. */
  readonly initializers = new Map<string, TensorProto>();
  /** The node producing each tensor. */
  readonly producer = new Map<string, NodeProto>();
  /** The nodes reading each tensor, in graph order (a node reading a tensor twice is listed once). */
  readonly consumers = new Map<string, NodeProto[]>();
  /** Names of the graph inputs that are not initializers (the image input). */
  readonly inputs: Set<string>;
  /** Names of the graph outputs. */
  readonly outputs: Set<string>;

  constructor(readonly graph: onnx.IGraphProto) {
    for (const t of graph.initializer ?? []) {
      this.initializers.set(t.name ?? '', t);
      this.constants.set(t.name ?? '', t);
    }
    this.inputs = new Set(
      (graph.input ?? []).map((i) => i.name ?? '').filter((n) => !this.initializers.has(n)),
    );
    this.outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
    for (const node of graph.node ?? []) {
      for (const out of node.output ?? []) if (out) this.producer.set(out, node);
      if (node.opType === 'Constant' && (node.domain ?? '') === '') {
        const t = constantNodeTensor(node);
        if (t) this.constants.set(node.output?.[0] ?? '', t);
      }
      for (const input of new Set(node.input ?? [])) {
        if (!input) continue;
        const list = this.consumers.get(input);
        if (list) list.push(node);
        else this.consumers.set(input, [node]);
      }
    }
  }

  /** The constant float32 tensor named `name`, or undefined when it is not constant or not float32. */
  floatConstant(name: string | undefined): TensorProto | undefined {
    if (!name) return undefined;
    const t = this.constants.get(name);
    return t && t.dataType === DataType.FLOAT ? t : undefined;
  }

  /** The nodes reading `name` (empty when none). */
  readers(name: string): NodeProto[] {
    return this.consumers.get(name) ?? [];
  }
}

/** Hands out tensor and node names not yet used in a graph. */
export class NameAllocator {
  readonly #used = new Set<string>();

  constructor(graph: onnx.IGraphProto) {
    for (const t of graph.initializer ?? []) this.#used.add(t.name ?? '');
    for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])])
      this.#used.add(v.name ?? '');
    for (const n of graph.node ?? []) {
      for (const x of [...(n.input ?? []), ...(n.output ?? [])]) this.#used.add(x);
      if (n.name) this.#used.add(n.name);
    }
  }

  /** `base` when free, else `base_1`, `base_2`, … */
  take(base: string): string {
    let name = base;
    for (let i = 1; this.#used.has(name); i++) name = `${base}_${i}`;
    this.#used.add(name);
    return name;
  }
}

/**
 * Drop nodes whose outputs nobody reads (repeatedly: removing one can orphan its producers) and initializers no
 * node reads, so a rewrite leaves no dead weight behind (the validator warns about unused initializers).
 */
export function pruneDeadCode(graph: onnx.IGraphProto): void {
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  let nodes = graph.node ?? [];
  for (;;) {
    const read = new Set<string>(outputs);
    for (const n of nodes) for (const i of n.input ?? []) if (i) read.add(i);
    const kept = nodes.filter((n) => (n.output ?? []).some((o) => o && read.has(o)));
    if (kept.length === nodes.length) break;
    nodes = kept;
  }
  graph.node = nodes;
  const read = new Set<string>(outputs);
  for (const n of nodes) for (const i of n.input ?? []) if (i) read.add(i);
  const dropped = new Set(
    (graph.initializer ?? []).map((t) => t.name ?? '').filter((name) => !read.has(name)),
  );
  graph.initializer = (graph.initializer ?? []).filter((t) => !dropped.has(t.name ?? ''));
  // An initializer also listed as a graph input (IR < 4 style) leaves the input list with it.
  graph.input = (graph.input ?? []).filter((i) => !dropped.has(i.name ?? ''));
}

/** Round half to even, as ONNX QuantizeLinear does (`Math.round` rounds half up). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
