#!/usr/bin/env node
/**
 * Ours against what users would otherwise run (issue 23), side by side in one run, on the same ≥ 1000 files
 * (the shared JPEGs replicated), for the int8 and the float shared MobileNetV2:
 *
 * - `mtailor classify <folder> --json --no-auto-orient`: the whole process (start-up and model load included), with
 *   the image's glibc malloc settings;
 * - the Python sidecar (bench/baselines/python-sidecar.py): Pillow + torchvision transforms + onnxruntime, 2
 *   processes each classifying its half in batches of 8, 1 onnxruntime thread each, timed from after its imports
 *   (a running sidecar's job); run with today's stack (`.venv-today/bin/python`, MTAILOR_PYTHON_TODAY), skipped
 *   with a notice where it is missing;
 * - Transformers.js `pipeline('image-classification')`, 8 paths per call, in this process after a warm-up
 *   (bench/baselines/transformers-js.mjs).
 *
 * The pipelines take turns within each repetition, so a load change on the machine hits all of them. Prints img/s
 * and CPU-ms/img (user + system of every thread and child process), median [min–max] over BENCH_REPEATS (3), the
 * top-1 agreement with PyTorch's reference on the shared images, and ours ÷ Python (target ≥ 1.1).
 * Settings (env): BENCH_REPEATS, BENCH_IMAGES (1040), BENCH_SKIP (comma list of ours,python,tfjs),
 * MTAILOR_SHARED_DIR, MTAILOR_PYTHON_TODAY.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agreement, runTransformersJs } from './baselines/transformers-js.mjs';
import { repoRoot, sharedDir, sharedModel } from './support/bench-env.mjs';
import { replicatedImageFolder } from './support/image-folder.mjs';
import { runMeasured } from './support/measured-process.mjs';
import { mtailorClassifyArgs, mtailorClassifyEnv } from './support/mtailor-classify.mjs';
import { median, spread } from './support/stats.mjs';

const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const imageCount = Number(process.env.BENCH_IMAGES ?? 1040);
const skip = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const pythonToday = process.env.MTAILOR_PYTHON_TODAY ?? path.join(repoRoot, '.venv-today', 'bin', 'python');
const cores = Math.min(os.availableParallelism(), os.cpus().length);
const labelsTsv = path.join(sharedDir, 'data', 'imagenet1k-classes.tsv');
const models = [
  {
    kind: 'int8',
    file: sharedModel('mobilenet_v2_int8_qdq.onnx'),
    reference: 'torch_mobilenet_v2_int8.json',
  },
  { kind: 'float', file: sharedModel('mobilenet_v2_float.onnx'), reference: 'torch_mobilenet_v2_float.json' },
];
const { folder, files, remove } = replicatedImageFolder(imageCount);
const paths = files.map((f) => f.path);
const load = () => os.loadavg()[0].toFixed(2);

const { nativeJpegAvailable } = await import(path.join(repoRoot, 'packages', 'core', 'dist', 'internal.js'));
console.log('# ours vs the Python sidecar vs Transformers.js');
console.log(
  `machine: ${os.cpus()[0]?.model} × ${cores}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.versions.node};` +
    ` uptime: ${readFileSync('/proc/loadavg', 'utf8').trim().split(' ').slice(0, 3).join(' ')} (load averages)`,
);
console.log(
  `images: ${imageCount} (the shared JPEGs replicated); JPEG decode: ${nativeJpegAvailable ? 'libjpeg-turbo (@mtailor/native-jpeg)' : 'sharp (@mtailor/native-jpeg not built)'}`,
);
const python = !skip.has('python') && existsSync(pythonToday) ? pythonToday : undefined;
if (!skip.has('python') && !python)
  console.log(
    `NOTICE: the Python sidecar is not run: ${pythonToday} is missing (scripts/setup.sh creates it)`,
  );

/** Top-1 agreement on the shared images, `a/b` over the replicated files. */
const agreeText = (top1, model) => {
  const a = agreement(paths, top1, path.join(sharedDir, 'reference', model.reference));
  return `${a.agree}/${a.matched}`;
};

function ours(model) {
  const r = runMeasured(process.execPath, mtailorClassifyArgs(folder, model.file), mtailorClassifyEnv());
  if (r.status !== 0) throw new Error(`mtailor classify exited ${r.status}: ${r.stderr}`);
  const byFile = new Map();
  for (const line of r.stdout.trim().split('\n')) {
    const item = JSON.parse(line);
    byFile.set(item.file, item.predictions[0].index);
  }
  return {
    rate: imageCount / r.seconds,
    cpu: (r.cpuSeconds * 1000) / imageCount,
    top1: paths.map((p) => byFile.get(p)),
  };
}

function sidecar(model) {
  const script = path.join(repoRoot, 'bench', 'baselines', 'python-sidecar.py');
  const r = runMeasured(python, [script, '--model', model.file, folder]);
  if (r.status !== 0) throw new Error(`the Python sidecar exited ${r.status}: ${r.stderr}`);
  const out = JSON.parse(r.stdout);
  return {
    rate: out.imagesPerSecond,
    cpu: out.cpuMsPerImage,
    top1: files.map((f) => out.top1[f.name]),
    versions: out.versions,
  };
}

async function transformersJs(model) {
  const r = await runTransformersJs({ modelPath: model.file, images: paths, labelsTsv });
  return { rate: r.imagesPerSecond, cpu: r.info.cpuMsPerImage, top1: r.top1 };
}

const pipelines = [
  { name: 'mtailor classify', key: 'ours', run: ours },
  ...(python ? [{ name: 'Python sidecar', key: 'python', run: sidecar }] : []),
  { name: 'Transformers.js', key: 'tfjs', run: transformersJs },
].filter((p) => !skip.has(p.key));

const results = new Map();
for (const model of models) {
  console.log(`\n## ${model.kind}: ${path.basename(model.file)}`);
  for (let rep = 0; rep < repeats; rep++) {
    for (const p of pipelines) {
      const r = await p.run(model);
      const key = `${p.key}/${model.kind}`;
      const entry = results.get(key) ?? { runs: [], agree: '' };
      entry.runs.push(r);
      entry.agree = agreeText(r.top1, model);
      if (r.versions) entry.versions = r.versions;
      results.set(key, entry);
      console.log(
        `  run ${rep + 1} ${p.name.padEnd(17)} ${r.rate.toFixed(1).padStart(6)} img/s ${r.cpu.toFixed(2).padStart(6)} CPU-ms/img (load ${load()})`,
      );
    }
  }
}
remove();

const cell = (entry, pick, digits) => (entry ? spread(entry.runs.map(pick), digits) : '—');
console.log(`\n## side by side: median [min–max] of ${repeats} runs, ${imageCount} images, ${cores} cores`);
console.log(
  '| pipeline | int8 img/s | int8 CPU-ms/img | float img/s | float CPU-ms/img | top-1 = PyTorch (int8 / float) |',
);
console.log('|---|---|---|---|---|---|');
for (const p of pipelines) {
  const i8 = results.get(`${p.key}/int8`);
  const f32 = results.get(`${p.key}/float`);
  console.log(
    `| ${p.name} | ${cell(i8, (r) => r.rate, 1)} | ${cell(i8, (r) => r.cpu, 2)} | ${cell(f32, (r) => r.rate, 1)} | ${cell(f32, (r) => r.cpu, 2)} | ${i8?.agree ?? '—'} / ${f32?.agree ?? '—'} |`,
  );
}
const py = results.get('python/int8')?.versions;
if (py)
  console.log(
    `Python ${py.python}, Pillow ${py.Pillow}, torchvision ${py.torchvision}, onnxruntime ${py.onnxruntime}`,
  );
for (const model of models) {
  const o = results.get(`ours/${model.kind}`);
  const p = results.get(`python/${model.kind}`);
  if (!o || !p) continue;
  const ratio = median(o.runs.map((r) => r.rate)) / median(p.runs.map((r) => r.rate));
  console.log(
    `target ${model.kind}: mtailor classify ≥ 1.1 × the Python sidecar: ${ratio >= 1.1 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}×)`,
  );
}
console.log(`load average at the end: ${load()}`);
