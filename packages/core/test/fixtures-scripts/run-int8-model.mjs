// Runs one model on float32 tensors with each int8Kernels mode and prints {mode: {report, logits}} as JSON.
// Started by the int8 tests under `qemu-x86_64 -cpu Haswell` to see an AVX2 CPU without VNNI on any machine.
// Usage: node run-int8-model.mjs <model.onnx> <tensors.f32> <batch> <mode>[,<mode>…]
import { readFileSync } from 'node:fs';
import { ONNXModel } from '@mtailor/core';

const [modelPath, tensorsPath, batch, modes] = process.argv.slice(2);
const bytes = readFileSync(tensorsPath);
const input = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const results = {};
for (const int8Kernels of modes.split(',')) {
  const model = await ONNXModel.load(modelPath, { int8Kernels, intraOpThreads: 1 });
  const logits = await model.run(input, Number(batch));
  results[int8Kernels] = { report: model.int8Kernels, logits: Array.from(logits) };
  model.dispose();
}
process.stdout.write(JSON.stringify(results));
