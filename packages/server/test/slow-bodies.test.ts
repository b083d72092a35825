/**
 * Slow bodies must not starve a normal request (issue 12, item 2): the server as its own process, 300 authorised
 * uploads declaring `Content-Length: 200000` and trickling one byte every 500 ms, and from the same moment normal
 * predictions one every 30 ms. Before, the trickling requests took the intake's 16 slots in turn for 250 ms each and
 * normal requests waited behind them: 4.5 s for those sent in the first seconds (p99 ≈ 4.5 s,
 * `bench/slow-body-flood.bench.mjs`). The bound asserted here is generous — a starvation bound, not a speed
 * figure (the bench measures the latencies): p99 < 1 s.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { images, shared, TOKEN } from '../../../test/support/server.js';
import { get, startServerProcess } from '../bench/support/sigterm-scenario.mjs';
import { normalPredictions, percentile, startSlowFlood } from '../bench/support/slow-flood.mjs';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const glibc = /GLIBC_TUNABLES=(\S+)/.exec(
  readFileSync(path.join(pkgDir, '../../examples/cerebrium/Dockerfile'), 'utf8'),
)?.[1];

it('300 trickling uploads: normal predictions sent alongside are answered promptly, the uploads still arriving', async () => {
  const server = await startServerProcess(pkgDir, {
    MTAILOR_MODEL: shared.int8Model,
    MTAILOR_API_KEY: TOKEN,
    MTAILOR_PREPROCESS_WORKERS: '2',
    LOG_LEVEL: 'warn',
    ...(glibc ? { GLIBC_TUNABLES: glibc } : {}),
  });
  const flood = startSlowFlood({ port: server.port, token: TOKEN, count: 300 });
  try {
    const body = Buffer.from(JSON.stringify({ image_base64: images.tench.toString('base64') }));
    const results = await normalPredictions({
      port: server.port,
      token: TOKEN,
      body,
      count: 100,
      intervalMs: 30,
    });
    const ms = results.map((r) => r.ms);
    console.log(
      `normal predictions during the flood: first ${ms[0]?.toFixed(1)} ms, p50 ${percentile(ms, 50).toFixed(1)}, p99 ${percentile(ms, 99).toFixed(1)}, max ${Math.max(...ms).toFixed(1)} ms`,
    );
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.classId).toBe(0);
    }
    expect(percentile(ms, 99)).toBeLessThan(1000);
    // The uploads were all taken in and are still arriving (none refused, none answered), holding only their bytes.
    const health = JSON.parse((await get(server.port, '/health', { authorization: `Bearer ${TOKEN}` })).body);
    expect(flood.stats.opened).toBe(300);
    expect(flood.stats.replies).toEqual({});
    expect(health.intake).toMatchObject({ reading: 300, active: 0, waiting: 0 });
    expect(health.intake.buffered_bytes).toBeLessThan(300 * 100);
    expect((await get(server.port, '/ready')).status).toBe(200);
  } finally {
    flood.stop();
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  }
});
