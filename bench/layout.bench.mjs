#!/usr/bin/env node
/**
 * Engine layout on this machine's cores (issue 23, point 3): the same ≥ 1000 files classified
 *
 * - `engine`: the classifier as `mtailor classify` runs it — `workers` decode threads writing tensors into shared
 *   slots, one inference thread (1 intra-op thread) running micro-batches of 8;
 * - `per-worker`: Python's layout in Node — `workers` threads, each loading its own session (1 intra-op thread) and
 *   running decode → preprocess → infer on its contiguous share of the files in batches of 8, no hand-offs.
 *
 * Both in this process, after one warm-up pass, timed by wall clock and process CPU time (all threads). Prints
 * img/s and CPU-ms/img, median [min–max] over BENCH_REPEATS (3). Settings (env): BENCH_IMAGES (1040), BENCH_WORKERS
 * (comma list, default the CPUs here), MTAILOR_MODEL.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { benchModel, repoRoot, sharedImagesDir } from './support/bench-env.mjs';
import { spread } from './support/stats.mjs';

const core = await import(pathToFileURL(path.join(repoRoot, 'packages', 'core', 'dist', 'index.js')).href);

if (!isMainThread) {
  // One worker of the per-worker layout: its own preprocessor and session, its own share of the files.
  const { model, batch } = workerData;
  const preprocessor = new core.ImagePreprocessor({ autoOrient: false });
  const session = await core.ONNXModel.load(model, { intraOpThreads: 1, interOpThreads: 1 });
  const per = session.inputElementsPerImage;
  const tensor = new Float32Array(batch * per);
  parentPort.on('message', async (files) => {
    const top1 = [];
    for (let start = 0; start < files.length; start += batch) {
      const chunk = files.slice(start, start + batch);
      for (const [i, file] of chunk.entries())
        await preprocessor.process(readFileSync(file), { out: tensor, offset: i * per });
      const logits = await session.run(tensor.subarray(0, chunk.length * per), chunk.length);
      for (let i = 0; i < chunk.length; i++) {
        const row = logits.subarray(i * 1000, (i + 1) * 1000);
        top1.push(row.indexOf(Math.max(...row)));
      }
    }
    parentPort.postMessage(top1);
  });
  parentPort.postMessage('ready');
} else {
  const repeats = Number(process.env.BENCH_REPEATS ?? 3);
  const imageCount = Number(process.env.BENCH_IMAGES ?? 1040);
  const cpus = Math.min(os.availableParallelism(), os.cpus().length);
  const workerCounts = (process.env.BENCH_WORKERS ?? String(cpus)).split(',').map(Number);
  const shared = readdirSync(sharedImagesDir)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort()
    .map((f) => path.join(sharedImagesDir, f));
  const files = Array.from({ length: imageCount }, (_, i) => shared[i % shared.length]);
  console.log(
    `# engine layout: ${os.cpus()[0]?.model} × ${cpus}, ${path.basename(benchModel)}, ${imageCount} files, load ${os.loadavg()[0].toFixed(2)}`,
  );

  const timed = async (pass) => {
    await pass();
    const runs = [];
    for (let rep = 0; rep < repeats; rep++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await pass();
      const c = process.cpuUsage(c0);
      runs.push({
        rate: files.length / ((performance.now() - t0) / 1000),
        cpu: (c.user + c.system) / 1000 / files.length,
      });
    }
    return runs;
  };
  const show = (name, runs) =>
    console.log(
      `${name.padEnd(34)} ${spread(runs.map((r) => r.rate))} img/s   ${spread(
        runs.map((r) => r.cpu),
        2,
      )} CPU-ms/img   (load ${os.loadavg()[0].toFixed(2)})`,
    );

  for (const workers of workerCounts) {
    const classifier = await core.ImageClassifier.create({
      model: benchModel,
      autoOrient: false,
      workers,
      intraOpThreads: 1,
    });
    show(
      `engine, ${workers} decode + 1 inference`,
      await timed(async () => {
        for await (const item of classifier.classifyStream(files, { topK: 1 }))
          if (!item.ok) throw item.error;
      }),
    );
    await classifier.close();

    const threads = await Promise.all(
      Array.from({ length: workers }, async () => {
        const w = new Worker(new URL(import.meta.url), { workerData: { model: benchModel, batch: 8 } });
        await new Promise((resolve) => w.once('message', resolve));
        return w;
      }),
    );
    const per = Math.ceil(files.length / workers);
    show(
      `per-worker, ${workers} × (decode → infer)`,
      await timed(() =>
        Promise.all(
          threads.map((w, i) => {
            w.postMessage(files.slice(i * per, (i + 1) * per));
            return new Promise((resolve) => w.once('message', resolve));
          }),
        ),
      ),
    );
    await Promise.all(threads.map((w) => w.terminate()));
  }
}
