#!/usr/bin/env node
/**
 * What the `fast` engine (libvips resize) changes compared with `exact` (Pillow-identical), on the shared images:
 * pixel differences of the resized 224×224 images (uint8 levels), and what the float MobileNetV2 then predicts —
 * top-1 agreement with PyTorch's reference and the largest top-1 probability change.
 *
 *   node packages/core/bench/fast-vs-exact.mjs [--recipe resize-224|imagenet-eval]
 *
 * Uses onnxruntime-node directly (no classifier code) so it measures preprocessing only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImagePreprocessor } from '@mtailor/core';
import { IMAGENET_MEAN, IMAGENET_STD } from '@mtailor/preprocess';
import * as ort from 'onnxruntime-node';

const here = path.dirname(fileURLToPath(import.meta.url));
const sharedDir = process.env.MTAILOR_SHARED_DIR ?? path.resolve(here, '..', '..', '..', '..', 'shared');
const i = process.argv.indexOf('--recipe');
const recipe = i >= 0 ? process.argv[i + 1] : 'resize-224';
const PIXELS = 224 * 224;

function toUint8(tensor) {
  const out = new Uint8Array(tensor.length);
  for (let c = 0; c < 3; c++) {
    for (let p = c * PIXELS; p < (c + 1) * PIXELS; p++) {
      out[p] = Math.round((tensor[p] * IMAGENET_STD[c] + IMAGENET_MEAN[c]) * 255);
    }
  }
  return out;
}

function softmaxTop1(logits) {
  let best = 0;
  for (let k = 1; k < logits.length; k++) if (logits[k] > logits[best]) best = k;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - logits[best]);
  return { index: best, probability: 1 / sum };
}

const reference = JSON.parse(
  readFileSync(path.join(sharedDir, 'reference', 'torch_mobilenet_v2_float.json'), 'utf8'),
);
const session = await ort.InferenceSession.create(path.join(sharedDir, 'models', 'mobilenet_v2_float.onnx'), {
  intraOpNumThreads: 1,
});
const engines = {
  exact: new ImagePreprocessor({ recipe, autoOrient: false }),
  fast: new ImagePreprocessor({ recipe, autoOrient: false, resize: 'fast' }),
};
const files = readdirSync(path.join(sharedDir, 'images'))
  .filter((f) => /\.jpe?g$/i.test(f))
  .sort();
const agree = { exact: 0, fast: 0 };
let sameTop1 = 0;
let maxProbDelta = 0;
let max = 0;
let sum = 0;
let count = 0;
for (const file of files) {
  const top1 = {};
  const pixels = {};
  for (const [name, engine] of Object.entries(engines)) {
    const { tensor } = await engine.process(path.join(sharedDir, 'images', file));
    pixels[name] = toUint8(tensor);
    const out = await session.run({ input: new ort.Tensor('float32', tensor, [1, 3, 224, 224]) });
    top1[name] = softmaxTop1(out[session.outputNames[0]].data);
    if (recipe === 'resize-224' && top1[name].index === reference.images[file].top5[0]) agree[name]++;
  }
  if (top1.exact.index === top1.fast.index) {
    sameTop1++;
    maxProbDelta = Math.max(maxProbDelta, Math.abs(top1.exact.probability - top1.fast.probability));
  }
  for (let k = 0; k < pixels.exact.length; k++) {
    const d = Math.abs(pixels.exact[k] - pixels.fast[k]);
    sum += d;
    if (d > max) max = d;
  }
  count += pixels.exact.length;
}
console.log(
  `# fast vs exact, recipe ${recipe}, ${files.length} shared images, float MobileNetV2 (onnxruntime-node)`,
);
console.log(`pixels after resize: max |Δ| = ${max}, mean |Δ| = ${(sum / count).toFixed(3)} uint8 levels`);
console.log(
  `same top-1 (fast vs exact): ${sameTop1}/${files.length}; max top-1 probability change: ${maxProbDelta.toFixed(4)}`,
);
if (recipe === 'resize-224') {
  console.log(
    `top-1 = PyTorch reference: exact ${agree.exact}/${files.length}, fast ${agree.fast}/${files.length}`,
  );
}
