/**
 * Graph interface checks: exactly one float32 NCHW image input and one float32 [batch, classes] output.
 * @module
 */
import type { Findings } from './findings.js';
import { type Dim, describeValue, type GraphProto, type TensorSummary } from './onnx-proto.js';

/** What the caller expects of the model's interface (all optional). */
export interface InterfaceExpectations {
  /** Expected input shape [batch, channels, height, width]; `null` entries are not checked. */
  inputShape?: readonly (number | null)[];
  /** Expected number of classes (dimension 1 of the output). */
  numClasses?: number;
}

const show = (shape: Dim[] | null): string =>
  shape === null ? 'no shape' : `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;

/** Check graph inputs/outputs; return their summaries (inputs exclude initializers). */
export function checkInterface(
  graph: GraphProto,
  findings: Findings,
  expect: InterfaceExpectations,
): { inputs: TensorSummary[]; outputs: TensorSummary[] } {
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const inputs = (graph.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map(describeValue);
  const outputs = (graph.output ?? []).map(describeValue);

  if (inputs.length !== 1)
    findings.add(
      'INPUT_COUNT',
      `Expected exactly one image input (graph inputs minus initializers), found ${inputs.length}` +
        (inputs.length ? `: ${inputs.map((i) => `'${i.name}' ${show(i.shape)}`).join(', ')}` : ''),
    );
  else checkImageInput(inputs[0]!, findings, expect);

  if (outputs.length !== 1)
    findings.add(
      'OUTPUT_COUNT',
      `Expected exactly one output (logits), found ${outputs.length}` +
        (outputs.length ? `: ${outputs.map((o) => `'${o.name}' ${show(o.shape)}`).join(', ')}` : ''),
    );
  else checkLogitsOutput(outputs[0]!, findings, expect, inputs.length === 1 ? inputs[0]! : undefined);
  return { inputs, outputs };
}

function checkImageInput(input: TensorSummary, findings: Findings, expect: InterfaceExpectations): void {
  const name = `Input '${input.name}'`;
  if (input.type !== 'float32') findings.add('INPUT_TYPE', `${name} is ${input.type}, expected float32`);
  const shape = input.shape;
  if (shape === null || shape.length !== 4) {
    findings.add(
      'INPUT_RANK',
      `${name} has ${show(shape)}, expected rank 4 [batch, 3, height, width] (NCHW)`,
    );
    return;
  }
  const [batch, channels, height, width] = shape;
  const want = expect.inputShape ?? [];
  const wantChannels = want[1] ?? 3;
  if (typeof channels === 'number' && channels !== wantChannels)
    findings.add(
      'INPUT_CHANNELS',
      `${name} has ${channels} channels ${show(shape)}, expected ${wantChannels} (RGB, NCHW)`,
    );
  const sizeMismatch = ([2, 3] as const).filter((i) => {
    const w = want[i];
    return typeof w === 'number' && typeof shape[i] === 'number' && shape[i] !== w;
  });
  if (sizeMismatch.length)
    findings.add(
      'INPUT_SIZE',
      `${name} is ${height}x${width} ${show(shape)}, expected ${want[2] ?? '?'}x${want[3] ?? '?'}`,
    );
  const wantBatch = want[0];
  if (typeof batch === 'number' && typeof wantBatch === 'number' && batch !== wantBatch)
    findings.add(
      'INPUT_BATCH',
      `${name} has a fixed batch of ${batch} ${show(shape)}, expected ${wantBatch}`,
    );
  if (typeof batch === 'number')
    findings.add(
      'BATCH_FIXED',
      `${name} has a fixed batch size ${batch}: the model can only run batches of exactly ${batch} ` +
        '(export with a dynamic batch axis, e.g. dynamic_axes={"input": {0: "batch"}, ...})',
    );
}

function checkLogitsOutput(
  output: TensorSummary,
  findings: Findings,
  expect: InterfaceExpectations,
  input: TensorSummary | undefined,
): void {
  const name = `Output '${output.name}'`;
  if (output.type !== 'float32') findings.add('OUTPUT_TYPE', `${name} is ${output.type}, expected float32`);
  const shape = output.shape;
  if (shape === null || shape.length !== 2) {
    findings.add('OUTPUT_SHAPE', `${name} has ${show(shape)}, expected rank 2 [batch, classes]`);
    return;
  }
  const [batch, classes] = shape;
  if (expect.numClasses !== undefined) {
    if (typeof classes === 'number' && classes !== expect.numClasses)
      findings.add(
        'OUTPUT_CLASSES',
        `${name} has ${classes} classes ${show(shape)}, expected ${expect.numClasses}`,
      );
    else if (typeof classes !== 'number')
      findings.add(
        'OUTPUT_CLASSES_SYMBOLIC',
        `${name} has a symbolic class dimension ${show(shape)}; cannot verify ${expect.numClasses} classes`,
      );
  }
  const inputBatch = input?.shape?.[0];
  if (typeof batch === 'number' && inputBatch !== undefined && typeof inputBatch !== 'number')
    findings.add('BATCH_FIXED', `${name} has a fixed batch size ${batch} while the input batch is dynamic`);
}
