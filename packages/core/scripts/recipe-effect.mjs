#!/usr/bin/env node
/**
 * What the preprocessing recipe changes: `resize-224` (the seed's `Resize((224, 224))`, the default) against
 * `imagenet-eval` (`Resize(256)` + `CenterCrop(224)`, torchvision's reference evaluation) on the shared ImageNet
 * images, with both shared MobileNetV2 models. The true class of each image is its WordNet id (file name prefix).
 * Prints a Markdown table for the core README's "Which recipe" section, plus tench and mud turtle.
 *
 * Usage: node packages/core/scripts/recipe-effect.mjs (after `pnpm build`; MTAILOR_SHARED_DIR as for the tests)
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImageClassifier } from '@mtailor/core';
import { IMAGENET1K_WNIDS } from '@mtailor/core/internal';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sharedDir = path.resolve(process.env.MTAILOR_SHARED_DIR ?? path.join(repoRoot, '..', 'shared'));
const imagesDir = path.join(sharedDir, 'images');
const files = readdirSync(imagesDir)
  .filter((f) => /\.jpe?g$/i.test(f))
  .sort();
const truth = new Map(files.map((f) => [f, IMAGENET1K_WNIDS.indexOf(f.split('_')[0])]));
if ([...truth.values()].some((i) => i < 0)) throw new Error('an image name does not start with a known wnid');

const models = [
  ['int8 MobileNetV2', 'mobilenet_v2_int8_qdq.onnx'],
  ['float MobileNetV2', 'mobilenet_v2_float.onnx'],
];
const recipes = ['resize-224', 'imagenet-eval'];
const rows = [];
const singles = [];
for (const [modelName, modelFile] of models) {
  const byRecipe = {};
  for (const recipe of recipes) {
    const classifier = await ImageClassifier.create({
      model: path.join(sharedDir, 'models', modelFile),
      recipe,
      workers: 0,
    });
    const results = new Map();
    for await (const item of classifier.classifyStream(
      files.map((f) => path.join(imagesDir, f)),
      { topK: 5 },
    )) {
      if (!item.ok) throw item.error;
      results.set(path.basename(item.input), item.predictions);
    }
    await classifier.close();
    byRecipe[recipe] = results;
    let top1 = 0;
    let top5 = 0;
    for (const [file, preds] of results) {
      if (preds[0].index === truth.get(file)) top1++;
      if (preds.some((p) => p.index === truth.get(file))) top5++;
    }
    rows.push({ modelName, recipe, top1, top5 });
    for (const name of ['n01440764_tench.JPEG', 'n01667114_mud_turtle.JPEG']) {
      const p = results.get(name)[0];
      singles.push({ modelName, recipe, name, top: `${p.label} ${p.probability.toFixed(4)}` });
    }
  }
  const [a, b] = recipes.map((r) => byRecipe[r]);
  let changed = 0;
  let fixed = 0;
  let broken = 0;
  for (const file of files) {
    const ia = a.get(file)[0].index;
    const ib = b.get(file)[0].index;
    if (ia === ib) continue;
    changed++;
    if (ib === truth.get(file)) fixed++;
    if (ia === truth.get(file)) broken++;
  }
  rows.push({ modelName, changed, fixed, broken });
}

console.log(`${files.length} shared images, exact engine, autoOrient on (the defaults)\n`);
console.log('| model | recipe | top-1 correct | top-5 correct |');
console.log('| --- | --- | --- | --- |');
for (const r of rows.filter((r) => r.recipe))
  console.log(
    `| ${r.modelName} | \`${r.recipe}\` | ${r.top1} / ${files.length} | ${r.top5} / ${files.length} |`,
  );
console.log('');
for (const r of rows.filter((r) => r.changed !== undefined))
  console.log(
    `${r.modelName}: top-1 differs on ${r.changed} images; imagenet-eval right where resize-224 was wrong: ${r.fixed}, the reverse: ${r.broken}`,
  );
console.log('');
for (const s of singles) console.log(`${s.modelName} ${s.recipe} ${s.name}: ${s.top}`);
