#!/usr/bin/env node
/**
 * Ours against what users would otherwise run (issue 23), side by side in one run, on the same ≥ 1000 files
 * (the shared JPEGs replicated), for the int8 and the float shared MobileNetV2:
 *
 * - `mtailor classify <folder> --json --no-auto-orient`, with the image's glibc malloc settings: img/s as it reports
 *   its loop (after the model loaded, as issue 23 measured it), and the whole process (start-up and model load);
 * - the Python sidecar (bench/baselines/python-sidecar.py): Pillow + torchvision transforms + onnxruntime, 2
 *   processes each classifying its half in batches of 8, 1 onnxruntime thread each: img/s from after its imports
 *   (a running sidecar's job), and the whole process (interpreter and imports); run with today's stack (`.venv-today/bin/python`, MTAILOR_PYTHON_TODAY), skipped
 *   with a notice where it is missing;
 * - Transformers.js `pipeline('image-classification')`, 8 paths per call, in this process after a warm-up
 *   (bench/baselines/transformers-js.mjs).
 *
 * The pipelines take turns within each repetition, so a load change on the machine hits all of them. Prints img/s
 * and CPU-ms/img (user + system of the whole process and its children), median [min–max] over BENCH_REPEATS (3), the
 * top-1 agreement with PyTorch's reference on the shared images, and ours ÷ Python (target ≥ 1.1, on the first
 * img/s; the whole-process ratio beside it).
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
  const loop = / classified in ([\d.]+) s/.exec(r.stderr);
  if (!loop) throw new Error(`mtailor classify did not report its loop: ${r.stderr}`);
  const byFile = new Map();
  for (const line of r.stdout.trim().split('\n')) {
    const item = JSON.parse(line);
    byFile.set(item.file, item.predictions[0].index);
  }
  return {
    rate: imageCount / Number(loop[1]),
    wholeRate: imageCount / r.seconds,
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
    wholeRate: imageCount / r.seconds,
    cpu: (r.cpuSeconds * 1000) / imageCount,
    jobCpu: out.cpuMsPerImage,
    top1: files.map((f) => out.top1[f.name]),
    versions: out.versions,
  };
}

async function transformersJs(model) {
  const r = await runTransformersJs({ modelPath: model.file, images: paths, labelsTsv });
  return { rate: r.imagesPerSecond, wholeRate: Number.NaN, cpu: r.info.cpuMsPerImage, top1: r.top1 };
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
        `  run ${rep + 1} ${p.name.padEnd(17)} ${r.rate.toFixed(1).padStart(6)} img/s, whole process ${Number.isNaN(r.wholeRate) ? '—' : r.wholeRate.toFixed(1)} img/s, ${r.cpu.toFixed(2)} CPU-ms/img (load ${load()})`,
      );
    }
  }
}
remove();

const cell = (entry, pick, digits) =>
  entry && !entry.runs.some((r) => Number.isNaN(pick(r))) ? spread(entry.runs.map(pick), digits) : '—';
for (const model of models) {
  console.log(
    `\n## ${model.kind}, side by side: median [min–max] of ${repeats} runs, ${imageCount} images, ${cores} cores`,
  );
  console.log('| pipeline | img/s | img/s, whole process | CPU-ms/img | top-1 = PyTorch |');
  console.log('|---|---|---|---|---|');
  for (const p of pipelines) {
    const e = results.get(`${p.key}/${model.kind}`);
    console.log(
      `| ${p.name} | ${cell(e, (r) => r.rate, 1)} | ${cell(e, (r) => r.wholeRate, 1)} | ${cell(e, (r) => r.cpu, 2)} | ${e?.agree ?? '—'} |`,
    );
  }
  const py = results.get(`python/${model.kind}`);
  if (py)
    console.log(`(the sidecar's job alone, after its imports: ${cell(py, (r) => r.jobCpu, 2)} CPU-ms/img)`);
}
console.log(
  'img/s: mtailor classify as it reports its loop (after the model loaded), the sidecar from after its imports (pool start and sessions included), Transformers.js after a warm-up batch; whole process: from spawn to exit; CPU-ms/img: user + system of the whole process and its children (Transformers.js: its loop)',
);
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
  const whole = median(o.runs.map((r) => r.wholeRate)) / median(p.runs.map((r) => r.wholeRate));
  console.log(
    `target ${model.kind}: mtailor classify ≥ 1.1 × the Python sidecar: ${ratio >= 1.1 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}×; whole processes: ${whole.toFixed(2)}×)`,
  );
}
console.log(`load average at the end: ${load()}`);
