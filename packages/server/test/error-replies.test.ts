/**
 * Error replies at the edges, on a real server on 127.0.0.1: a body declared too large is refused with its status
 * before the client sends it (`Expect: 100-continue`), and a client already sending it still reads that status;
 * every `/v2` URL answers errors in OIP's `{ "error": "<message>" }` shape, known route or not, mounted at the root or
 * under a prefix; 100 two-file multipart requests open at once each get their 400 while a normal `/predict` is
 * answered.
 */

import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { ImageClassifier } from '@mtailor/core';
import { mtailorPlugin, resolveConfig } from '@mtailor/server';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images, json, shared, TOKEN } from '../../../test/support/server.js';
import { startServerProcess } from '../bench/support/sigterm-scenario.mjs';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Its own process, as deployed: a client in this process writing a body must not keep the server from answering.
let server: Awaited<ReturnType<typeof startServerProcess>>;
beforeAll(async () => {
  server = await startServerProcess(pkgDir, {
    MTAILOR_MODEL: shared.int8Model,
    MTAILOR_API_KEY: TOKEN,
    MTAILOR_PREPROCESS_WORKERS: '1',
    MTAILOR_INTRA_OP_THREADS: '1',
    LOG_LEVEL: 'warn',
  });
});
afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
});

/** Sends `head` on a raw connection, then (optionally) `bodyBytes` at once; resolves with all it read. */
function rawExchange(
  head: string,
  options: { bodyBytes?: number; firstReplyOnly?: boolean } = {},
): Promise<{ text: string; error: string | undefined }> {
  const { port } = new URL(server.url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let text = '';
    let error: string | undefined;
    const guard = setTimeout(() => socket.destroy(), 20_000);
    socket.on('data', (d) => {
      text += d.toString('latin1');
      // Waiting for the status only (the client has not sent its body): the reply is all there once its body is.
      if (options.firstReplyOnly && /\r\n\r\n\{.*\}$/s.test(text)) socket.destroy();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code;
    });
    socket.on('close', () => {
      clearTimeout(guard);
      resolve({ text, error });
    });
    socket.write(head);
    let left = options.bodyBytes ?? 0;
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const pump = (): void => {
      while (left > 0 && !socket.destroyed) {
        left -= chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

describe('a body declared larger than the limit', () => {
  const head = (path: string, expect100: boolean) =>
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n` +
    `Content-Length: 209715200\r\n${expect100 ? 'Expect: 100-continue\r\n' : ''}\r\n`;

  it('Expect: 100-continue → 413 before the client sends the body, no 100 Continue, connection closed', async () => {
    for (const [path, oip] of [
      ['/predict', false],
      ['/v2/models/mobilenet_v2_int8_qdq/infer', true],
    ] as const) {
      const { text } = await rawExchange(head(path, true), { firstReplyOnly: true });
      expect(text.startsWith('HTTP/1.1 413 '), `${path}: ${text.slice(0, 80)}`).toBe(true);
      expect(text).not.toMatch(/100 Continue/);
      expect(text).toMatch(/\r\nconnection: close\r\n/i);
      expect(text).toMatch(/\r\nx-error-code: PAYLOAD_TOO_LARGE\r\n/i);
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
      expect(body).toEqual(
        oip
          ? { error: expect.any(String) }
          : { error: { code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) } },
      );
    }
  });

  it('a client that sends its body without waiting still reads the 413 (the close lingers, no reset)', async () => {
    for (let i = 0; i < 5; i++) {
      // The whole declared body (200 MiB, over the 16 MiB limit), written without waiting for an answer.
      const { text, error } = await rawExchange(head('/predict', i % 2 === 0), {
        bodyBytes: 209_715_200,
      });
      expect(text.slice(0, 40), `attempt ${i} (socket error ${error})`).toMatch(/^HTTP\/1\.1 413 /);
    }
  });
});

describe('every /v2 error in OIP shape', () => {
  const auth = { authorization: `Bearer ${TOKEN}` };

  it('unknown routes under /v2 are 404 { error: message } with the code in x-error-code; elsewhere the usual shape', async () => {
    for (const [method, path] of [
      ['GET', '/v2/models/..%2F..%2F..%2Fetc%2Fpasswd/infer'],
      ['GET', '/v2/nothing'],
      ['POST', '/v2/repository/index'],
      ['DELETE', '/v2/models/mobilenet_v2_int8_qdq'],
      ['GET', '/v2/models/mobilenet_v2_int8_qdq/versions/1/stats'],
    ] as const) {
      const res = await fetch(`${server.url}${path}`, { method, headers: auth });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get('x-error-code')).toBe('NOT_FOUND');
      const body = await res.json();
      expect(body, `${method} ${path}`).toEqual({ error: expect.stringContaining('no route') });
    }
    // Refused before routing (a malformed URL) under /v2: OIP's shape too, the code in x-error-code.
    const bad = await fetch(`${server.url}/v2/%zz`, { headers: auth });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-error-code')).toBe('BAD_REQUEST');
    expect(await bad.json()).toEqual({ error: expect.any(String) });
    // Outside /v2 (and a path that only starts with "v2"): `{ error: { code, message } }`.
    for (const path of ['/nothing', '/v2x', '/v20/models']) {
      const res = await fetch(`${server.url}${path}`, { headers: auth });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    }
  });

  it('mounted under a prefix: unknown URLs under <prefix>/v2 are OIP 404s too', async () => {
    const app = Fastify();
    const config = resolveConfig({ modelPath: shared.int8Model, apiKey: undefined, logLevel: 'silent' });
    // A classifier that never loads: routing does not need it.
    await app.register(mtailorPlugin, {
      prefix: '/ml',
      config,
      classifier: new Promise<ImageClassifier>(() => {}),
    });
    try {
      const oip = await app.inject('/ml/v2/models/x/y/z');
      expect(oip.statusCode).toBe(404);
      expect(oip.headers['x-error-code']).toBe('NOT_FOUND');
      expect(oip.json()).toEqual({ error: expect.stringContaining('no route') });
      const other = await app.inject('/ml/nothing');
      expect(other.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    } finally {
      await app.close();
    }
  });
});

describe('100 two-file multipart requests open at once', () => {
  it('every one gets its 400 quickly, and a normal /predict is answered meanwhile', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    // 140 KB file parts: a size at which a second file part left the request unanswered, holding its work slot.
    const boundary = 'XyZ0123';
    const part = (name: string) =>
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="${name}"; filename="${name}.jpg"\r\n\r\n`,
      );
    const twoFiles = Buffer.concat([
      part('a'),
      Buffer.alloc(140_000, 1),
      Buffer.from('\r\n'),
      part('b'),
      Buffer.alloc(140_000, 2),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const contentType = `multipart/form-data; boundary=${boundary}`;
    const bad = Array.from({ length: 100 }, async () => {
      const t0 = performance.now();
      const res = await fetch(`${server.url}/predict`, {
        method: 'POST',
        headers: { ...auth, 'content-type': contentType },
        body: twoFiles,
        signal: AbortSignal.timeout(60_000),
      });
      return { status: res.status, body: await json(res), ms: performance.now() - t0 };
    });
    const normal: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const res = await fetch(`${server.url}/predict?top_k=1`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'image/jpeg' },
        body: images.tench,
        signal: AbortSignal.timeout(30_000),
      });
      expect(res.status).toBe(200);
      expect((await json(res)).prediction.class_id).toBe(0);
      normal.push(performance.now() - t0);
    }
    const replies = await Promise.all(bad);
    for (const reply of replies) {
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe('INVALID_INPUT');
      expect(reply.body.error.message).toMatch(/send exactly one image file part/);
    }
    const sorted = [...normal].sort((a, b) => a - b);
    const badMs = replies.map((r) => r.ms).sort((a, b) => a - b);
    console.log(
      `normal /predict with 100 two-file requests open: p50 ${sorted[10]?.toFixed(1)} ms, p99 ${sorted.at(-1)?.toFixed(1)} ms; ` +
        `the 100 refusals: median ${badMs[50]?.toFixed(0)} ms, slowest ${badMs.at(-1)?.toFixed(0)} ms`,
    );
    // Afterwards the gate is empty again: nothing still holds a slot or the body budget.
    const health = await json(await fetch(`${server.url}/health`, { headers: auth }));
    expect(health.intake).toMatchObject({
      active: 0,
      waiting: 0,
      reading: 0,
      in_progress: 0,
      buffered_bytes: 0,
    });
  });
});
