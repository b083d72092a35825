#!/usr/bin/env node
/**
 * SIGTERM under load (issue 12): the server as its own process (`mtailor-server`), 300 POST /predict (raw tench
 * JPEG) at concurrency 32, each on a new connection, SIGTERM to the process after 100 answers; 3 runs. Prints, per
 * run, what the requests sent before the signal got (every one should be 200), what those sent after got (200
 * while the server still accepts, then ECONNREFUSED), connection resets, the exit code and how long the drain
 * took. Loopback only.
 *
 * Usage (after `pnpm build`): node bench/sigterm.bench.mjs
 * Env: BENCH_RUNS (3), MTAILOR_SHUTDOWN_DELAY_MS (passed to the server; default 0), MTAILOR_SHARED_DIR, MTAILOR_MODEL.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchModel, imageGlibcTunables, tenchPath } from '../../../bench/support/bench-env.mjs';
import { sigtermUnderLoad, startServerProcess } from './support/sigterm-scenario.mjs';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const model = benchModel;
const image = readFileSync(tenchPath);
const glibc = imageGlibcTunables;
const runs = Number(process.env.BENCH_RUNS ?? 3);

console.log('# SIGTERM after 100 of 300 requests at c = 32, a new connection each');
console.log(
  `machine: ${os.cpus()[0]?.model} · ${os.availableParallelism()} CPUs · Node ${process.versions.node} · load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} · MTAILOR_SHUTDOWN_DELAY_MS=${process.env.MTAILOR_SHUTDOWN_DELAY_MS ?? '(default)'}`,
);
let lost = 0;
for (let run = 1; run <= runs; run++) {
  const server = await startServerProcess(pkgDir, {
    MTAILOR_MODEL: model,
    LOG_LEVEL: 'warn',
    ...(glibc ? { GLIBC_TUNABLES: glibc } : {}),
    ...(process.env.MTAILOR_SHUTDOWN_DELAY_MS
      ? { MTAILOR_SHUTDOWN_DELAY_MS: process.env.MTAILOR_SHUTDOWN_DELAY_MS }
      : {}),
  });
  const { summary: s } = await sigtermUnderLoad({ server, image, expectedClass: 0 });
  const notOk = s.sentBeforeSigterm - (s.beforeSigterm['200'] ?? 0);
  lost += notOk;
  console.log(
    `run ${run}: sent before SIGTERM ${s.sentBeforeSigterm} (in flight ${s.inFlightAtSigterm}, of which 200: ${s.inFlightAnswered200}) → ${JSON.stringify(s.beforeSigterm)}; ` +
      `sent after → ${JSON.stringify(s.afterSigterm)}; resets ${s.resets}; exit ${s.exitCode} ${s.exitMsAfterSigterm} ms after SIGTERM`,
  );
}
console.log(
  lost === 0 ? 'every request sent before SIGTERM answered 200' : `${lost} requests sent before SIGTERM lost`,
);
if (lost > 0) process.exitCode = 1;
