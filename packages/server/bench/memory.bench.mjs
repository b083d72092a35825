#!/usr/bin/env node
/**
 * Memory of the server process (RSS of the main process: every thread — decode workers, the inference worker,
 * onnxruntime's and libuv's pools — shares its address space) per model and decode-worker count, as deployed
 * (`mtailor-server`, the image's GLIBC_TUNABLES):
 *
 * - idle: after the model loaded and its self-test ran, 3 s without traffic;
 * - under load: after 1 000 and after 10 000 requests at concurrency 16 (the 104 shared images in turn, base64 JSON:
 *   real sizes from 3 KB to 440 KB, so the allocators see varied buffers);
 * - worst case: then every tensor slot of the engine decoding an image at the default pixel limit: 16 concurrent OIP
 *   requests (`MTAILOR_MAX_ACTIVE`) of 2 images each, a 7400 × 5400 JPEG (40 MP, `MTAILOR_MAX_PIXELS`), 3 rounds —
 *   the engine takes 2 × batch + 2 × max(workers, 2) images at once (20 with 2 workers), and each holds its decoded
 *   pixels until its decode worker resizes it;
 * - peak: the process's high-water mark (VmHWM) over all of the above, startup included.
 *
 * Loopback only. Takes ≈ 12 min (6 servers × 11 000 requests, then the worst case).
 * Usage (after `pnpm build`): node bench/memory.bench.mjs
 * Env: BENCH_WORKERS ("1,2,4"), BENCH_MODELS ("int8,float"), BENCH_REQUESTS (10000), MTAILOR_SHARED_DIR.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { imageGlibcTunables, sharedImagesDir, sharedModel } from '../../../bench/support/bench-env.mjs';
import { startServerProcess } from './support/sigterm-scenario.mjs';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const models = {
  int8: sharedModel('mobilenet_v2_int8_qdq.onnx'),
  float: sharedModel('mobilenet_v2_float.onnx'),
};
const glibc = imageGlibcTunables;
const workerCounts = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
const modelNames = (process.env.BENCH_MODELS ?? 'int8,float').split(',');
const total = Number(process.env.BENCH_REQUESTS ?? 10_000);
const concurrency = 16;

const imageDir = sharedImagesDir;
const bodies = readdirSync(imageDir)
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort()
  .map((f) =>
    Buffer.from(JSON.stringify({ image_base64: readFileSync(path.join(imageDir, f)).toString('base64') })),
  );

// A 7400 × 5400 JPEG (39.96 MP, just under the 40 MP default limit) made by Debian's Pillow: smooth waves (1 MB,
// under the 10 MiB image limit); the decode allocates the full 40 MP whatever the content.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mtailor-mem-'));
const bigPath = path.join(tmp, 'big.jpg');
execFileSync(process.env.MTAILOR_PYTHON ?? '/usr/bin/python3', [
  '-c',
  'import sys, numpy as np; from PIL import Image; y, x = np.mgrid[0:5400, 0:7400] / 7400.0; ' +
    'rgb = np.stack([x, y, 0.5 + 0.5 * np.sin(40 * x) * np.cos(30 * y)], -1); ' +
    'Image.fromarray((rgb * 255).astype(np.uint8)).save(sys.argv[1], quality=85)',
  bigPath,
]);
const big = readFileSync(bigPath);
rmSync(tmp, { recursive: true });
const worstBody = JSON.stringify({
  inputs: [
    { name: 'images', datatype: 'BYTES', shape: [2], data: [big.toString('base64'), big.toString('base64')] },
  ],
  outputs: [{ name: 'logits', parameters: { classification: 1 } }],
});

const mib = (kb) => kb / 1024;
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rss: mib(kb('VmRSS')), hwm: mib(kb('VmHWM')), threads: kb('Threads') };
}

async function load(pool, from, to) {
  let next = from;
  let failed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < to) {
        const i = next++;
        const res = await pool.request({
          method: 'POST',
          path: '/predict',
          headers: { 'content-type': 'application/json' },
          body: bodies[i % bodies.length],
        });
        await res.body.arrayBuffer();
        if (res.statusCode !== 200) failed += 1;
      }
    }),
  );
  return failed;
}

console.log('# server RSS (MiB) per model and decode-worker count');
console.log(
  `machine: ${os.cpus()[0]?.model} · ${os.availableParallelism()} CPUs · ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB · Node ${process.versions.node} · load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(
  `requests: the ${bodies.length} shared images in turn as base64 JSON, c = ${concurrency}; worst case: 16 × 2 × 40 MP JPEG (${(big.length / 2 ** 20).toFixed(1)} MiB)`,
);
console.log(
  '| model | workers | threads | idle | after 1k | after 10k | worst case | peak (VmHWM) | req/s | failed |',
);
console.log(
  '| ----- | ------- | ------- | ---- | -------- | --------- | ------------ | ------------ | ----- | ------ |',
);
let anyFailed = 0;
for (const name of modelNames) {
  for (const workers of workerCounts) {
    const server = await startServerProcess(pkgDir, {
      MTAILOR_MODEL: models[name],
      MTAILOR_PREPROCESS_WORKERS: String(workers),
      LOG_LEVEL: 'error',
      ...(glibc ? { GLIBC_TUNABLES: glibc } : {}),
    });
    const pid = server.child.pid;
    const pool = new Pool(server.url, { connections: concurrency });
    try {
      await new Promise((r) => setTimeout(r, 3000));
      const idle = memoryOf(pid);
      const t0 = performance.now();
      let failed = await load(pool, 0, 1000);
      const after1k = memoryOf(pid);
      failed += await load(pool, 1000, total);
      const rps = total / ((performance.now() - t0) / 1000);
      const after10k = memoryOf(pid);
      let bigPeak = 0;
      for (let round = 0; round < 3; round++) {
        const sampler = setInterval(() => {
          bigPeak = Math.max(bigPeak, memoryOf(pid).rss);
        }, 20);
        const replies = await Promise.all(
          Array.from({ length: 16 }, () =>
            pool
              .request({
                method: 'POST',
                path: `/v2/models/${path.basename(models[name], '.onnx')}/infer`,
                headers: { 'content-type': 'application/json' },
                body: worstBody,
              })
              .then(
                async (r) => {
                  await r.body.arrayBuffer();
                  return r.statusCode;
                },
                () => 0,
              ),
          ),
        );
        clearInterval(sampler);
        failed += replies.filter((s) => s !== 200).length;
      }
      const end = memoryOf(pid);
      anyFailed += failed;
      console.log(
        `| ${name} | ${workers} | ${idle.threads} | ${idle.rss.toFixed(0)} | ${after1k.rss.toFixed(0)} | ${after10k.rss.toFixed(0)} | ${bigPeak.toFixed(0)} | ${end.hwm.toFixed(0)} | ${rps.toFixed(0)} | ${failed} |`,
      );
    } finally {
      await pool.close();
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }
}
if (anyFailed > 0) process.exitCode = 1;
