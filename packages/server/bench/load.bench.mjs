#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { benchModel, imageGlibcTunables, tenchPath } from '../../../bench/support/bench-env.mjs';
import { startServerProcess } from './support/sigterm-scenario.mjs';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const model = benchModel;
const imagePath = tenchPath;
const concurrencies = (process.env.BENCH_CONCURRENCY ?? '1,8,32').split(',').map(Number);
const perRun = Number(process.env.BENCH_REQUESTS ?? 300);
const perRunSeconds = Number(process.env.BENCH_SECONDS ?? 15);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const format = process.env.BENCH_FORMAT === 'raw' ? 'raw' : 'base64';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

async function batchStats(url) {
  const headers = process.env.MTAILOR_API_KEY
    ? { authorization: `Bearer ${process.env.MTAILOR_API_KEY}` }
    : {};
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  const num = (re) => Number(re.exec(text)?.[1] ?? Number.NaN);
  return { count: num(/mtailor_batch_size_count (\d+)/), sum: num(/mtailor_batch_size_sum (\d+)/) };
}

/** One closed-loop run: `concurrency` workers each send their next request when the previous one answers. */
async function run(pool, body, concurrency, count, seconds) {
  const latencies = [];
  const stages = { decode: [], preprocess: [], queue: [], inference: [], total: [] };
  let sent = 0;
  let failed = 0;
  const stopAt = performance.now() + seconds * 1000;
  const headers = { 'content-type': format === 'raw' ? 'image/jpeg' : 'application/json' };
  if (process.env.MTAILOR_API_KEY) headers.authorization = `Bearer ${process.env.MTAILOR_API_KEY}`;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < count && performance.now() < stopAt) {
        sent += 1;
        const start = performance.now();
        const res = await pool.request({ method: 'POST', path: '/predict', headers, body });
        const reply = await res.body.json();
        if (res.statusCode !== 200 || reply.prediction?.class_id !== 0) failed += 1;
        else {
          latencies.push(performance.now() - start);
          for (const k of Object.keys(stages)) stages[k].push(reply.timings_ms[k]);
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    done: latencies.length,
    failed,
    rps: latencies.length / elapsed,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, median(v)])),
  };
}

const cpus = os.cpus();
console.log('# @mtailor server load bench (loopback)');
console.log(
  `machine: ${cpus[0]?.model ?? 'unknown CPU'} · ${os.availableParallelism()} CPUs available · ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB · ` +
    `Node ${process.versions.node} · load avg ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);
console.log(`model: ${model}`);
console.log(`server env: GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES ?? imageGlibcTunables ?? '(unset)'}`);
console.log(
  `image: ${path.basename(imagePath)} as ${format === 'raw' ? 'raw image/jpeg bytes' : 'base64 JSON'} · ${perRun} requests or ${perRunSeconds} s per run · ${repeats} repeats`,
);

const imageBytes = readFileSync(imagePath);
// Encoded once: a string body would be re-encoded to bytes by undici on every request (load-generator CPU taken
// from the server on the same cores).
const body =
  format === 'raw'
    ? imageBytes
    : Buffer.from(JSON.stringify({ image_base64: imageBytes.toString('base64') }));
const { child, url } = await startServerProcess(pkgDir, {
  ...(imageGlibcTunables ? { GLIBC_TUNABLES: imageGlibcTunables } : {}),
  ...process.env,
  MTAILOR_MODEL: model,
  LOG_LEVEL: 'warn',
});
const rows = [];
try {
  for (const concurrency of concurrencies) {
    const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
    await run(pool, body, concurrency, Math.max(20, concurrency * 4), 10); // warm-up
    const before = await batchStats(url);
    const runs = [];
    for (let r = 0; r < repeats; r++) runs.push(await run(pool, body, concurrency, perRun, perRunSeconds));
    const after = await batchStats(url);
    await pool.close();
    const meanBatch = (after.sum - before.sum) / (after.count - before.count);
    const row = {
      concurrency,
      rps: median(runs.map((x) => x.rps)),
      rpsMin: Math.min(...runs.map((x) => x.rps)),
      rpsMax: Math.max(...runs.map((x) => x.rps)),
      p50: median(runs.map((x) => x.p50)),
      p99: median(runs.map((x) => x.p99)),
      p99Min: Math.min(...runs.map((x) => x.p99)),
      p99Max: Math.max(...runs.map((x) => x.p99)),
      requests: runs.reduce((a, x) => a + x.done, 0),
      failed: runs.reduce((a, x) => a + x.failed, 0),
      meanBatch,
      stages: runs[0].stages,
    };
    rows.push(row);
    console.log(
      `c=${String(concurrency).padStart(2)}  ${row.rps.toFixed(1).padStart(6)} req/s (${row.rpsMin.toFixed(1)}–${row.rpsMax.toFixed(1)})` +
        `  p50 ${row.p50.toFixed(1).padStart(6)} ms  p99 ${row.p99.toFixed(1).padStart(6)} ms (${row.p99Min.toFixed(1)}–${row.p99Max.toFixed(1)})` +
        `  mean batch ${meanBatch.toFixed(2)}  ${row.requests} ok / ${row.failed} failed`,
    );
    const st = row.stages;
    console.log(
      `      server-side medians: decode ${st.decode.toFixed(1)}  preprocess ${st.preprocess.toFixed(1)}  ` +
        `queue ${st.queue.toFixed(1)}  inference ${st.inference.toFixed(1)}  total ${st.total.toFixed(1)} ms`,
    );
  }
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}
const c8 = rows.find((r) => r.concurrency === 8);
if (c8) {
  console.log(
    `target p99 < 100 ms at c=8: ${c8.p99 < 100 ? 'met' : 'NOT met'} (p99 ${c8.p99.toFixed(1)} ms)`,
  );
}
if (rows.some((r) => r.failed > 0)) process.exitCode = 1;
