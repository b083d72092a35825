#!/usr/bin/env node
/**
 * How long `validateModel` takes on the shared models (file read + protobuf decode + every check), and the decode
 * alone. The validator runs before every deploy and in CI, so it should stay well under a second for a 14 MB model.
 *
 * Settings (environment): MTAILOR_SHARED_DIR (default ../shared beside the repo), BENCH_REPEATS (default 15).
 * Usage: pnpm --filter @mtailor/converter-bridge bench   (after pnpm build)
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateModel, validateModelBytes } from '@mtailor/converter-bridge';
import onnxProto from 'onnx-proto';

const here = path.dirname(fileURLToPath(import.meta.url));
const sharedDir = path.resolve(
  process.env.MTAILOR_SHARED_DIR ?? path.join(here, '..', '..', '..', '..', 'shared'),
);
const repeats = Number(process.env.BENCH_REPEATS ?? 15);
const models = ['mobilenet_v2_float.onnx', 'mobilenet_v2_int8_qdq.onnx'].map((f) =>
  path.join(sharedDir, 'models', f),
);
for (const m of models)
  if (!existsSync(m)) {
    console.error(`bench: ${m} not found; set MTAILOR_SHARED_DIR`);
    process.exit(2);
  }

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
async function time(fn) {
  await fn(); // warm-up
  const ms = [];
  for (let i = 0; i < repeats; i++) {
    const t = process.hrtime.bigint();
    await fn();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return `median ${quantile(ms, 0.5).toFixed(1)} ms (p25–p75 ${quantile(ms, 0.25).toFixed(1)}–${quantile(ms, 0.75).toFixed(1)}, min–max ${ms[0].toFixed(1)}–${ms.at(-1).toFixed(1)})`;
}

const cpus = os.cpus();
console.log(
  `machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}`,
);
console.log(`repeats: ${repeats}`);
for (const file of models) {
  const bytes = readFileSync(file);
  console.log(`\n${path.basename(file)} (${(bytes.length / 1e6).toFixed(1)} MB)`);
  console.log(
    `  decode only (onnx-proto)        ${await time(() => onnxProto.onnx.ModelProto.decode(bytes))}`,
  );
  console.log(
    `  validateModelBytes (all checks) ${await time(() => validateModelBytes(bytes, { numClasses: 1000 }))}`,
  );
  console.log(
    `  validateModel(path) incl. read  ${await time(() => validateModel(file, { numClasses: 1000 }))}`,
  );
}
