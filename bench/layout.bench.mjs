#!/usr/bin/env node
/**
 * Engine layout on this machine's cores (issue 23, point 3), and where the time goes per image. First the cost of
 * each stage alone on one thread (CPU time): decode (`decodeImagePixels`), preprocess (`ImagePreprocessor.process`
 * minus its decode), inference (onnxruntime at batch 8, 1 intra-op thread). Then the same ≥ 1000 files classified
 *
 * - `split`: the classifier with `workers` decode threads writing tensors into shared slots and one inference thread
 *   (1 intra-op thread) running micro-batches of 8 — the server's layout;
 * - `decode-workers`: the classifier with `workers` threads that each decode and run batches on their own session
 *   (1 intra-op thread, batches waiting up to 50 ms for company) — what `mtailor classify` uses on large folders;
 * - `static shares`: Python's layout without an engine — `workers` threads, each running decode → preprocess →
 *   infer → argmax on its contiguous share of the files in batches of 8, no messages per image (a floor for the
 *   engine's overhead, not a product: no back-pressure, no top-k, an uneven end).
 *
 * All in this process, after one warm-up pass, timed by wall clock and process CPU time (all threads). Prints img/s
 * and CPU-ms/img, median [min–max] over BENCH_REPEATS (3), and per image: decode + preprocess + inference + overhead
 * (the rest of the CPU: messages, wake-ups, GC, file reads, top-k) and the cores' idle share. Settings (env):
 * BENCH_IMAGES (1040), BENCH_WORKERS (comma list, default the CPUs here), MTAILOR_MODEL.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { benchModel, repoRoot, sharedImagesDir } from './support/bench-env.mjs';
import { median, spread } from './support/stats.mjs';

const core = await import(pathToFileURL(path.join(repoRoot, 'packages', 'core', 'dist', 'index.js')).href);
const internal = await import(
  pathToFileURL(path.join(repoRoot, 'packages', 'core', 'dist', 'internal.js')).href
);

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

  /** CPU-ms per call of `step` over `items`, median of 5 passes after one warm-up pass. */
  const cpuPer = async (items, step) => {
    const passes = [];
    for (let rep = 0; rep < 6; rep++) {
      const c0 = process.cpuUsage();
      for (const item of items) await step(item);
      const c = process.cpuUsage(c0);
      if (rep > 0) passes.push((c.user + c.system) / 1000 / items.length);
    }
    return median(passes);
  };
  const bytes = shared.map((f) => readFileSync(f));
  const preprocessor = new core.ImagePreprocessor({ autoOrient: false });
  const out = new Float32Array(3 * 224 * 224);
  const decodeMs = await cpuPer(bytes, (b) =>
    internal.decodeImagePixels(b, { autoOrient: false, maxPixels: 1e8 }),
  );
  const preprocessMs = (await cpuPer(bytes, (b) => preprocessor.process(b, { out, offset: 0 }))) - decodeMs;
  const session = await core.ONNXModel.load(benchModel, { intraOpThreads: 1, interOpThreads: 1 });
  const batch = new Float32Array(8 * session.inputElementsPerImage);
  for (let i = 0; i < 8; i++) await preprocessor.process(bytes[i], { out: batch, offset: i * out.length });
  const inferenceMs = (await cpuPer([1, 2, 3, 4, 5], () => session.run(batch, 8))) / 8;
  session.dispose();
  const stages = decodeMs + preprocessMs + inferenceMs;
  console.log(
    `one thread, CPU-ms/img: decode ${decodeMs.toFixed(2)} (${internal.nativeJpegAvailable ? 'libjpeg-turbo' : 'sharp'}), preprocess ${preprocessMs.toFixed(2)}, inference ${inferenceMs.toFixed(2)} (batch 8, 1 thread) = ${stages.toFixed(2)}`,
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
  const show = (name, runs) => {
    const cpu = median(runs.map((r) => r.cpu));
    const busy = (cpu * median(runs.map((r) => r.rate))) / (cpus * 1000);
    console.log(
      `${name.padEnd(36)} ${spread(runs.map((r) => r.rate))} img/s   ${spread(
        runs.map((r) => r.cpu),
        2,
      )} CPU-ms/img   (load ${os.loadavg()[0].toFixed(2)})`,
    );
    console.log(
      `${''.padEnd(36)} per image: decode ${decodeMs.toFixed(2)} + preprocess ${preprocessMs.toFixed(2)} + inference ${inferenceMs.toFixed(2)} + overhead ${(cpu - stages).toFixed(2)}; idle ${Math.max(0, (1 - busy) * 100).toFixed(0)} % of ${cpus} cores`,
    );
  };

  for (const workers of workerCounts) {
    for (const inferenceThread of ['worker', 'decode-workers']) {
      const classifier = await core.ImageClassifier.create({
        model: benchModel,
        autoOrient: false,
        workers,
        intraOpThreads: 1,
        inferenceThread,
        // As mtailor classify runs it: in a folder job a batch may wait for company.
        ...(inferenceThread === 'decode-workers' ? { maxDelayMs: 50 } : {}),
      });
      show(
        inferenceThread === 'worker'
          ? `split, ${workers} decode + 1 inference`
          : `decode-workers, ${workers} × (decode + infer)`,
        await timed(async () => {
          for await (const item of classifier.classifyStream(files, { topK: 1 }))
            if (!item.ok) throw item.error;
        }),
      );
      await classifier.close();
    }

    const threads = await Promise.all(
      Array.from({ length: workers }, async () => {
        const w = new Worker(new URL(import.meta.url), { workerData: { model: benchModel, batch: 8 } });
        await new Promise((resolve) => w.once('message', resolve));
        return w;
      }),
    );
    const per = Math.ceil(files.length / workers);
    show(
      `static shares, ${workers} × (decode → infer)`,
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
