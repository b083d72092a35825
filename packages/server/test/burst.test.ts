/**
 * 200 concurrent requests: every reply correct and matched to its own request, batching visible in /metrics, and
 * /health answering during the burst (inference runs in worker threads, off the event loop; requests beyond
 * MTAILOR_MAX_ACTIVE wait for a work slot, their bodies read).
 */

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  freePort,
  images,
  postJson,
  type ServerProcess,
  shared,
  spawnServer,
  TOKEN,
} from '../../../test/support/server.js';

// The server runs as its own process, as deployed, so its event loop is not shared with this test's client.
let server: ServerProcess;
beforeAll(async () => {
  const port = await freePort();
  const cwd = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  server = await spawnServer(
    process.execPath,
    ['bin/mtailor-server.js'],
    cwd,
    {
      HOST: '127.0.0.1',
      PORT: String(port),
      MTAILOR_MODEL: shared.int8Model,
      MTAILOR_API_KEY: TOKEN,
      MTAILOR_MAX_BATCH_SIZE: '8',
      MTAILOR_MAX_DELAY_MS: '5',
      LOG_LEVEL: 'warn',
    },
    port,
  );
});
afterAll(async () => {
  await server?.stop();
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

it('200 concurrent requests: all correct, each matched to its own request; batching visible; /health stays live', async () => {
  const bodies = {
    tench: JSON.stringify({ image_base64: images.tench.toString('base64'), top_k: 1 }),
    turtle: JSON.stringify({ image_base64: images.mudTurtle.toString('base64'), top_k: 1 }),
  };
  // /health is polled from a worker thread: its own event loop, so sending 200 big bodies from this thread does
  // not delay the poller and the numbers are the server's.
  const poller = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { performance } = require('node:perf_hooks');
     let done = false;
     parentPort.on('message', () => { done = true; });
     (async () => {
       const samples = [];
       while (!done) {
         const t0 = performance.now();
         const res = await fetch(workerData.url + '/health', { headers: { authorization: 'Bearer ' + workerData.token } });
         const body = await res.json();
         samples.push({ ms: performance.now() - t0, status: res.status, waiting: body.intake.waiting });
         await new Promise((r) => setTimeout(r, 10));
       }
       parentPort.postMessage(samples);
     })();`,
    { eval: true, workerData: { url: server.url, token: TOKEN } },
  );
  const polled = new Promise<Array<{ ms: number; status: number; waiting: number }>>((resolve) =>
    poller.once('message', resolve),
  );

  const requests = Array.from({ length: 200 }, (_, i) => {
    const kind = i % 3 === 0 ? 'turtle' : 'tench';
    return postJson(`${server.url}/predict`, bodies[kind], { 'x-request-id': `burst-${i}-${kind}` }).then(
      (res) => ({ i, kind, res }),
    );
  });
  const results = await Promise.all(requests);
  poller.postMessage('stop');
  const samples = await polled;
  await poller.terminate();
  expect(samples.every((s) => s.status === 200)).toBe(true);
  // More requests than MTAILOR_MAX_ACTIVE (16) arrived at once: the rest waited for a work slot, bodies complete.
  const mostWaiting = Math.max(...samples.map((s) => s.waiting));
  expect(mostWaiting).toBeGreaterThan(0);
  const healthMs = samples.map((s) => s.ms);

  for (const { i, kind, res } of results) {
    expect(res.status).toBe(200);
    expect(res.body.run_id).toBe(`burst-${i}-${kind}`);
    expect(res.body.prediction.class_id).toBe(kind === 'turtle' ? 35 : 0);
  }

  const metrics = await (
    await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
  ).text();
  const count = Number(/mtailor_batch_size_count (\d+)/.exec(metrics)?.[1]);
  const sum = Number(/mtailor_batch_size_sum (\d+)/.exec(metrics)?.[1]);
  const singles = Number(/mtailor_batch_size_bucket\{le="1"\} (\d+)/.exec(metrics)?.[1]);
  // 200 requests + the startup self-test, in fewer onnxruntime runs than images: micro-batching happened.
  expect(sum).toBe(201);
  expect(count).toBeLessThan(sum);
  expect(singles).toBeLessThan(count);

  healthMs.sort((a, b) => a - b);
  console.log(
    `burst: ${results.length} requests in ${count} batches (mean ${(sum / count).toFixed(1)}); ` +
      `/health during the burst: n=${healthMs.length} p50=${percentile(healthMs, 50).toFixed(1)} ms ` +
      `p99=${percentile(healthMs, 99).toFixed(1)} ms max=${healthMs.at(-1)?.toFixed(1)} ms; ` +
      `at most ${mostWaiting} requests waiting for a work slot`,
  );
  expect(healthMs.length).toBeGreaterThan(0);
  // Liveness only: timings are not asserted (this process is also the load generator, and test machines are
  // shared); bench/health-burst.bench.mjs measures them with server, load and poller in separate processes.
  // It must never hang for the burst.
  expect(healthMs.at(-1)).toBeLessThan(15_000);
});
