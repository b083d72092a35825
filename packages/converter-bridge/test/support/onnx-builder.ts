/**
 * Builds small real ONNX models with onnx-proto, for the validator tests: a valid baseline image classifier
 * (GlobalAveragePool → Flatten → Gemm, [batch,3,8,8] → [batch,10]) and helpers to break it one way at a time.
 */
import type { onnx } from 'onnx-proto';
import onnxProto from 'onnx-proto';
import protobuf from 'protobufjs/minimal.js';

export type Model = onnx.IModelProto;
const FLOAT = 1;

/** A tensor type with a shape; strings are symbolic dims. */
export function valueInfo(
  name: string,
  dims: (number | string)[] | null,
  elemType = FLOAT,
): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        ...(dims === null
          ? {}
          : { shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } }),
      },
    },
  };
}

/** Deterministic weights so the baseline model computes something checkable. */
function weights(count: number, scale: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.sin(i + 1) * scale);
}

/** float32 little-endian bytes of values. */
export function float32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/**
 * The classifier head of every test model: Flatten(axis 1) of `input`, then Gemm with `fc.weight` (transposed) and
 * `fc.bias` into the graph output `logits`.
 */
export function classifierHead(input: string): onnx.INodeProto[] {
  return [
    {
      opType: 'Flatten',
      name: 'flatten',
      input: [input],
      output: ['flat'],
      attribute: [{ name: 'axis', type: 2, i: 1 }],
    },
    {
      opType: 'Gemm',
      name: 'fc',
      input: ['flat', 'fc.weight', 'fc.bias'],
      output: ['logits'],
      attribute: [{ name: 'transB', type: 2, i: 1 }],
    },
  ];
}

/** The valid baseline: input 'input' float32 [batch,3,8,8] → logits float32 [batch,10]; opset 13, IR 7. */
export function baselineModel(): Model {
  return {
    irVersion: 7,
    producerName: 'mtailor-test',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny-classifier',
      input: [valueInfo('input', ['batch', 3, 8, 8])],
      output: [valueInfo('logits', ['batch', 10])],
      initializer: [
        // One stored as raw bytes, one as float_data: both encodings occur in real files.
        { name: 'fc.weight', dataType: FLOAT, dims: [10, 3], rawData: float32Bytes(weights(30, 0.5)) },
        { name: 'fc.bias', dataType: FLOAT, dims: [10], floatData: weights(10, 0.1) },
      ],
      node: [
        { opType: 'GlobalAveragePool', name: 'pool', input: ['input'], output: ['pooled'] },
        ...classifierHead('pooled'),
      ],
    },
  };
}

/** Encode a model to ONNX bytes. */
export function encode(model: Model): Uint8Array {
  return onnxProto.onnx.ModelProto.encode(model).finish();
}

/** The baseline with `change` applied to a deep copy. */
export function variant(change: (m: Model & { graph: onnx.IGraphProto }) => void): Uint8Array {
  const m = structuredClone(baselineModel()) as Model & { graph: onnx.IGraphProto };
  change(m);
  return encode(m);
}

/**
 * Append fields the schema does not know to encoded bytes: a varint field and a length-delimited field, as a
 * newer ONNX (or another tool) would write. Field numbers far above ONNX's so they stay unknown.
 */
export function withUnknownFields(bytes: Uint8Array, fieldNumbers: [number, number] = [99, 100]): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32((fieldNumbers[0] << 3) | 0).uint64(123456789);
  w.uint32((fieldNumbers[1] << 3) | 2).bytes(new TextEncoder().encode('a field from the future'));
  const extra = w.finish();
  const out = new Uint8Array(bytes.length + extra.length);
  out.set(bytes);
  out.set(extra, bytes.length);
  return out;
}

/**
 * A model whose graph carries an unknown field (GraphProto.metadata_props = 16, added in ONNX 1.16 and absent from
 * onnx-proto's 1.10 schema), encoded by hand: ir_version (1), producer (2, 3), graph (7, with the extra field), opset_import (8).
 */
export function withNewerGraphField(model: Model): Uint8Array {
  const graph = onnxProto.onnx.GraphProto.encode(model.graph!).finish();
  const entry = onnxProto.onnx.StringStringEntryProto.encode({
    key: 'exported_by',
    value: 'future-onnx',
  }).finish();
  const tail = protobuf.Writer.create()
    .uint32((16 << 3) | 2)
    .bytes(entry)
    .finish();
  const graphWithField = new Uint8Array(graph.length + tail.length);
  graphWithField.set(graph);
  graphWithField.set(tail, graph.length);
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 0).int64(Number(model.irVersion));
  w.uint32((2 << 3) | 2).string(model.producerName ?? '');
  w.uint32((3 << 3) | 2).string(model.producerVersion ?? '');
  w.uint32((7 << 3) | 2).bytes(graphWithField);
  for (const o of model.opsetImport ?? [])
    w.uint32((8 << 3) | 2).bytes(onnxProto.onnx.OperatorSetIdProto.encode(o).finish());
  return w.finish();
}

/** Deterministic pseudo-random bytes (mulberry32), so the "random bytes" test is reproducible. */
export function seededBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let a = seed >>> 0;
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}
