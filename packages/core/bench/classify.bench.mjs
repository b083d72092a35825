#!/usr/bin/env node
/**
 * End-to-end classification throughput (issue item 7): images/s on the shared images read from disk
 * (decode + preprocess + inference + top-k), batch 1 and 8, both resize engines, both models — and, measured
 * each alone, what one image costs in decode+preprocess (one core) and in inference (core-ms). From those:
 * the CPU bound = cores ÷ (decode+preprocess + inference core-ms) and end-to-end throughput as a share of it.
 *
 * CPU time is measured with process.cpuUsage() (user + system of the whole process, all threads: libuv's
 * decode threads and onnxruntime's pool included), so it is core-milliseconds, not wall time.
 *
 * Settings (environment): MTAILOR_SHARED_DIR (default ../shared beside the repo) for images and models,
 * MTAILOR_MODEL (the int8 model by default; the float model is taken from the shared folder),
 * BENCH_REPEATS (default 5), BENCH_WORKERS (default os.availableParallelism()), BENCH_THREADS (onnxruntime
 * intra-op threads in the pipeline, default 1).
 * Usage: pnpm --filter @mtailor/core bench   (after pnpm build)
 *        node bench/classify.bench.mjs [--models int8,float] [--engines exact,fast] [--no-env]
 * Unless GLIBC_TUNABLES is already set or --no-env is given, the int8/exact rows are measured again at the end in
 * a child process with glibc's malloc told to keep freed memory (see docs/decoding.md: it must be set before
 * the process starts, so servers set it in their environment).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImageClassifier, ImagePreprocessor, ONNXModel } from '@mtailor/core';
import sharp from 'sharp';

const here = path.dirname(fileURLToPath(import.meta.url));
const sharedDir = path.resolve(
  process.env.MTAILOR_SHARED_DIR ?? path.join(here, '..', '..', '..', '..', 'shared'),
);
const int8Model = process.env.MTAILOR_MODEL ?? path.join(sharedDir, 'models', 'mobilenet_v2_int8_qdq.onnx');
const floatModel = path.join(sharedDir, 'models', 'mobilenet_v2_float.onnx');
const imagesDir = path.join(sharedDir, 'images');
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const cores = os.availableParallelism();
const workers = Number(process.env.BENCH_WORKERS ?? cores);
const pipelineThreads = Number(process.env.BENCH_THREADS ?? 1);

for (const p of [int8Model, floatModel, imagesDir])
  if (!existsSync(p)) {
    console.error(`bench: ${p} not found; set MTAILOR_SHARED_DIR (or MTAILOR_MODEL)`);
    process.exit(2);
  }
const files = readdirSync(imagesDir)
  .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
  .sort()
  .map((f) => path.join(imagesDir, f));
const argv = process.argv.slice(2);
const listArg = (name, all) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1].split(',').filter((x) => all.includes(x)) : all;
};
const models = [
  ['int8', int8Model],
  ['float', floatModel],
].filter(([name]) => listArg('--models', ['int8', 'float']).includes(name));
const engines = listArg('--engines', ['exact', 'fast']);
/** glibc malloc settings that keep freed memory instead of unmapping it after every decode (docs/decoding.md). */
const MALLOC_TUNABLES =
  'glibc.malloc.trim_threshold=268435456:glibc.malloc.mmap_threshold=268435456:glibc.malloc.top_pad=67108864';
const batches = [1, 8];

// ---- helpers --------------------------------------------------------------------------------------------------
const cpuMs = (since) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const stats = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
const fmt = (s, digits = 2) =>
  `${s.median.toFixed(digits)} [${s.min.toFixed(digits)}–${s.max.toFixed(digits)}]`;

// ---- machine --------------------------------------------------------------------------------------------------
const pkg = (name) => {
  try {
    return JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8'))
      .version;
  } catch {
    return '?';
  }
};
console.log('# @mtailor/core classify bench');
console.log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}; ${os.cpus().length} CPUs, availableParallelism ${cores}`,
);
console.log(
  `node ${process.versions.node}, onnxruntime-node ${pkg('onnxruntime-node')} (${ONNXModel.runtimeVersion}), sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}`,
);
console.log(`GLIBC_TUNABLES: ${process.env.GLIBC_TUNABLES ?? '(not set: glibc defaults)'}`);
console.log(
  `load average at start: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (other processes make every number noisy)`,
);
console.log(`${files.length} images from ${imagesDir}; ${repeats} repeats; values are median [min–max]`);
console.log(`models: int8 ${int8Model}, float ${floatModel}`);

// ---- 1. decode + preprocess alone, one image at a time (one core) -----------------------------------------------
console.log('\n## decode + preprocess alone, one image at a time on one core (CPU ms per image)');
const decodeCost = {};
for (const engine of engines) {
  const pre = new ImagePreprocessor({ resize: engine, autoOrient: false });
  for (const f of files) await pre.process(f); // warm-up: JIT, file cache
  const runs = [];
  const stages = { readMs: [], decodeMs: [], preprocessMs: [] };
  for (let r = 0; r < repeats; r++) {
    const sum = { readMs: 0, decodeMs: 0, preprocessMs: 0 };
    const c0 = process.cpuUsage();
    for (const f of files) {
      const { timings } = await pre.process(f);
      for (const k of Object.keys(sum)) sum[k] += timings[k];
    }
    runs.push(cpuMs(c0) / files.length);
    for (const k of Object.keys(sum)) stages[k].push(sum[k] / files.length);
  }
  decodeCost[engine] = stats(runs);
  console.log(
    `${engine.padEnd(5)}: ${fmt(decodeCost[engine])} CPU ms/img; wall per stage: read ${fmt(stats(stages.readMs))}, decode ${fmt(stats(stages.decodeMs))}, preprocess ${fmt(stats(stages.preprocessMs))}`,
  );
}

// ---- 2. inference alone (core-ms per image) -------------------------------------------------------------------
console.log('\n## inference alone on real tensors, 1 intra-op thread (CPU ms per image = core-ms)');
const tensorsPre = new ImagePreprocessor({ resize: 'exact', autoOrient: false });
const per = 3 * 224 * 224;
const allTensors = new Float32Array(files.length * per);
for (const [i, f] of files.entries()) await tensorsPre.process(f, { out: allTensors, offset: i * per });
const inferenceCost = {};
for (const [name, file] of models) {
  const model = await ONNXModel.load(file, { intraOpThreads: 1 });
  await model.warmup(5);
  for (const batch of batches) {
    const runs = [];
    const walls = [];
    for (let r = 0; r < repeats; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      let n = 0;
      for (let i = 0; i + batch <= files.length; i += batch) {
        await model.run(allTensors.subarray(i * per, (i + batch) * per), batch);
        n += batch;
      }
      runs.push(cpuMs(c0) / n);
      walls.push((performance.now() - t0) / n);
    }
    inferenceCost[`${name}/${batch}`] = stats(runs);
    console.log(
      `${name.padEnd(5)} batch ${batch}: ${fmt(stats(runs))} core-ms/img (wall ${fmt(stats(walls))} ms/img → ${(1000 / median(walls)).toFixed(0)} img/s on one thread)`,
    );
  }
  model.dispose();
}

// ---- 3. end to end -------------------------------------------------------------------------------------------
console.log(
  `\n## end to end: files on disk → top-5, the engine (${workers} decode workers, onnxruntime in its worker with ${pipelineThreads} intra-op thread(s), spinning off)`,
);
console.log('model  engine batch   img/s median [min–max]   CPU bound img/s   share of bound   CPU ms/img');
const rows = [];
for (const [name, file] of models) {
  for (const engine of engines) {
    for (const batch of batches) {
      const classifier = await ImageClassifier.create({
        model: file,
        resize: engine,
        autoOrient: false,
        intraOpThreads: pipelineThreads,
        workers,
        maxBatchSize: batch,
      });
      const consume = async () => {
        let n = 0;
        for await (const item of classifier.classifyStream(files, { topK: 5 })) {
          if (!item.ok) throw item.error;
          n++;
        }
        return n;
      };
      await consume(); // warm-up: starts the workers and lets their JIT settle
      const rates = [];
      const cpu = [];
      for (let r = 0; r < repeats; r++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const n = await consume();
        rates.push(n / ((performance.now() - t0) / 1000));
        cpu.push(cpuMs(c0) / n);
      }
      const bound = (cores * 1000) / (decodeCost[engine].median + inferenceCost[`${name}/${batch}`].median);
      const s = stats(rates);
      rows.push({ name, engine, batch, s, bound });
      console.log(
        `${name.padEnd(6)} ${engine.padEnd(6)} ${String(batch).padStart(5)}   ${fmt(s, 0).padEnd(22)}   ${bound.toFixed(0).padStart(15)}   ${`${((s.median / bound) * 100).toFixed(0)} %`.padStart(14)}   ${fmt(stats(cpu), 1)}`,
      );
      await classifier.close();
    }
  }
}
const target = rows.find((r) => r.name === 'int8' && r.engine === 'exact' && r.batch === 8);
if (target) {
  // The same job without worker threads (resize and inference take turns on the calling thread; sharp still
  // decodes on libuv's pool), to show what the workers buy.
  const classifier = await ImageClassifier.create({
    model: int8Model,
    resize: 'exact',
    autoOrient: false,
    workers: 0,
    inferenceThread: 'caller',
  });
  const consume = async () => {
    let n = 0;
    for await (const _ of classifier.classifyStream(files, { topK: 5 })) n++;
    return n;
  };
  await consume();
  const rates = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const n = await consume();
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  await classifier.close();
  console.log(
    `int8   exact      8   ${fmt(stats(rates), 0)}   ← same on the calling thread (workers: 0, inferenceThread: 'caller': sharp still decodes on libuv's pool; onnxruntime ${cores} threads)`,
  );
  console.log(
    `\ntarget (int8, exact): ≥ 200 img/s and ≥ 85 % of the CPU bound; measured ${target.s.median.toFixed(0)} img/s = ${((target.s.median / target.bound) * 100).toFixed(0)} % of ${target.bound.toFixed(0)} img/s`,
  );
}

if (!process.env.GLIBC_TUNABLES && !argv.includes('--no-env') && process.platform === 'linux') {
  console.log('\n# again, int8 + exact only, with GLIBC_TUNABLES set (as recommended for servers)\n');
  const child = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--models', 'int8', '--engines', 'exact', '--no-env'],
    { stdio: 'inherit', env: { ...process.env, GLIBC_TUNABLES: MALLOC_TUNABLES } },
  );
  if (child.status !== 0) process.exitCode = child.status ?? 1;
}
