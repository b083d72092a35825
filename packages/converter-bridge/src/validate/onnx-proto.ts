/**
 * Decoding ONNX protobuf bytes with onnx-proto's static protobufjs module, and small readers over the result.
 *
 * onnx-proto 8 carries ONNX 1.10's schema. Fields added to ONNX later (or by anyone) are unknown to it; protobufjs
 * skips unknown fields by wire type, so newer models still decode (tested with a field number absent from the schema).
 * @module
 */
import type { onnx } from 'onnx-proto';
import onnxProto from 'onnx-proto';
import type { Dim, TensorSummary } from './public-types.js';

/** A decoded model (onnx-proto's `onnx.ModelProto`). */
export type ModelProto = onnx.ModelProto;
/** A graph (or subgraph of If/Loop/Scan). */
export type GraphProto = onnx.IGraphProto;
/** A node of a graph. */
export type NodeProto = onnx.INodeProto;
/** A tensor (initializer). */
export type TensorProto = onnx.ITensorProto;
/** A typed graph input/output. */
export type ValueInfoProto = onnx.IValueInfoProto;

type Int64 = number | { toNumber(): number } | null | undefined;

/** Decode ONNX bytes. Throws protobufjs' error (e.g. "index out of range", "invalid wire type") on malformed input. */
export function decodeModelProto(bytes: Uint8Array): ModelProto {
  return onnxProto.onnx.ModelProto.decode(bytes);
}

/** An int64 field as a number (protobufjs yields a Long when the `long` package is present, else a number). */
export function int64(value: Int64): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** ONNX TensorProto.DataType names (including types newer than onnx-proto's enum), by number. */
const ELEMENT_TYPES: Record<number, { name: string; bits: number }> = {
  1: { name: 'float32', bits: 32 },
  2: { name: 'uint8', bits: 8 },
  3: { name: 'int8', bits: 8 },
  4: { name: 'uint16', bits: 16 },
  5: { name: 'int16', bits: 16 },
  6: { name: 'int32', bits: 32 },
  7: { name: 'int64', bits: 64 },
  8: { name: 'string', bits: 0 },
  9: { name: 'bool', bits: 8 },
  10: { name: 'float16', bits: 16 },
  11: { name: 'float64', bits: 64 },
  12: { name: 'uint32', bits: 32 },
  13: { name: 'uint64', bits: 64 },
  14: { name: 'complex64', bits: 64 },
  15: { name: 'complex128', bits: 128 },
  16: { name: 'bfloat16', bits: 16 },
  17: { name: 'float8e4m3fn', bits: 8 },
  18: { name: 'float8e4m3fnuz', bits: 8 },
  19: { name: 'float8e5m2', bits: 8 },
  20: { name: 'float8e5m2fnuz', bits: 8 },
  21: { name: 'uint4', bits: 4 },
  22: { name: 'int4', bits: 4 },
  23: { name: 'float4e2m1', bits: 4 },
};

/** Name of an ONNX element type number (`float32`, `int64`, …; `type<N>` when unknown, `undefined` for 0). */
export function elementTypeName(type: number | null | undefined): string {
  if (!type) return 'undefined';
  return ELEMENT_TYPES[type]?.name ?? `type${type}`;
}

/** Bits per element of an ONNX element type (0 when variable-size or unknown). */
export function elementBits(type: number | null | undefined): number {
  return type ? (ELEMENT_TYPES[type]?.bits ?? 0) : 0;
}

export type { Dim, TensorSummary } from './public-types.js';

/** Summarise a ValueInfoProto (graph input or output). */
export function describeValue(value: ValueInfoProto): TensorSummary {
  const name = value.name ?? '';
  const t = value.type;
  if (!t?.tensorType) {
    const kind = t?.sequenceType ? 'sequence' : t?.mapType ? 'map' : t?.optionalType ? 'optional' : 'unknown';
    return { name, type: t?.sparseTensorType ? 'sparse_tensor' : kind, shape: null };
  }
  const shape = t.tensorType.shape
    ? (t.tensorType.shape.dim ?? []).map((d): Dim => {
        if (d.dimParam) return d.dimParam;
        // protobufjs' oneof: `value` names the field that is set, so a real 0 is distinguishable from "unset".
        const which = (d as { value?: string }).value;
        if (
          which === 'dimValue' ||
          (d.dimValue !== null && d.dimValue !== undefined && int64(d.dimValue) !== 0)
        )
          return int64(d.dimValue as Int64);
        return null;
      })
    : null;
  return { name, type: elementTypeName(t.tensorType.elemType), shape };
}

/** Number of elements of a tensor with these dims (1 for a scalar). */
export function elementCount(dims: readonly Int64[] | null | undefined): number {
  return (dims ?? []).reduce<number>((n, d) => n * int64(d), 1);
}

/** Key/value pairs of a tensor's `external_data` as a map. */
export function externalDataEntries(tensor: TensorProto): Map<string, string> {
  return new Map((tensor.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
}

/** Whether a tensor stores its data outside the model file (`data_location = EXTERNAL`). */
export function isExternal(tensor: TensorProto): boolean {
  return tensor.dataLocation === 1;
}
