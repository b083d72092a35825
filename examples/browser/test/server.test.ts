/**
 * The static server on its own (no browser): what it serves, with which headers, and what it refuses.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ONNXModel } from '@mtailor/core';
import { BrowserServerError, type RunningServer, startServer } from '@mtailor/example-browser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTorch, python, shared } from '../../../test/support/shared-data.js';

/** A GET with the path sent exactly as written (fetch would normalise `..` away before sending). */
function rawGet(base: string, rawPath: string, method = 'GET'): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/`, { path: rawPath, method }, (res) => {
      res.resume();
      resolve(res);
    });
    req.on('error', reject);
    req.end(method === 'POST' ? 'x' : undefined);
  });
}

describe('static server', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ port: 0, model: shared.floatModel });
  });
  afterAll(() => server?.close());

  it('listens on loopback by default and serves the page with cross-origin isolation headers', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(await res.text()).toContain('<script type="module" src="/app/main.js">');
  });

  it('serves the configured model at /model.onnx, the labels, and the runtime files with their types', async () => {
    const model = await fetch(`${server.url}/model.onnx`);
    expect(model.status).toBe(200);
    expect(Number(model.headers.get('content-length'))).toBe(statSync(shared.floatModel).size);
    expect(Buffer.from(await model.arrayBuffer()).equals(readFileSync(shared.floatModel))).toBe(true);
    // Readable by pages on other origins too (?model=<url> there), also cross-origin-isolated ones.
    expect(model.headers.get('access-control-allow-origin')).toBe('*');
    expect(model.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const labels = (await (await fetch(`${server.url}/labels.json`)).json()) as string[];
    expect(labels).toHaveLength(1000);
    expect([labels[0], labels[35]]).toEqual(['tench', 'mud turtle']);
    for (const [url, type] of [
      ['/app/main.js', 'text/javascript; charset=utf-8'],
      ['/vendor/preprocess/index.js', 'text/javascript; charset=utf-8'],
      ['/vendor/ort/ort.wasm.min.mjs', 'text/javascript; charset=utf-8'],
      ['/vendor/ort/ort-wasm-simd-threaded.wasm', 'application/wasm'],
      ['/vendor/jsquash-jpeg/codec/dec/mozjpeg_dec.wasm', 'application/wasm'],
    ] as const) {
      const res = await fetch(`${server.url}${url}`, { method: 'HEAD' });
      expect([url, res.status, res.headers.get('content-type')]).toEqual([url, 200, type]);
    }
  });

  it('answers a revalidation with 304 (the 14 MB WASM binary is not sent again on reload)', async () => {
    const first = await fetch(`${server.url}/vendor/ort/ort-wasm-simd-threaded.wasm`, { method: 'HEAD' });
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    const again = await fetch(`${server.url}/vendor/ort/ort-wasm-simd-threaded.wasm`, {
      headers: { 'if-none-match': etag! },
    });
    expect(again.status).toBe(304);
  });

  it('refuses everything outside its file list: traversal, unlisted runtime builds, declarations, other methods', async () => {
    for (const url of [
      '/app/../../package.json',
      '/app/%2e%2e/%2e%2e/package.json',
      '/vendor/preprocess/../../package.json',
      '/vendor/preprocess/..%2fpackage.json', // an existing file one level up, were the check missing
      '/..%2fpackage.json',
      '/../../../etc/passwd',
      '/vendor/ort/ort.all.min.mjs', // onnxruntime-web ships it, the page does not need it
      '/vendor/ort/../package.json',
      '/app/main.d.ts',
      '/app/tsconfig.tsbuildinfo',
      '/vendor/jsquash-jpeg/encode.js',
      '/nope.html',
      '/%E0%A4%A',
    ]) {
      const res = await rawGet(server.url, url);
      expect([url, res.statusCode]).toEqual([url, url === '/%E0%A4%A' ? 400 : 404]);
    }
    const post = await rawGet(server.url, '/', 'POST');
    expect(post.statusCode).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('bad options are typed errors with stable codes', async () => {
    const fail = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );
    const badPort = await fail(startServer({ port: -1 }));
    expect(badPort).toBeInstanceOf(BrowserServerError);
    expect(badPort).toMatchObject({
      code: 'INVALID_OPTION',
      message: 'Expected integer between 0 and 65535 for port but received -1 of type number',
    });
    expect(await fail(startServer({ port: 0, model: '/nonexistent/model.onnx' }))).toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
    expect(await fail(startServer({ port: 0, labels: [1, 2] as unknown as string[] }))).toMatchObject({
      code: 'INVALID_OPTION',
    });
  });
});

describe.skipIf(!hasTorch())('static server, a model with external data (torch ≥ 2.9 exports)', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mtailor-browser-external-'));
  const model = path.join(root, 'mnv2.onnx');
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves /model.onnx as one self-contained model that onnxruntime loads and runs like the original', async () => {
    execFileSync(python, [
      '-c',
      'import sys, onnx; onnx.save_model(onnx.load(sys.argv[1]), sys.argv[2], save_as_external_data=True, location="mnv2.onnx.data")',
      shared.floatModel,
      model,
    ]);
    expect(statSync(model).size).toBeLessThan(1_000_000);
    server = await startServer({ port: 0, model });
    const res = await fetch(`${server.url}/model.onnx`);
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(bytes.byteLength);
    expect(bytes.byteLength).toBeGreaterThan(13_000_000);
    const served = await ONNXModel.load(bytes, { intraOpThreads: 1 });
    const original = await ONNXModel.load(shared.floatModel, { intraOpThreads: 1 });
    const input = new Float32Array(3 * 224 * 224).map((_, i) => ((i % 224) - 112) / 112);
    expect(await served.run(input, 1)).toEqual(await original.run(input, 1));
    served.dispose();
    original.dispose();
  });
});
