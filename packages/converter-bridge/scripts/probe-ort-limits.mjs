#!/usr/bin/env node
/**
 * Measures which IR versions and ai.onnx opsets the bundled onnxruntime-node loads, with a one-node Relu model
 * built by onnx-proto (no Python). Re-run after upgrading onnxruntime-node and update ORT_MAX_IR_VERSION /
 * ORT_MAX_OPSET in src/validate/check-header.ts and python/export_onnx.py:
 *
 *     node packages/converter-bridge/scripts/probe-ort-limits.mjs
 */
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';

const { onnx } = onnxProto;
ort.env.logLevel = 'error';

function reluModel(irVersion, opset) {
  const info = (name) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }] } } },
  });
  return onnx.ModelProto.encode({
    irVersion,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'g',
      input: [info('x')],
      output: [info('y')],
      node: [{ opType: 'Relu', input: ['x'], output: ['y'] }],
    },
  }).finish();
}

async function loads(bytes) {
  try {
    const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([-1, 0, 2]), [1, 3]) });
    await session.release();
    return Array.from(out.y.data).join(',') === '0,0,2' ? 'ok' : 'wrong result';
  } catch (err) {
    const message = String(err.message).split('\n')[0];
    return `refused: ${message.replace(/^.*?(Could not find|Unsupported|ONNX Runtime only)/, '$1').slice(0, 110)}`;
  }
}

const irResults = [];
for (let ir = 3; ir <= 15; ir++) irResults.push([ir, await loads(reluModel(ir, 13))]);
const opsetResults = [];
for (let opset = 1; opset <= 28; opset++) opsetResults.push([opset, await loads(reluModel(10, opset))]);

console.log(`onnxruntime-node ${ort.env.versions?.common ?? ''}`);
console.log('IR version (opset 13):');
for (const [ir, r] of irResults) console.log(`  ${String(ir).padStart(2)}  ${r}`);
console.log('ai.onnx opset (IR 10):');
for (const [opset, r] of opsetResults) console.log(`  ${String(opset).padStart(2)}  ${r}`);
const maxIr = Math.max(...irResults.filter(([, r]) => r === 'ok').map(([ir]) => ir));
const okOpsets = opsetResults.filter(([, r]) => r === 'ok').map(([o]) => o);
console.log(`max IR ${maxIr}; opsets that load and run: ${Math.min(...okOpsets)}..${Math.max(...okOpsets)}`);
