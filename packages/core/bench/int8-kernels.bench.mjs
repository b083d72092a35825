#!/usr/bin/env node
/**
 * What `int8Kernels: 'exact'` costs where it matters: onnxruntime's U8S8 kernels (the model as given; exact on CPUs
 * with VNNI, saturating on x86 CPUs without) against the U8U8 kernels the exact path runs on CPUs without VNNI (the
 * int8 weights stored as uint8), on one image replicated to batch 1 and 8, one intra-op thread, runs interleaved so
 * machine load hits both alike, and the float model of the same network beside them (what int8 gains over float
 * on each path). Also the load-time cost of the decision (probe + scan + rewrite).
 *
 * Settings (environment): MTAILOR_SHARED_DIR (default ../shared beside the repo), BENCH_MODEL (default the shared
 * int8 MobileNetV2), BENCH_FLOAT_MODEL (default the shared float MobileNetV2; `none` leaves it out), BENCH_ROUNDS
 * (timed runs per model and case, default 60), BENCH_BLOCKS (default 3).
 * On an AVX2 CPU without VNNI on any x86 machine: scripts/run-on-cpu.sh -- node packages/core/bench/int8-kernels.bench.mjs
 * Usage: node packages/core/bench/int8-kernels.bench.mjs   (after pnpm build)
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImagePreprocessor, ONNXModel } from '@mtailor/core';
import {
  analyzeInt8Weights,
  detectCpuInt8Flags,
  readOnnxGraph,
  rewriteInt8AsUint8,
  u8s8KernelsAreExact,
} from '@mtailor/core/internal';

const here = path.dirname(fileURLToPath(import.meta.url));
const sharedDir = path.resolve(
  process.env.MTAILOR_SHARED_DIR ?? path.join(here, '..', '..', '..', '..', 'shared'),
);
const modelPath = process.env.BENCH_MODEL ?? path.join(sharedDir, 'models', 'mobilenet_v2_int8_qdq.onnx');
const floatPath = process.env.BENCH_FLOAT_MODEL ?? path.join(sharedDir, 'models', 'mobilenet_v2_float.onnx');
const rounds = Number(process.env.BENCH_ROUNDS ?? 60);
const blocks = Number(process.env.BENCH_BLOCKS ?? 3);
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

const bytes = readFileSync(modelPath);
let t = performance.now();
const exact = await u8s8KernelsAreExact();
const probeMs = performance.now() - t;
t = performance.now();
const graph = readOnnxGraph(bytes);
const analysis = analyzeInt8Weights(bytes, graph);
const scanMs = performance.now() - t;
t = performance.now();
// What the exact path loads on an x86 CPU without VNNI: the groups holding a weight beyond ±64 that is not only a
// depthwise convolution's (onnxruntime's depthwise kernels are exact there).
const chosen = analysis.groups
  .filter((g) =>
    g.some((n) => analysis.weightInfo.get(n)?.maxAbs > 64 && !analysis.weightInfo.get(n)?.depthwise),
  )
  .flat();
const uint8 = rewriteInt8AsUint8(bytes, graph, chosen);
const rewriteMs = performance.now() - t;
console.log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, int8 flags [${detectCpuInt8Flags().join(' ')}], U8S8 probe: ${exact ? 'exact' : 'saturates'}; load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  `${path.basename(modelPath)}: ${analysis.weights} int8 weights (largest |w| ${analysis.maxAbs}), ${chosen.filter((n) => analysis.weightInfo.has(n)).length} stored as uint8 by the exact path on a CPU without VNNI; probe ${probeMs.toFixed(1)} ms, scan ${scanMs.toFixed(1)} ms, rewrite ${rewriteMs.toFixed(1)} ms`,
);

const { tensor } = await new ImagePreprocessor().process(
  path.join(sharedDir, 'images', 'n01440764_tench.JPEG'),
);
const models = [
  ['U8S8 (native, as given)', await ONNXModel.load(bytes, { int8Kernels: 'native', intraOpThreads: 1 })],
  ['U8U8 (uint8 weights)', await ONNXModel.load(uint8, { int8Kernels: 'native', intraOpThreads: 1 })],
];
if (floatPath !== 'none')
  models.push([
    `float (${path.basename(floatPath)})`,
    await ONNXModel.load(floatPath, { intraOpThreads: 1 }),
  ]);
const here8 = await ONNXModel.load(bytes, { intraOpThreads: 1 });
console.log(
  `int8Kernels 'exact' (the default) runs here: ${here8.int8Kernels.kernels} (${here8.int8Kernels.reason})`,
);
here8.dispose();
for (const batch of [1, 8]) {
  const data = new Float32Array(batch * tensor.length);
  for (let b = 0; b < batch; b++) data.set(tensor, b * tensor.length);
  const samples = models.map(() => []);
  const ratios = [];
  const floatRatios = models.map(() => []);
  for (let block = 0; block < blocks; block++) {
    const blockSamples = models.map(() => []);
    for (let r = -3; r < rounds; r++) {
      const order = models.map((_, i) => i);
      if (r % 2) order.reverse();
      for (const i of order) {
        const start = performance.now();
        await models[i][1].run(data, batch);
        if (r >= 0) blockSamples[i].push((performance.now() - start) / batch);
      }
    }
    for (const [i, s] of blockSamples.entries()) {
      s.sort((a, b) => a - b);
      samples[i].push(...s);
    }
    ratios.push(quantile(blockSamples[1], 0.5) / quantile(blockSamples[0], 0.5));
    if (models[2])
      for (const i of [0, 1])
        floatRatios[i].push(quantile(blockSamples[2], 0.5) / quantile(blockSamples[i], 0.5));
  }
  console.log(
    `batch ${batch}, 1 intra-op thread (ms per image; ${blocks} blocks × ${rounds} interleaved runs)`,
  );
  for (const [i, [name]] of models.entries()) {
    const s = samples[i].sort((a, b) => a - b);
    const r = floatRatios[i].sort((a, b) => a - b);
    console.log(
      `  ${name.padEnd(24)} median ${quantile(s, 0.5).toFixed(2)} (p25–p75 ${quantile(s, 0.25).toFixed(2)}–${quantile(s, 0.75).toFixed(2)})` +
        (r.length
          ? `   float/this ${quantile(r, 0.5).toFixed(2)}× [${r[0].toFixed(2)}–${r.at(-1).toFixed(2)}]`
          : ''),
    );
  }
  ratios.sort((a, b) => a - b);
  console.log(
    `  U8U8 / U8S8: ${quantile(ratios, 0.5).toFixed(2)}× [${ratios[0].toFixed(2)}–${ratios.at(-1).toFixed(2)}]`,
  );
}
for (const [, m] of models) m.dispose();
