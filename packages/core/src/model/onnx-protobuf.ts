/**
 * Just enough of the ONNX protobuf wire format to read a model's top-level graph (nodes, initializers, graph
 * inputs and outputs) with the byte offsets of each initializer's fields, and to write a tiny model. Reading
 * offsets rather than decoding lets {@link int8-kernels} patch a large model in place without re-serialising it.
 * @module
 */

/** Protobuf wire types. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** ONNX `TensorProto.DataType` values used here. */
export const TensorType = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7 } as const;

/** One field of a message: its number, wire type, and where its value lies in the buffer. */
interface Field {
  field: number;
  wire: number;
  /** For varints: the value (exact up to 2^53); for length-delimited fields: the length. */
  value: number;
  /** For varints: the low 32 bits as a signed int32. */
  int32: number;
  /** Where the value starts (the varint's first byte, or the first byte of a length-delimited payload). */
  start: number;
  /** One past the value's last byte. */
  end: number;
}

/** The wire format is not what an ONNX model's should be. */
export class ProtobufError extends Error {}

/** A varint: its value (exact up to 2^53), its low 32 bits as a signed int32, and the offset after it. */
function readVarint(
  buf: Uint8Array,
  pos: number,
  end: number,
): { value: number; int32: number; next: number } {
  let value = 0;
  let int32 = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new ProtobufError('truncated varint');
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * scale;
    if (i < 5) int32 |= (byte & 0x7f) << (7 * i);
    scale *= 128;
    if (byte < 0x80) return { value, int32, next: pos };
  }
  throw new ProtobufError('varint longer than 10 bytes');
}

/** The fields of the message in `buf[start, end)`, in order. */
function* fields(buf: Uint8Array, start: number, end: number): Generator<Field> {
  let pos = start;
  while (pos < end) {
    const tag = readVarint(buf, pos, end);
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    pos = tag.next;
    if (wire === VARINT) {
      const v = readVarint(buf, pos, end);
      yield { field, wire, value: v.value, int32: v.int32, start: pos, end: v.next };
      pos = v.next;
    } else if (wire === LENGTH_DELIMITED) {
      const len = readVarint(buf, pos, end);
      const valueEnd = len.next + len.value;
      if (valueEnd > end) throw new ProtobufError(`field ${field} runs past its message`);
      yield { field, wire, value: len.value, int32: 0, start: len.next, end: valueEnd };
      pos = valueEnd;
    } else if (wire === FIXED64 || wire === FIXED32) {
      const size = wire === FIXED64 ? 8 : 4;
      if (pos + size > end) throw new ProtobufError(`field ${field} runs past its message`);
      yield { field, wire, value: 0, int32: 0, start: pos, end: pos + size };
      pos += size;
    } else {
      throw new ProtobufError(`unsupported wire type ${wire}`);
    }
  }
}

const decoder = new TextDecoder();
const text = (buf: Uint8Array, f: Field): string => decoder.decode(buf.subarray(f.start, f.end));

/** A node of the top-level graph. */
export interface OnnxNode {
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  /** True when an attribute holds a graph (If, Loop, Scan): names used inside it are not listed in `inputs`. */
  hasSubgraph: boolean;
  /** For a `Constant` node: its value's data type. */
  constantType?: number;
  /** Integer attributes by name (e.g. a Conv's `group`). */
  ints: Record<string, number>;
}

/** An initializer of the top-level graph, with the byte ranges a patch needs. */
export interface OnnxInitializer {
  name: string;
  dataType: number;
  dims: number[];
  /** Byte offset of the `data_type` varint's value, when present. */
  dataTypeOffset?: number;
  /** The `raw_data` bytes' range, when the values are stored there. */
  raw?: { start: number; end: number };
  /** The `int32_data` values (int8, uint8 and int32 tensors may be stored there instead of `raw_data`). */
  int32Data?: number[];
  /** True when the values live outside the model bytes (`data_location = EXTERNAL`). */
  external: boolean;
}

/** The top-level graph of a model, as far as the int8 analysis needs it. */
export interface OnnxGraph {
  nodes: OnnxNode[];
  initializers: Map<string, OnnxInitializer>;
  /** Names of the graph's inputs and outputs (an initializer listed as an input can be overridden at run time). */
  inputs: Set<string>;
  outputs: Set<string>;
}

function readTensorDataType(buf: Uint8Array, start: number, end: number): number | undefined {
  for (const f of fields(buf, start, end)) if (f.field === 2 && f.wire === VARINT) return f.value;
  return undefined;
}

function readNode(buf: Uint8Array, start: number, end: number): OnnxNode {
  const node: OnnxNode = { opType: '', domain: '', inputs: [], outputs: [], hasSubgraph: false, ints: {} };
  for (const f of fields(buf, start, end)) {
    if (f.wire !== LENGTH_DELIMITED) continue;
    if (f.field === 1) node.inputs.push(text(buf, f));
    else if (f.field === 2) node.outputs.push(text(buf, f));
    else if (f.field === 4) node.opType = text(buf, f);
    else if (f.field === 7) node.domain = text(buf, f);
    else if (f.field === 5) {
      // AttributeProto: name = 1, i = 3, t = 5 (a Constant's value), g = 6, graphs = 11.
      let name = '';
      let int: number | undefined;
      for (const a of fields(buf, f.start, f.end)) {
        if (a.field === 3 && a.wire === VARINT) int = a.int32;
        if (a.wire !== LENGTH_DELIMITED) continue;
        if (a.field === 1) name = text(buf, a);
        else if (a.field === 6 || a.field === 11) node.hasSubgraph = true;
        else if (a.field === 5) node.constantType = readTensorDataType(buf, a.start, a.end);
      }
      if (int !== undefined && name) node.ints[name] = int;
    }
  }
  return node;
}

function readInitializer(buf: Uint8Array, start: number, end: number): OnnxInitializer {
  const init: OnnxInitializer = { name: '', dataType: 0, dims: [], external: false };
  for (const f of fields(buf, start, end)) {
    if (f.field === 1 && f.wire === VARINT) init.dims.push(f.value);
    else if (f.field === 1 && f.wire === LENGTH_DELIMITED)
      for (let p = f.start; p < f.end; ) {
        const v = readVarint(buf, p, f.end);
        init.dims.push(v.value);
        p = v.next;
      }
    else if (f.field === 2 && f.wire === VARINT) {
      init.dataType = f.value;
      init.dataTypeOffset = f.start;
    } else if (f.field === 5) {
      // int32_data: int32 values, negative ones as 10-byte two's-complement varints.
      init.int32Data ??= [];
      const values = init.int32Data;
      if (f.wire === VARINT) values.push(f.int32);
      else
        for (let p = f.start; p < f.end; ) {
          const v = readVarint(buf, p, f.end);
          values.push(v.int32);
          p = v.next;
        }
    } else if (f.field === 8 && f.wire === LENGTH_DELIMITED) init.name = text(buf, f);
    else if (f.field === 9 && f.wire === LENGTH_DELIMITED) init.raw = { start: f.start, end: f.end };
    else if (f.field === 14 && f.wire === VARINT && f.value === 1) init.external = true;
  }
  return init;
}

function valueInfoName(buf: Uint8Array, start: number, end: number): string {
  for (const f of fields(buf, start, end))
    if (f.field === 1 && f.wire === LENGTH_DELIMITED) return text(buf, f);
  return '';
}

/**
 * Reads the top-level graph of an ONNX model (`ModelProto.graph`).
 * @throws {@link ProtobufError} when the bytes are not a well-formed protobuf message or hold no graph.
 */
export function readOnnxGraph(model: Uint8Array): OnnxGraph {
  let graph: Field | undefined;
  for (const f of fields(model, 0, model.byteLength))
    if (f.field === 7 && f.wire === LENGTH_DELIMITED) graph = f;
  if (!graph) throw new ProtobufError('no graph');
  const out: OnnxGraph = { nodes: [], initializers: new Map(), inputs: new Set(), outputs: new Set() };
  for (const f of fields(model, graph.start, graph.end)) {
    if (f.wire !== LENGTH_DELIMITED) continue;
    if (f.field === 1) out.nodes.push(readNode(model, f.start, f.end));
    else if (f.field === 5) {
      const init = readInitializer(model, f.start, f.end);
      out.initializers.set(init.name, init);
    } else if (f.field === 11) out.inputs.add(valueInfoName(model, f.start, f.end));
    else if (f.field === 12) out.outputs.add(valueInfoName(model, f.start, f.end));
  }
  return out;
}

// ---- writing (small models built on purpose) ----

function varint(value: number): number[] {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return bytes;
}

const encoder = new TextEncoder();
type Part = number[] | Uint8Array;

/** A varint field. */
export function pbVarint(field: number, value: number): number[] {
  return [...varint(field * 8 + VARINT), ...varint(value)];
}

/** A length-delimited field: a string, bytes or an embedded message given as its parts. */
export function pbBytes(field: number, ...parts: (Part | string)[]): Uint8Array {
  const body = concat(parts.map((p) => (typeof p === 'string' ? encoder.encode(p) : p)));
  return concat([varint(field * 8 + LENGTH_DELIMITED), varint(body.byteLength), body]);
}

function concat(parts: Part[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A `TensorProto` (raw data) as the graph's initializer field. */
export function pbInitializer(name: string, dataType: number, dims: number[], raw: Uint8Array): Uint8Array {
  return pbBytes(
    5,
    ...dims.map((d) => pbVarint(1, d)),
    pbVarint(2, dataType),
    pbBytes(8, name),
    pbBytes(9, raw),
  );
}

/** A `NodeProto` as the graph's node field, with integer attributes (AttributeProto type INT = 2). */
export function pbNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  ints: Record<string, number> = {},
): Uint8Array {
  return pbBytes(
    1,
    ...inputs.map((i) => pbBytes(1, i)),
    ...outputs.map((o) => pbBytes(2, o)),
    pbBytes(4, opType),
    ...Object.entries(ints).map(([name, v]) => pbBytes(5, pbBytes(1, name), pbVarint(3, v), pbVarint(20, 2))),
  );
}

/** A `ValueInfoProto` of a tensor (graph input field 11 or output field 12); string dims are symbolic. */
export function pbValueInfo(
  field: 11 | 12,
  name: string,
  elemType: number,
  dims: readonly (number | string)[],
): Uint8Array {
  const shape = pbBytes(
    2,
    ...dims.map((d) => pbBytes(1, typeof d === 'string' ? pbBytes(2, d) : pbVarint(1, d))),
  );
  return pbBytes(field, pbBytes(1, name), pbBytes(2, pbBytes(1, pbVarint(1, elemType), shape)));
}

/** A `ModelProto` (IR 7, default-domain opset `opset`) around graph fields. */
export function pbModel(graphParts: Uint8Array[], opset = 13): Uint8Array {
  return concat([
    pbVarint(1, 7),
    pbBytes(2, 'mtailor'),
    pbBytes(8, pbVarint(2, opset)),
    pbBytes(7, ...graphParts, pbBytes(2, 'g')),
  ]);
}
