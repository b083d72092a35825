#!/usr/bin/env node
/**
 * `quantizeModel` on the shared float MobileNetV2: held-out agreement and logit error of each setting (two folds, the
 * split `quantizeModel`'s own cross-validation makes: calibrate on the even-numbered shared images and measure on the
 * odd ones, then the other way round), the shared
 * int8 model on the same images, and onnxruntime speed of float vs int8 (uint8 and int8 activations, the shared
 * model) at 1 and 2 threads, batch 1 and 8, runs interleaved so machine load hits every model alike.
 *
 * Settings (environment): MTAILOR_SHARED_DIR (default ../shared beside the repo), BENCH_ROUNDS (timed runs per
 * model and case, default 60), BENCH_BLOCKS (speed-ratio repeats for the spread, default 3), BENCH_CONFIGS
 * (comma-separated names of the settings below, default all).
 * Usage: pnpm --filter @mtailor/converter-bridge bench   (after pnpm build)
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareModels, quantizeModel } from '@mtailor/converter-bridge';
import { crossValidationFolds } from '@mtailor/converter-bridge/internal';
import { ImagePreprocessor } from '@mtailor/core';
import ort from 'onnxruntime-node';

const here = path.dirname(fileURLToPath(import.meta.url));
const sharedDir = path.resolve(
  process.env.MTAILOR_SHARED_DIR ?? path.join(here, '..', '..', '..', '..', 'shared'),
);
const floatModel = path.join(sharedDir, 'models', 'mobilenet_v2_float.onnx');
const sharedInt8 = path.join(sharedDir, 'models', 'mobilenet_v2_int8_qdq.onnx');
for (const m of [floatModel, sharedInt8])
  if (!existsSync(m)) {
    console.error(`bench: ${m} not found; set MTAILOR_SHARED_DIR`);
    process.exit(2);
  }
const rounds = Number(process.env.BENCH_ROUNDS ?? 60);
const blocks = Number(process.env.BENCH_BLOCKS ?? 3);
const imagesDir = path.join(sharedDir, 'images');
const images = readdirSync(imagesDir)
  .filter((f) => /\.jpe?g$/i.test(f))
  .sort()
  .map((f) => path.join(imagesDir, f));
// Fold 1 holds out the even-numbered images, fold 2 the odd ones.
const [evenHeldOut, oddHeldOut] = crossValidationFolds(images, 2);
const even = evenHeldOut.heldOut;
const odd = oddHeldOut.heldOut;
const dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-quantize-bench-'));

const CONFIGS = {
  default: {},
  '8-bit-weights': { reduceRange: false },
  minmax: { method: 'minmax' },
  entropy: { method: 'entropy' },
  mse: { method: 'mse' },
  'percentile-99.99': { percentile: 99.99 },
  'int8-activations': { activations: 'int8' },
  'symmetric-int8': { activations: 'int8', symmetricActivations: true },
  'per-tensor': { perChannel: false },
  'no-bias-correction': { biasCorrection: false },
};
const chosen = (process.env.BENCH_CONFIGS ?? Object.keys(CONFIGS).join(',')).split(',');

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const pct = (x) => `${(x * 100).toFixed(1)} %`;

const cpus = os.cpus();
console.log(
  `machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}, onnxruntime-node ${ort.env.versions?.common ?? ''}`,
);
console.log(
  `held-out folds: calibrate on ${even.length} even-numbered images → measure on ${odd.length} odd, and back`,
);

// 1. Accuracy of each setting.
console.log(
  '\nsetting              held-out top-1 (odd | even | both)    logit |Δ| mean / rms   quantize time',
);
const models = {};
for (const name of chosen) {
  const options = CONFIGS[name];
  if (!options) throw new Error(`unknown BENCH_CONFIGS entry ${name}`);
  const folds = [];
  const seconds = [];
  for (const [calibration, evalImages, tag] of [
    [even, odd, 'a'],
    [odd, even, 'b'],
  ]) {
    const out = path.join(dir, `${name}-${tag}.onnx`);
    const start = performance.now();
    const report = await quantizeModel({
      model: floatModel,
      calibration,
      eval: evalImages,
      out,
      speed: false,
      ...options,
    });
    seconds.push((performance.now() - start) / 1000);
    folds.push(report.accuracy.eval);
    if (tag === 'a') models[name] = out;
  }
  const agree = folds[0].top1Agree + folds[1].top1Agree;
  const mean = (folds[0].logitError.meanAbs + folds[1].logitError.meanAbs) / 2;
  const rms = Math.sqrt((folds[0].logitError.rms ** 2 + folds[1].logitError.rms ** 2) / 2);
  console.log(
    `${name.padEnd(20)} ${folds[0].top1Agree}/52 | ${folds[1].top1Agree}/52 | ${agree}/104 = ${pct(agree / 104).padEnd(7)}` +
      `   ${mean.toFixed(3)} / ${rms.toFixed(3)}          ${seconds.map((s) => s.toFixed(1)).join(' s, ')} s`,
  );
}
const theirs = [
  await compareModels({ float: floatModel, int8: sharedInt8, images: odd }),
  await compareModels({ float: floatModel, int8: sharedInt8, images: even }),
];
{
  const agree = theirs[0].top1Agree + theirs[1].top1Agree;
  const mean = (theirs[0].logitError.meanAbs + theirs[1].logitError.meanAbs) / 2;
  const rms = Math.sqrt((theirs[0].logitError.rms ** 2 + theirs[1].logitError.rms ** 2) / 2);
  console.log(
    `${'shared int8 model'.padEnd(20)} ${theirs[0].top1Agree}/52 | ${theirs[1].top1Agree}/52 | ${agree}/104 = ${pct(agree / 104).padEnd(7)}   ${mean.toFixed(3)} / ${rms.toFixed(3)}`,
  );
}

// 2. Speed, float vs each int8 model, interleaved.
const preprocessor = new ImagePreprocessor();
const { tensor } = await preprocessor.process(path.join(imagesDir, 'n01440764_tench.JPEG'));
const candidates = Object.entries({
  'default (uint8 act.)': models.default,
  '8-bit weights': models['8-bit-weights'],
  'int8 activations': models['int8-activations'],
  'symmetric int8 act.': models['symmetric-int8'],
  'shared int8 model': sharedInt8,
}).filter(([, file]) => file);
for (const threads of [1, 2]) {
  for (const batch of [1, 8]) {
    const options = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    };
    const sessions = [['float', await ort.InferenceSession.create(readFileSync(floatModel), options)]];
    for (const [name, file] of candidates)
      sessions.push([name, await ort.InferenceSession.create(readFileSync(file), options)]);
    const data = new Float32Array(batch * tensor.length);
    for (let b = 0; b < batch; b++) data.set(tensor, b * tensor.length);
    const feeds = { input: new ort.Tensor('float32', data, [batch, 3, 224, 224]) };
    const samples = sessions.map(() => []);
    const ratios = sessions.map(() => []);
    for (let block = 0; block < blocks; block++) {
      const blockSamples = sessions.map(() => []);
      for (let r = -3; r < rounds; r++) {
        const order = sessions.map((_, i) => i);
        if (r % 2) order.reverse();
        for (const i of order) {
          const t = performance.now();
          await sessions[i][1].run(feeds);
          const ms = (performance.now() - t) / batch;
          if (r >= 0) blockSamples[i].push(ms);
        }
      }
      for (const [i, s] of blockSamples.entries()) {
        s.sort((a, b) => a - b);
        samples[i].push(...s);
        ratios[i].push(quantile(blockSamples[0], 0.5) / quantile(s, 0.5));
      }
    }
    console.log(
      `\nspeed, ${threads} intra-op thread${threads > 1 ? 's' : ''}, batch ${batch} (ms per image; ${blocks} blocks × ${rounds} interleaved runs)`,
    );
    for (const [i, [name]] of sessions.entries()) {
      const s = samples[i].sort((a, b) => a - b);
      const line = `  ${name.padEnd(22)} median ${quantile(s, 0.5).toFixed(2)} (p25–p75 ${quantile(s, 0.25).toFixed(2)}–${quantile(s, 0.75).toFixed(2)}, min ${s[0].toFixed(2)})`;
      const r = ratios[i].sort((a, b) => a - b);
      console.log(
        i === 0
          ? line
          : `${line}   float/int8 ${quantile(r, 0.5).toFixed(2)}× [${r[0].toFixed(2)}–${r.at(-1).toFixed(2)}]`,
      );
    }
    for (const [, s] of sessions) await s.release();
  }
}
rmSync(dir, { recursive: true, force: true });
