#!/usr/bin/env node
/**
 * The engine against the machine's bound, in one run (issue: "the engine at the CPU bound"):
 *
 * 1. The bound. Per image, the CPU a minimal job needs: Pillow's decode + resize on one core (`/usr/bin/python3`;
 *    without Pillow, our own decode + preprocess on one thread) plus onnxruntime-only inference at batch 8 (its
 *    core-ms: process CPU time over the runs). bound = cores × 1000 ÷ (decode ms + inference core-ms) images/s.
 * 2. `mtailor classify` on a folder of ≥ 1000 real images (the shared images, replicated as symlinks), the whole
 *    process timed (start-up and model load included), top-1 checked against the reference.
 * 3. Transformers.js on the same folder (bench/baselines/transformers-js.mjs), when it is installed.
 * 4. The server (`mtailor-server`, the image's settings) at concurrency 8 and 32, closed loop on loopback, base64
 *    JSON of the shared images in turn.
 *
 * Prints img/s (median, min–max over BENCH_REPEATS) and each as a ratio of the bound.
 * Settings (env): BENCH_REPEATS (3), BENCH_IMAGES (1040), BENCH_SERVER_REQUESTS (1040 per run), BENCH_SKIP
 * (comma list of cli,tfjs,server), MTAILOR_MODEL (default: the shared int8 model), MTAILOR_SHARED_DIR.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { startServerProcess } from '../packages/server/bench/support/sigterm-scenario.mjs';
import { benchModel, imageGlibcTunables, repoRoot, sharedDir } from './support/bench-env.mjs';
import { replicatedImageFolder } from './support/image-folder.mjs';
import { mtailorClassifyArgs, mtailorClassifyEnv } from './support/mtailor-classify.mjs';
import { median, spread } from './support/stats.mjs';

const model = benchModel;
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const imageCount = Number(process.env.BENCH_IMAGES ?? 1040);
const serverRequests = Number(process.env.BENCH_SERVER_REQUESTS ?? 1040);
const skip = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const python = process.env.MTAILOR_PYTHON ?? '/usr/bin/python3';
const cores = Math.min(os.availableParallelism(), os.cpus().length);
const glibcTunables = imageGlibcTunables;

const require = (await import('node:module')).createRequire(
  path.join(repoRoot, 'packages', 'core', 'package.json'),
);
const ort = require('onnxruntime-node');
const sharp = require('sharp');
const core = await import(pathToFileURL(path.join(repoRoot, 'packages', 'core', 'dist', 'index.js')).href);

const load = () => os.loadavg()[0].toFixed(2);
// The folder of ≥ 1000 images: made first, so that every part measures the same files.
const {
  folder,
  files: folderFiles,
  shared: sharedFiles,
  remove: removeFolder,
} = replicatedImageFolder(imageCount);

console.log('# throughput against the machine bound');
console.log(
  `machine: ${os.cpus()[0]?.model} × ${cores}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.versions.node},` +
    ` onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}, sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}`,
);
console.log(
  `model: ${model}; images: ${sharedFiles.length} shared, replicated to ${imageCount}; load average at start ${load()}`,
);

// ---------------------------------------------------------------- 1. the bound
function pillowCost() {
  const script = `
import io, sys, time
from PIL import Image
files = sys.argv[1:]
data = [open(f, 'rb').read() for f in files]
for b in data[:10]: Image.open(io.BytesIO(b)).convert('RGB').resize((224, 224), Image.BILINEAR)
out = []
for rep in range(5):
    t0 = time.process_time()
    for b in data: Image.open(io.BytesIO(b)).convert('RGB').resize((224, 224), Image.BILINEAR)
    out.append((time.process_time() - t0) / len(data) * 1000)
print(' '.join(str(x) for x in out))
`;
  try {
    const out = execFileSync(python, ['-c', script, ...sharedFiles], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
    return {
      source: 'Pillow (C) open + convert + resize((224, 224), BILINEAR), one core',
      ms: out.trim().split(' ').map(Number),
    };
  } catch {
    return undefined;
  }
}

async function ourDecodeCost() {
  const pre = new core.ImagePreprocessor({ autoOrient: false });
  const out = new Float32Array(3 * 224 * 224);
  const data = sharedFiles.map((f) => readFileSync(f));
  for (const b of data.slice(0, 10)) await pre.process(b, { out, offset: 0 });
  const ms = [];
  for (let rep = 0; rep < 5; rep++) {
    const c0 = process.cpuUsage();
    for (const b of data) await pre.process(b, { out, offset: 0 });
    const c = process.cpuUsage(c0);
    ms.push((c.user + c.system) / 1000 / data.length);
  }
  return ms;
}

async function inferenceCost() {
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: cores,
    interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const pre = new core.ImagePreprocessor({ autoOrient: false });
  const batch = new Float32Array(8 * 3 * 224 * 224);
  for (let i = 0; i < 8; i++) await pre.process(sharedFiles[i], { out: batch, offset: i * 3 * 224 * 224 });
  const input = new ort.Tensor('float32', batch, [8, 3, 224, 224]);
  const feeds = { [session.inputNames[0]]: input };
  for (let i = 0; i < 5; i++) await session.run(feeds);
  const ms = [];
  for (let rep = 0; rep < 5; rep++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < 20; i++) await session.run(feeds);
    const c = process.cpuUsage(c0);
    ms.push((c.user + c.system) / 1000 / (20 * 8));
  }
  await session.release();
  return ms;
}

const pillow = pillowCost();
const ours = await ourDecodeCost();
const inference = await inferenceCost();
const decodeMs = median(pillow?.ms ?? ours);
const inferMs = median(inference);
const bound = (cores * 1000) / (decodeMs + inferMs);
console.log('\n## bound');
console.log(
  `decode + resize: ${pillow ? `${spread(pillow.ms)} CPU-ms/img (${pillow.source})` : 'Pillow not available'}`,
);
console.log(`ours (decode + exact preprocess, one thread): ${spread(ours)} CPU-ms/img`);
console.log(`onnxruntime only, batch 8, ${cores} intra-op threads: ${spread(inference)} core-ms/img`);
console.log(
  `bound = ${cores} cores × 1000 / (${decodeMs.toFixed(2)} + ${inferMs.toFixed(2)}) = ${bound.toFixed(0)} img/s` +
    ` (with our own decode: ${((cores * 1000) / (median(ours) + inferMs)).toFixed(0)} img/s)`,
);

// ---------------------------------------------------------------- the folder of ≥ 1000 images
const reference = JSON.parse(
  readFileSync(
    path.join(sharedDir, 'reference', 'ort_mobilenet_v2_int8_on_torchvision_tensors.json'),
    'utf8',
  ),
);

const results = [];
function report(name, samples, extra = '') {
  const m = median(samples);
  results.push({ name, median: m, ratio: m / bound });
  console.log(`${name}: ${spread(samples)} img/s = ${(m / bound).toFixed(2)} × bound${extra}`);
}

// ---------------------------------------------------------------- where the time goes: the engine in this process
// The CLI's job without its process start-up: the same classifier settings, the same files, one warm-up pass, then
// timed passes with this process's CPU time (all threads: decode workers, inference worker, libuv, GC).
if (!skip.has('engine')) {
  console.log(`\n## the engine in this process (steady state: after one warm-up pass, start-up excluded)`);
  const classifier = await core.ImageClassifier.create({
    model,
    autoOrient: false,
    workers: cores,
    intraOpThreads: 1,
  });
  const paths = folderFiles.map((f) => path.join(folder, f.name));
  const pass = async () => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for await (const item of classifier.classifyStream(paths, { topK: 1 })) if (!item.ok) throw item.error;
    const c = process.cpuUsage(c0);
    return {
      rate: paths.length / ((performance.now() - t0) / 1000),
      cpu: (c.user + c.system) / 1000 / paths.length,
    };
  };
  await pass();
  const runs = [];
  for (let rep = 0; rep < repeats; rep++) runs.push(await pass());
  await classifier.close();
  const rate = median(runs.map((r) => r.rate));
  const cpu = median(runs.map((r) => r.cpu));
  const busy = (cpu * rate) / (cores * 1000);
  console.log(`${spread(runs.map((r) => r.rate))} img/s, ${spread(runs.map((r) => r.cpu))} CPU-ms/img`);
  console.log(
    `  CPU per image: ${cpu.toFixed(2)} ms = decode+preprocess ${median(ours).toFixed(2)} (Pillow: ${decodeMs.toFixed(2)})` +
      ` + inference ${inferMs.toFixed(2)} + the rest ${(cpu - median(ours) - inferMs).toFixed(2)} (threads, messages, GC, file reads)`,
  );
  console.log(
    `  cores busy: ${(busy * 100).toFixed(0)} % of ${cores} (idle: ${((1 - busy) * 100).toFixed(0)} %)`,
  );
  report(
    'engine, in process',
    runs.map((r) => r.rate),
  );
}

// ---------------------------------------------------------------- 2. mtailor classify
if (!skip.has('cli')) {
  console.log(
    `\n## mtailor classify on ${imageCount} images (whole process: start-up and model load included)`,
  );
  const samples = [];
  let agreement = '';
  for (let rep = 0; rep < repeats; rep++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, mtailorClassifyArgs(folder, model), {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      env: mtailorClassifyEnv(),
    });
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`mtailor classify exited ${r.status}: ${r.stderr}`);
    samples.push(imageCount / seconds);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    let agree = 0;
    let checked = 0;
    for (const line of lines) {
      const src = folderFiles.find((f) => f.name === path.basename(line.file))?.src;
      const ref = src && reference.images[path.basename(src)];
      if (!ref) continue;
      checked++;
      const top = ref.logits[0];
      const ties = ref.top5.filter((_, i) => ref.logits[i] === top);
      if (ties.includes(line.predictions[0].index)) agree++;
    }
    agreement = ` (top-1 = onnxruntime on torchvision tensors, ties counted: ${agree}/${checked})`;
    console.log(
      `  run ${rep + 1}: ${(imageCount / seconds).toFixed(1)} img/s, ${seconds.toFixed(2)} s; ${r.stderr.trim().split('\n').at(-1)} (load ${load()})`,
    );
  }
  report('mtailor classify', samples, agreement);
}

// ---------------------------------------------------------------- 3. Transformers.js
if (!skip.has('tfjs')) {
  let baseline;
  try {
    baseline = await import(
      pathToFileURL(path.join(repoRoot, 'bench', 'baselines', 'transformers-js.mjs')).href
    );
  } catch (err) {
    console.log(`\n## Transformers.js: not run (${err.message.split('\n')[0]})`);
  }
  if (baseline) {
    console.log(`\n## Transformers.js on the same ${imageCount} images`);
    const samples = [];
    for (let rep = 0; rep < repeats; rep++) {
      const r = await baseline.runTransformersJs({
        modelPath: model,
        images: folderFiles.map((f) => path.join(folder, f.name)),
        labelsTsv: path.join(sharedDir, 'data', 'imagenet1k-classes.tsv'),
      });
      samples.push(r.imagesPerSecond);
      console.log(`  run ${rep + 1}: ${r.imagesPerSecond.toFixed(1)} img/s (load ${load()})`);
    }
    report('Transformers.js', samples);
  }
}

// ---------------------------------------------------------------- 4. the server
if (!skip.has('server')) {
  const { Pool } = require(require.resolve('undici', { paths: [path.join(repoRoot, 'packages', 'server')] }));
  const { child, url } = await startServerProcess(path.join(repoRoot, 'packages', 'server'), {
    ...process.env,
    ...(glibcTunables ? { GLIBC_TUNABLES: glibcTunables } : {}),
    MTAILOR_MODEL: model,
    MTAILOR_AUTO_ORIENT: 'false',
    LOG_LEVEL: 'warn',
  });
  const bodies = sharedFiles.map((f) =>
    JSON.stringify({ image_base64: readFileSync(f).toString('base64'), top_k: 1 }),
  );
  for (const concurrency of [8, 32]) {
    console.log(`\n## server, concurrency ${concurrency}, ${serverRequests} base64 requests per run`);
    const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
    const samples = [];
    for (let rep = 0; rep < repeats; rep++) {
      let next = 0;
      let failed = 0;
      const t0 = performance.now();
      const worker = async () => {
        while (next < serverRequests) {
          const body = bodies[next++ % bodies.length];
          const res = await pool.request({
            path: '/predict',
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          });
          await res.body.arrayBuffer();
          if (res.statusCode !== 200) failed++;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      const seconds = (performance.now() - t0) / 1000;
      if (failed) throw new Error(`${failed} requests failed`);
      samples.push(serverRequests / seconds);
      console.log(`  run ${rep + 1}: ${(serverRequests / seconds).toFixed(1)} img/s (load ${load()})`);
    }
    await pool.close();
    report(`server c=${concurrency}`, samples);
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

removeFolder();

console.log('\n## summary');
console.log(
  `bound ${bound.toFixed(0)} img/s (${cores} cores; decode ${decodeMs.toFixed(2)} + inference ${inferMs.toFixed(2)} core-ms/img)`,
);
for (const r of results)
  console.log(
    `  ${r.name.padEnd(18)} ${r.median.toFixed(1).padStart(7)} img/s  ${r.ratio.toFixed(2)} × bound`,
  );
const cli = results.find((r) => r.name === 'mtailor classify');
const tfjs = results.find((r) => r.name === 'Transformers.js');
const s32 = results.find((r) => r.name === 'server c=32');
if (cli)
  console.log(
    `targets: CLI ≥ 0.80 × bound: ${cli.ratio >= 0.8 ? 'met' : 'NOT met'} (${cli.ratio.toFixed(2)})`,
  );
if (cli && tfjs)
  console.log(
    `         CLI ≥ 3 × Transformers.js: ${cli.median >= 3 * tfjs.median ? 'met' : 'NOT met'} (${(cli.median / tfjs.median).toFixed(1)}×)`,
  );
if (s32)
  console.log(
    `         server c=32 ≥ 0.70 × bound: ${s32.ratio >= 0.7 ? 'met' : 'NOT met'} (${s32.ratio.toFixed(2)})`,
  );
