/**
 * Shutting down without losing a request (issue 12, item 1):
 * - the process (`bin/mtailor-server.js`) under load — 300 requests at c = 32, a new connection each, SIGTERM after
 *   100 answers: `/ready` turns 503 at once while `/health` and predictions still answer; every request sent before
 *   the signal is answered 200 (before the fix: 28–30 of the ≈ 31 in flight, the rest reset or 503), none is reset;
 *   the process exits 0 after the drain delay;
 * - `app.close()` on the server itself: a connection accepted before the close whose request arrives after it
 *   began is served (Node's own close took it for idle and closed it), a connection that sends nothing is closed
 *   after the grace, an idle keep-alive connection at once.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { images, shared, startServer, TOKEN } from '../../../test/support/server.js';
import { get, sigtermUnderLoad, startServerProcess } from '../bench/support/sigterm-scenario.mjs';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dockerfile = readFileSync(path.join(pkgDir, '../../examples/cerebrium/Dockerfile'), 'utf8');
const glibc = /GLIBC_TUNABLES=(\S+)/.exec(dockerfile)?.[1];

describe('SIGTERM under load (the process)', () => {
  it('every request sent before SIGTERM is answered 200, none is reset; /ready is 503 at once; exit 0', async () => {
    const delayMs = 1000;
    const server = await startServerProcess(pkgDir, {
      MTAILOR_MODEL: shared.int8Model,
      MTAILOR_API_KEY: TOKEN,
      MTAILOR_PREPROCESS_WORKERS: '2',
      MTAILOR_SHUTDOWN_DELAY_MS: String(delayMs),
      LOG_LEVEL: 'warn',
      ...(glibc ? { GLIBC_TUNABLES: glibc } : {}),
    });
    const sigterm = { at: 0 };
    const run = await sigtermUnderLoad({
      server,
      image: images.tench,
      expectedClass: 0,
      token: TOKEN,
      // Right after the signal: poll /ready until it turns 503 (the signal takes a moment to arrive), then check
      // liveness still answers.
      onSigterm: async (port) => {
        sigterm.at = performance.now();
        for (let i = 0; i < 200; i++) {
          const ready = await get(port, '/ready');
          if (ready.status !== 200) {
            const health = await get(port, '/health');
            return { ready, health, ms: performance.now() - sigterm.at };
          }
          await new Promise((r) => setTimeout(r, 5));
        }
        return undefined;
      },
    });
    const { summary, results, probe } = run;
    console.log(`SIGTERM under load: ${JSON.stringify(summary)}`);
    const before = results.filter((r) => r.beforeSigterm);
    expect(before.length).toBeGreaterThanOrEqual(100);
    expect(summary.inFlightAtSigterm).toBeGreaterThan(0);
    for (const r of before) {
      expect(r.status, JSON.stringify(r)).toBe(200);
      expect(r.classId).toBe(0);
    }
    // After the signal: served while the delay lasts, then refused (not accepted) — never reset mid-request.
    for (const r of results.filter((x) => !x.beforeSigterm)) {
      if (r.status === undefined) expect(r.error, JSON.stringify(r)).toBe('ECONNREFUSED');
      else expect(r.status, JSON.stringify(r)).toBe(200);
    }
    expect(summary.resets).toBe(0);
    // Replies after the signal close their connection.
    const lateOk = results.filter((r) => !r.beforeSigterm && r.status === 200);
    for (const r of lateOk) expect(r.connection).toBe('close');

    expect(probe).toBeDefined();
    expect(probe?.ms).toBeLessThan(delayMs);
    expect(probe?.ready.status).toBe(503);
    // Public probe of a server with a token: the status only.
    expect(JSON.parse(probe?.ready.body ?? '{}')).toEqual({
      status: 'shutting_down',
      error: {
        code: 'SHUTTING_DOWN',
        message: 'the server is shutting down: requests are still served until it closes',
      },
    });
    expect(probe?.health.status).toBe(200);
    expect(summary.exitCode).toBe(0);
    expect(summary.exitMsAfterSigterm).toBeGreaterThanOrEqual(delayMs);
  });
});

/** Connects a raw socket and resolves once it is connected. */
function connect(url: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sends on `socket` until it closes it, and how it closed (`reset` for ECONNRESET). */
function received(socket: net.Socket): Promise<{ text: string; reset: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    let reset = false;
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      reset = err.code === 'ECONNRESET';
    });
    socket.on('close', () => resolve({ text, reset }));
  });
}

describe('close() serves every accepted connection', () => {
  it('a request that arrives on an accepted connection after close() began is served, with Connection: close', async () => {
    const server = await startServer();
    const socket = await connect(server.url);
    const reply = received(socket);
    // Accepted by the server (its request still to come) before the close starts.
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    const closed = server.close();
    await new Promise((r) => setTimeout(r, 300));
    const body = images.tench;
    socket.write(
      `POST /predict?top_k=1 HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: image/jpeg\r\n` +
        `authorization: Bearer ${TOKEN}\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    socket.write(body);
    const { text, reset } = await reply;
    expect(reset).toBe(false);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(text).toMatch(/"class_id":0/);
    await closed;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
    expect(server.app.mtailor.lastDrain).toMatchObject({ connections: 1, forced: 0 });
  });

  it('a connection that sends nothing is closed after the grace; an idle keep-alive one at once', async () => {
    const server = await startServer();
    const silent = await connect(server.url);
    const silentClosed = received(silent);
    const keepAlive = await connect(server.url);
    const keepAliveClosed = received(keepAlive);
    keepAlive.write('GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    await new Promise((r) => setTimeout(r, 200)); // its reply is out: idle, kept alive
    const t0 = performance.now();
    await server.close();
    const keepAliveReply = await keepAliveClosed;
    expect(keepAliveReply.text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*connection: keep-alive/i);
    expect((await silentClosed).text).toBe('');
    // The grace (1 s) bounds the wait for the silent one.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(900);
    expect(server.app.mtailor.lastDrain).toMatchObject({ connections: 2, closedIdle: 2, forced: 0 });
  });
});
