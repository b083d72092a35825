#!/usr/bin/env node
/**
 * /health latency while the server absorbs bursts of 200 concurrent /predict requests (tench as base64 JSON).
 * The server runs as its own process (`mtailor-server`, what the image runs, with the image's GLIBC_TUNABLES),
 * the health poller as a third process polling every 10 ms, so neither shares an event loop with the load. Loopback
 * only; bounded: 3 bursts of 200 requests, 2.5 s of polling each.
 *
 * Usage (after `pnpm build`): node bench/health-burst.bench.mjs   (MTAILOR_SHARED_DIR / MTAILOR_MODEL as the other benches)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchModel, imageGlibcTunables, tenchPath } from '../../../bench/support/bench-env.mjs';
import { startServerProcess } from './support/sigterm-scenario.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgRoot = path.resolve(here, '..');
const model = benchModel;
const image = tenchPath;
const glibc = imageGlibcTunables;

// The poller, as a separate process so the load generator's event loop does not delay it.
const pollerSource = `
const [url, ms] = [process.argv[1], Number(process.argv[2])];
// Untimed first request: a new process's first fetch() loads undici (≈ 90 ms here), a cost of the client.
await (await fetch(url)).arrayBuffer();
const lat = []; const end = Date.now() + ms;
while (Date.now() < end) {
  const t = performance.now(); const r = await fetch(url); await r.arrayBuffer(); lat.push(performance.now() - t);
  await new Promise((r) => setTimeout(r, 10));
}
lat.sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);
console.log(\`  /health: \${lat.length} polls, p50 \${q(0.5)} ms, p99 \${q(0.99)} ms, max \${lat.at(-1).toFixed(1)} ms\`);
`;

const { child: server, url: base } = await startServerProcess(pkgRoot, {
  ...process.env,
  MTAILOR_MODEL: model,
  LOG_LEVEL: 'error',
  ...(glibc ? { GLIBC_TUNABLES: glibc } : {}),
});
console.log(`# /health during bursts of 200 concurrent /predict (base64 tench)`);
console.log(
  `machine: ${os.cpus()[0]?.model} · ${os.availableParallelism()} CPUs · Node ${process.versions.node} · load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const body = Buffer.from(JSON.stringify({ image_base64: readFileSync(image).toString('base64') }));
try {
  for (let round = 0; round < 3; round++) {
    const poller = spawn(
      process.execPath,
      ['--input-type=module', '-e', pollerSource, `${base}/health`, '2500'],
      {
        stdio: 'inherit',
      },
    );
    // Listen before the burst: the poller may finish first.
    const pollerDone = new Promise((r) => poller.on('exit', r));
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    const classes = await Promise.all(
      Array.from({ length: 200 }, () =>
        fetch(`${base}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        }).then(async (r) => (await r.json()).prediction?.class_id),
      ),
    );
    console.log(
      `burst ${round + 1}: 200 requests in ${(performance.now() - t0).toFixed(0)} ms, ${classes.filter((c) => c === 0).length} of 200 → tench (0)`,
    );
    await pollerDone;
  }
} finally {
  server.kill('SIGTERM');
}
