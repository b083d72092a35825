#!/usr/bin/env node
/**
 * Slow bodies must not starve a normal request (issue 12): the server as its own process (`mtailor-server`, the
 * image's GLIBC_TUNABLES, a token), 300 authorised POST /predict declaring `Content-Length: 200000` and trickling one
 * byte every 500 ms, and from the same moment 200 normal predictions (tench, base64 JSON), one every 30 ms (open
 * loop, 6 s: the first seconds of a flood are when slow bodies crowded the intake queue).
 * Prints the normal predictions' first, p50, p99 and max latency, the server's intake and RSS during the flood. 3 runs
 * (a new server each). Loopback only.
 *
 * Usage (after `pnpm build`): node bench/slow-body-flood.bench.mjs   (BENCH_RUNS, BENCH_FLOOD, MTAILOR_* pass through)
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchModel, imageGlibcTunables, tenchPath } from '../../../bench/support/bench-env.mjs';
import { get, startServerProcess } from './support/sigterm-scenario.mjs';
import { normalPredictions, percentile, startSlowFlood } from './support/slow-flood.mjs';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const model = benchModel;
const image = readFileSync(tenchPath);
const glibc = imageGlibcTunables;
const runs = Number(process.env.BENCH_RUNS ?? 3);
const floodSize = Number(process.env.BENCH_FLOOD ?? 300);
const token = 'bench-token-0123456789abcdef-0123';
const body = Buffer.from(JSON.stringify({ image_base64: image.toString('base64') }));
const passThrough = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MTAILOR_')));

console.log(
  `# normal /predict latency during a flood of ${floodSize} slow bodies (200000 bytes declared, 1 byte / 500 ms)`,
);
console.log(
  `machine: ${os.cpus()[0]?.model} · ${os.availableParallelism()} CPUs · Node ${process.versions.node} · load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const rssOf = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  } catch {
    return Number.NaN;
  }
};
let failed = 0;
for (let run = 1; run <= runs; run++) {
  const server = await startServerProcess(pkgDir, {
    ...passThrough,
    MTAILOR_MODEL: model,
    MTAILOR_API_KEY: token,
    LOG_LEVEL: 'error',
    ...(glibc ? { GLIBC_TUNABLES: glibc } : {}),
  });
  // Baseline: the same requests without the flood.
  const quiet = await normalPredictions({ port: server.port, token, body, count: 30, intervalMs: 30 });
  const rssBefore = rssOf(server.child.pid);
  const flood = startSlowFlood({ port: server.port, token, count: floodSize });
  const results = await normalPredictions({ port: server.port, token, body, count: 200, intervalMs: 30 });
  const health = JSON.parse((await get(server.port, '/health', { authorization: `Bearer ${token}` })).body);
  const rssDuring = rssOf(server.child.pid);
  flood.stop();
  server.child.kill('SIGTERM');
  await server.exited;
  const ms = results.map((r) => r.ms);
  const bad = results.filter((r) => r.status !== 200 || r.classId !== 0).length;
  failed += bad;
  console.log(
    `run ${run}: quiet p50 ${percentile(
      quiet.map((r) => r.ms),
      50,
    ).toFixed(
      1,
    )} ms · during the flood (${flood.stats.opened} opened, ${flood.stats.closedByServer} closed by the server): ` +
      `first ${ms[0].toFixed(1)} ms, p50 ${percentile(ms, 50).toFixed(1)}, p99 ${percentile(ms, 99).toFixed(1)}, max ${Math.max(...ms).toFixed(1)} ms; ` +
      `${results.length - bad}/${results.length} ok; intake ${JSON.stringify(health.intake)}; RSS ${rssBefore.toFixed(0)} → ${rssDuring.toFixed(0)} MiB`,
  );
}
if (failed > 0) process.exitCode = 1;
