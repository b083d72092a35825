/**
 * What an ONNX model takes and returns, read from onnxruntime's session metadata, and the check that it is an
 * image classifier we can drive: one float32 rank-4 image input with 3 channels (NCHW or NHWC), one [N, C] output.
 * @module
 */
import type { InferenceSession } from 'onnxruntime-node';
import { ModelShapeError } from '../errors.js';

/** One dimension: a fixed size, or the name of a symbolic dimension (e.g. `'batch'`). */
export type Dim = number | string;

/** Name, element type and shape of one model input or output. */
export interface TensorInfo {
  /** Name in the graph. */
  name: string;
  /** Element type (`'float32'`, `'int64'`, …), or `'non-tensor'` for sequences and maps. */
  type: string;
  /** Shape with symbolic dimensions as their names; empty when the model does not declare one. */
  shape: Dim[];
}

/** Memory layout of the image input. */
export type InputLayout = 'NCHW' | 'NHWC';

/** The image-classifier view of a model, derived from its {@link TensorInfo}s. */
export interface ClassifierSignature {
  /** The one image input. */
  input: TensorInfo;
  /** The one `[N, C]` output. */
  output: TensorInfo;
  /** `'NCHW'` when the channel dim (3) is second, `'NHWC'` when it is last. */
  inputLayout: InputLayout;
  /** Spatial size the model expects. */
  inputSize: { width: number; height: number };
  /** A fixed batch size, or `'dynamic'` when the batch dim is symbolic. */
  batchDim: number | 'dynamic';
  /** Number of classes, or `undefined` when the class dim is symbolic (resolved by a probe run). */
  numClasses: number | undefined;
}

/** Reads names, types and shapes from onnxruntime's metadata. */
export function describeTensors(metadata: readonly InferenceSession.ValueMetadata[]): TensorInfo[] {
  return metadata.map((m) =>
    m.isTensor
      ? { name: m.name, type: m.type, shape: [...m.shape] }
      : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

/**
 * A shape as text, symbolic dims by name.
 *
 * @example
 * ```ts
 * formatShape(['batch', 3, 224, 224]); // '[batch, 3, 224, 224]'
 * ```
 */
export function formatShape(shape: readonly Dim[]): string {
  return `[${shape.join(', ')}]`;
}

const EXPECTED_INPUT = 'expected [N, 3, H, W] (NCHW) or [N, H, W, 3] (NHWC)';

/**
 * Checks that the model is an image classifier and derives its {@link ClassifierSignature}.
 *
 * @param source - how to name the model in messages (its path, or `'<bytes>'`).
 * @throws {@link ModelShapeError} saying exactly which input or output is wrong and what was expected.
 */
export function classifierSignature(
  source: string,
  inputs: TensorInfo[],
  outputs: TensorInfo[],
): ClassifierSignature {
  const fail = (message: string): never => {
    throw new ModelShapeError(`${source}: ${message}`);
  };
  if (inputs.length !== 1)
    fail(
      `model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); an image classifier takes exactly one image input`,
    );
  const input = inputs[0]!;
  if (input.type !== 'float32') fail(`input "${input.name}" is ${input.type}; expected float32`);
  const s = input.shape;
  if (s.length !== 4)
    fail(`input "${input.name}" has shape ${formatShape(s)} (rank ${s.length}); ${EXPECTED_INPUT}`);
  let inputLayout: InputLayout;
  let h: Dim;
  let w: Dim;
  if (s[1] === 3) {
    inputLayout = 'NCHW';
    h = s[2]!;
    w = s[3]!;
  } else if (s[3] === 3) {
    inputLayout = 'NHWC';
    h = s[1]!;
    w = s[2]!;
  } else {
    return fail(
      `input "${input.name}" has shape ${formatShape(s)}, which has no 3-channel dim; ${EXPECTED_INPUT}`,
    );
  }
  if (typeof h !== 'number' || typeof w !== 'number' || h < 1 || w < 1)
    fail(
      `input "${input.name}" has shape ${formatShape(s)}; its height and width must be fixed sizes (export the model with a fixed image size)`,
    );
  const batch = s[0]!;
  if (outputs.length !== 1)
    fail(
      `model has ${outputs.length} outputs (${outputs.map((o) => o.name).join(', ')}); an image classifier has exactly one [N, C] output`,
    );
  const output = outputs[0]!;
  if (output.type !== 'float32') fail(`output "${output.name}" is ${output.type}; expected float32`);
  const o = output.shape;
  if (o.length !== 2)
    fail(`output "${output.name}" has shape ${formatShape(o)} (rank ${o.length}); expected [N, C]`);
  if (typeof o[0] === 'number' && typeof batch === 'number' && o[0] !== batch)
    fail(
      `output "${output.name}" has shape ${formatShape(o)} but input batch dim is ${batch}; expected [${batch}, C]`,
    );
  if (typeof o[1] === 'number' && o[1] < 1)
    fail(`output "${output.name}" has shape ${formatShape(o)}; expected C ≥ 1`);
  if (typeof batch === 'number' && batch < 1)
    fail(`input "${input.name}" has batch dim ${batch}; expected ≥ 1`);
  return {
    input,
    output,
    inputLayout,
    inputSize: { width: w as number, height: h as number },
    batchDim: typeof batch === 'number' ? batch : 'dynamic',
    numClasses: typeof o[1] === 'number' ? o[1] : undefined,
  };
}
