#!/usr/bin/env node
/**
 * The in-browser page, measured in Debian's Chromium (headless, playwright-core, loopback only):
 * 1. page weight: every byte a cold load transfers, by kind (JS, WASM, model, labels, HTML/CSS), as served
 *    (uncompressed) and as gzip -9 would send it;
 * 2. cold load → first answer: a fresh browser context (empty HTTP cache, no compiled-WASM cache) per run, from
 *    navigation to `mtailor.ready` and to the first `mtailor.classify` result on the tench image;
 * 3. throughput in one tab: img/s over the 104 shared images, one at a time, decode + preprocess + inference
 *    (+ softmax, top-5) — bytes already in page memory — per model and WASM thread count;
 * 4. Node beside it: @mtailor/core's ImageClassifier (exact engine) on the same bytes, one at a time.
 * Besides wall-clock img/s, CPU ms per image (all of Chromium's processes from /proc; Node's process.cpuUsage)
 * says what each image costs the machine, which other work on a shared machine disturbs less.
 * Medians with [min–max] over the runs. The machine's load average is printed: compare rows of one run.
 *
 * Settings (environment): MTAILOR_SHARED_DIR (default ../shared beside the repo), MTAILOR_CHROMIUM,
 * BENCH_REPEATS (throughput passes, default 5), BENCH_COLD (cold loads, default 5).
 * Usage: pnpm build && pnpm --filter ./examples/browser bench
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ImageClassifier } from '@mtailor/core';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath, hasChromiumExecutable, startServer } from '../dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const sharedDir = path.resolve(
  process.env.MTAILOR_SHARED_DIR ?? path.join(here, '..', '..', '..', '..', 'shared'),
);
const models = {
  int8: path.join(sharedDir, 'models', 'mobilenet_v2_int8_qdq.onnx'),
  float: path.join(sharedDir, 'models', 'mobilenet_v2_float.onnx'),
};
const imagesDir = path.join(sharedDir, 'images');
const files = readdirSync(imagesDir)
  .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
  .sort()
  .map((f) => path.join(imagesDir, f));
const tench = path.join(imagesDir, 'n01440764_tench.JPEG');
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const coldRuns = Number(process.env.BENCH_COLD ?? 5);

if (!hasChromiumExecutable()) {
  console.error(
    `bench: no Chromium at ${chromiumPath()} (install Debian's chromium or set MTAILOR_CHROMIUM)`,
  );
  process.exit(2);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs, digits = 1) =>
  `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`;
const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MiB`;

const TICK_MS = 10; // Linux USER_HZ = 100: /proc times are in 10 ms ticks
/**
 * CPU time (user + system, ms) of all descendants of a process, from /proc: for this process, Chromium's browser,
 * renderer, GPU and utility processes, including the WASM worker threads. Core-milliseconds are less sensitive than wall
 * time to other work on the machine.
 */
function treeCpuMs(rootPid) {
  const stats = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
      stats.push({
        pid: Number(entry),
        ppid: Number(fields[1]),
        ticks: Number(fields[11]) + Number(fields[12]),
      });
    } catch {
      // the process ended while we read
    }
  }
  const inTree = new Set([rootPid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of stats)
      if (!inTree.has(s.pid) && inTree.has(s.ppid)) {
        inTree.add(s.pid);
        grew = true;
      }
  }
  // The root itself (this Node process, idle while the page works) is left out.
  return stats
    .filter((s) => s.pid !== rootPid && inTree.has(s.pid))
    .reduce((sum, s) => sum + s.ticks * TICK_MS, 0);
}

/** Test files reach the page through Playwright's request interception (in the browser, no network). */
async function routeFiles(page) {
  await page.route('**/__bench/file?*', (route) =>
    route.fulfill({ status: 200, body: readFileSync(new URL(route.request().url()).searchParams.get('p')) }),
  );
}

const browser = await chromium.launch({ executablePath: chromiumPath(), args: [...CHROMIUM_ARGS] });

const servers = {
  int8: await startServer({ port: 0, model: models.int8 }),
  float: await startServer({ port: 0, model: models.float }),
};

console.log(
  `machine: ${os.cpus()[0]?.model} × ${os.availableParallelism()}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; Node ${process.version}; Chromium ${browser.version()} (headless, --disable-gpu)`,
);

// ---- 1 + 2: page weight and cold load --------------------------------------------------------------------------
for (const [modelName, server] of Object.entries(servers)) {
  const toReady = [];
  const toAnswer = [];
  let weight;
  for (let run = 0; run < coldRuns; run++) {
    const context = await browser.newContext(); // empty cache
    const page = await context.newPage();
    await routeFiles(page);
    const transferred = [];
    page.on('requestfinished', async (req) => {
      const url = new URL(req.url());
      if (url.pathname.startsWith('/__bench/')) return;
      const sizes = await req.sizes();
      transferred.push({
        path: url.pathname,
        body: sizes.responseBodySize,
        headers: sizes.responseHeadersSize,
      });
    });
    const t0 = Date.now();
    await page.goto(`${server.url}/`);
    await page.evaluate(() => globalThis.mtailor.ready);
    const t1 = Date.now();
    const answer = await page.evaluate(async (p) => {
      const bytes = await (await fetch(`/__bench/file?p=${encodeURIComponent(p)}`)).arrayBuffer();
      return (await globalThis.mtailor.classify(bytes, 1))[0];
    }, tench);
    const t2 = Date.now();
    if (answer.index !== 0) throw new Error(`cold load answered ${JSON.stringify(answer)} for the tench`);
    toReady.push(t1 - t0);
    toAnswer.push(t2 - t0);
    await new Promise((r) => setTimeout(r, 200)); // let the last requestfinished events arrive
    weight ??= transferred;
    await context.close();
  }
  console.log(
    `\ncold load, ${modelName} model (${coldRuns} fresh contexts): navigation → ready ${spread(toReady, 0)} ms; ` +
      `→ first answer (tench) ${spread(toAnswer, 0)} ms`,
  );
  const kinds = new Map();
  for (const r of weight) {
    const kind =
      r.path === '/model.onnx'
        ? 'model'
        : r.path === '/labels.json'
          ? 'labels'
          : r.path.endsWith('.wasm')
            ? 'WASM'
            : /\.m?js$/.test(r.path)
              ? 'JS'
              : 'HTML/CSS';
    const k = kinds.get(kind) ?? { files: 0, bytes: 0, gzip: 0, list: [] };
    k.files++;
    k.bytes += r.body;
    if (r.path === '/labels.json')
      k.gzip += gzipSync(JSON.stringify((await import('@mtailor/core')).IMAGENET1K_LABELS), {
        level: 9,
      }).length;
    else if (r.path === '/model.onnx')
      k.gzip += gzipSync(readFileSync(models[modelName]), { level: 9 }).length;
    else {
      const res = await fetch(`${server.url}${r.path}`);
      k.gzip += gzipSync(Buffer.from(await res.arrayBuffer()), { level: 9 }).length;
    }
    k.list.push(`${r.path} ${kb(r.body)}`);
    kinds.set(kind, k);
  }
  if (modelName === 'int8') {
    console.log(
      'page weight of a cold load (bodies as served, uncompressed on loopback; gzip -9 of the same files):',
    );
    let total = 0;
    let totalGz = 0;
    for (const [kind, k] of kinds) {
      total += k.bytes;
      totalGz += k.gzip;
      console.log(
        `  ${kind.padEnd(8)} ${String(k.files).padStart(2)} files ${mb(k.bytes).padStart(10)}  gzip ${mb(k.gzip).padStart(10)}`,
      );
      if (kind === 'JS' || kind === 'WASM') for (const l of k.list) console.log(`      ${l}`);
    }
    console.log(
      `  total    ${String(weight.length).padStart(2)} files ${mb(total).padStart(10)}  gzip ${mb(totalGz).padStart(10)}`,
    );
  }
}

// ---- 3: throughput in one tab -------------------------------------------------------------------------------
async function browserThroughput(modelName, threads) {
  const page = await browser.newPage();
  await routeFiles(page);
  await page.goto(`${servers[modelName].url}/?threads=${threads}`);
  await page.evaluate(() => globalThis.mtailor.ready);
  const engine = await page.evaluate(async (paths) => {
    const bytes = await Promise.all(
      paths.map(
        async (p) =>
          new Uint8Array(await (await fetch(`/__bench/file?p=${encodeURIComponent(p)}`)).arrayBuffer()),
      ),
    );
    const load = new Function('u', 'return import(u)');
    const classifier = await (await load('/app/main.js')).classifier;
    for (const b of bytes.slice(0, 10)) await classifier.classify(b, 5); // warm-up (WASM tier-up)
    globalThis.benchPass = async () => {
      const stage = { decode: 0, preprocess: 0, inference: 0 };
      const t = performance.now();
      for (const b of bytes) {
        const r = await classifier.classifyDetailed(b, 5);
        stage.decode += r.timings.decodeMs;
        stage.preprocess += r.timings.preprocessMs;
        stage.inference += r.timings.inferenceMs;
      }
      const ms = performance.now() - t;
      return {
        ips: (bytes.length / ms) * 1000,
        decode: stage.decode / bytes.length,
        preprocess: stage.preprocess / bytes.length,
        inference: stage.inference / bytes.length,
      };
    };
    return classifier.engine;
  }, files);
  const out = [];
  for (let p = 0; p < repeats; p++) {
    const cpu0 = treeCpuMs(process.pid);
    const r = await page.evaluate(() => globalThis.benchPass());
    r.cpu = (treeCpuMs(process.pid) - cpu0) / files.length;
    out.push(r);
  }
  await page.close();
  return { engine, out };
}

async function nodeThroughput(modelName, intraOpThreads) {
  const classifier = await ImageClassifier.create({
    model: models[modelName],
    intraOpThreads,
    autoOrient: false,
  });
  const bytes = files.map((f) => readFileSync(f));
  for (const b of bytes.slice(0, 10)) await classifier.classify(b, { topK: 5 });
  const out = [];
  for (let p = 0; p < repeats; p++) {
    const stage = { decode: 0, preprocess: 0, inference: 0 };
    const t = performance.now();
    const cpu0 = process.cpuUsage();
    for (const b of bytes) {
      const r = await classifier.classify(b, { topK: 5 });
      stage.decode += r.timings.decodeMs;
      stage.preprocess += r.timings.preprocessMs;
      stage.inference += r.timings.inferenceMs;
    }
    const ms = performance.now() - t;
    const cpu = process.cpuUsage(cpu0);
    out.push({
      ips: (bytes.length / ms) * 1000,
      cpu: (cpu.user + cpu.system) / 1000 / bytes.length,
      decode: stage.decode / bytes.length,
      preprocess: stage.preprocess / bytes.length,
      inference: stage.inference / bytes.length,
    });
  }
  await classifier.close();
  return out;
}

console.log(
  `\nthroughput, one image at a time over the ${files.length} shared images (${repeats} passes; img/s and ms/img median [min–max]):`,
);
console.log(
  '  where    model  threads  img/s               CPU ms/img           decode ms      preprocess ms  inference ms',
);
const row = (where, model, threads, out) =>
  console.log(
    `  ${where.padEnd(8)} ${model.padEnd(6)} ${String(threads).padStart(7)}  ${spread(
      out.map((o) => o.ips),
    ).padEnd(18)}  ${spread(out.map((o) => o.cpu)).padEnd(19)}  ${spread(
      out.map((o) => o.decode),
      2,
    ).padEnd(13)}  ${spread(
      out.map((o) => o.preprocess),
      2,
    ).padEnd(13)}  ${spread(
      out.map((o) => o.inference),
      2,
    )}`,
  );
let engine;
for (const model of ['int8', 'float'])
  for (const threads of [1, 2]) {
    const r = await browserThroughput(model, threads);
    engine ??= r.engine;
    row('browser', model, threads, r.out);
  }
await browser.close();
await Promise.all(Object.values(servers).map((s) => s.close()));
for (const model of ['int8', 'float'])
  for (const threads of [1, 2]) row('Node', model, threads, await nodeThroughput(model, threads));
console.log(`\nbrowser engine: ${engine.replace(/\d thread(s)?/, 'N threads')}`);
console.log(
  `load average at the end: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
