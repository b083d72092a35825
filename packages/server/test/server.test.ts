/**
 * The server end to end on 127.0.0.1 with the real shared int8 model: every route, every input form, auth,
 * and the error replies.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createServer, loadConfig, resolveConfig } from '@mtailor/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  images,
  type JsonReply,
  json,
  postJson,
  shared,
  startFileServer,
  startServer,
  type TestServer,
  TOKEN,
} from '../../../test/support/server.js';

let server: TestServer;
let files: Awaited<ReturnType<typeof startFileServer>>;
const auth = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  files = await startFileServer({
    '/tench.jpg': { type: 'image/jpeg', body: images.tench },
    '/turtle': { type: 'application/octet-stream', body: images.mudTurtle },
  });
  // The test's own file server is the one loopback address allow-listed.
  server = await startServer({ urlAllowlist: ['127.0.0.1/32'] });
});
afterAll(async () => {
  await server?.close();
  await files?.close();
});

function expectClass(body: JsonReply, classId: number, label: string): void {
  expect(body.prediction.class_id).toBe(classId);
  expect(body.prediction.label).toBe(label);
  expect(body.top_k[0]).toEqual(body.prediction);
  expect(body.model.name).toBe('mobilenet_v2_int8_qdq');
  expect(body.model.sha256).toMatch(/^[0-9a-f]{64}$/);
  for (const k of ['fetch', 'decode', 'preprocess', 'inference', 'total']) {
    expect(typeof body.timings_ms[k]).toBe('number');
  }
  const confidences = body.top_k.map((p: JsonReply) => p.confidence);
  expect([...confidences].sort((a: number, b: number) => b - a)).toEqual(confidences);
}

describe('POST /predict', () => {
  it('classifies tench → 0 and mud turtle → 35 from base64', async () => {
    const tench = await postJson(`${server.url}/predict`, { image_base64: images.tench.toString('base64') });
    expect(tench.status).toBe(200);
    expectClass(tench.body, 0, 'tench');
    expect(tench.body.top_k).toHaveLength(5);
    const turtle = await postJson(`${server.url}/predict`, {
      image_base64: images.mudTurtle.toString('base64'),
      top_k: 3,
    });
    expectClass(turtle.body, 35, 'mud turtle');
    expect(turtle.body.top_k).toHaveLength(3);
  });

  it('accepts a data URL and line-wrapped base64', async () => {
    const dataUrl = `data:image/jpeg;base64,${images.tench.toString('base64')}`;
    expectClass((await postJson(`${server.url}/predict`, { image_base64: dataUrl })).body, 0, 'tench');
    const wrapped = images.mudTurtle.toString('base64').replace(/.{76}/g, '$&\n');
    expectClass((await postJson(`${server.url}/predict`, { image_base64: wrapped })).body, 35, 'mud turtle');
  });

  it('classifies raw image/* and application/octet-stream bytes, top_k from the query', async () => {
    for (const [type, bytes, cls, label] of [
      ['image/jpeg', images.tench, 0, 'tench'],
      ['application/octet-stream', images.mudTurtle, 35, 'mud turtle'],
    ] as const) {
      const res = await fetch(`${server.url}/predict?top_k=2`, {
        method: 'POST',
        headers: { ...auth, 'content-type': type },
        body: bytes,
      });
      expect(res.status).toBe(200);
      const body = await json(res);
      expectClass(body, cls, label);
      expect(body.top_k).toHaveLength(2);
    }
  });

  it('classifies a multipart/form-data upload with one file', async () => {
    for (const [bytes, cls, label] of [
      [images.tench, 0, 'tench'],
      [images.mudTurtle, 35, 'mud turtle'],
    ] as const) {
      const form = new FormData();
      form.append('top_k', '4');
      form.append('file', new Blob([bytes], { type: 'image/jpeg' }), 'x.jpg');
      const res = await fetch(`${server.url}/predict`, { method: 'POST', headers: auth, body: form });
      expect(res.status).toBe(200);
      const body = await json(res);
      expectClass(body, cls, label);
      expect(body.top_k).toHaveLength(4);
    }
    const two = new FormData();
    two.append('a', new Blob([images.tench]), 'a.jpg');
    two.append('b', new Blob([images.tench]), 'b.jpg');
    const res = await fetch(`${server.url}/predict`, { method: 'POST', headers: auth, body: two });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect((await json(res)).error.code).toMatch(/INVALID_INPUT|BAD_REQUEST/);
  });

  it('malformed multipart is 400 BAD_REQUEST; an oversized file 413 IMAGE_TOO_LARGE; cut or repeated top_k 400', async () => {
    const post = (contentType: string, body: string | Buffer) =>
      fetch(`${server.url}/predict`, {
        method: 'POST',
        headers: { ...auth, 'content-type': contentType },
        body,
      });
    const part = `--XyZ\r\ncontent-disposition: form-data; name="file"; filename="a.jpg"\r\ncontent-type: image/jpeg\r\n\r\n`;
    for (const [contentType, body] of [
      ['multipart/form-data; boundary=XyZ', 'hello world'], // no boundary in the body
      ['multipart/form-data', `${part}abc\r\n--XyZ--\r\n`], // no boundary parameter
      ['multipart/form-data; boundary=Other', `${part}abc\r\n--XyZ--\r\n`], // wrong boundary
      ['multipart/form-data; boundary=XyZ', `${part}${images.tench.subarray(0, 500).toString('latin1')}`], // cut off
    ] as const) {
      const res = await post(contentType, body);
      expect(res.status, `${contentType}: ${body.slice(0, 30)}`).toBe(400);
      expect((await json(res)).error.code).toBe('BAD_REQUEST');
    }

    const big = new FormData();
    big.append('file', new Blob([new Uint8Array(server.config.maxImageBytes + 1)]), 'big.jpg');
    const tooBig = await fetch(`${server.url}/predict`, { method: 'POST', headers: auth, body: big });
    expect(tooBig.status).toBe(413);
    expect((await json(tooBig)).error.code).toBe('IMAGE_TOO_LARGE');

    for (const fields of [[`${'0'.repeat(1021)}005junk`], ['3', '4']]) {
      const form = new FormData();
      for (const v of fields) form.append('top_k', v);
      form.append('file', new Blob([images.tench], { type: 'image/jpeg' }), 'x.jpg');
      const res = await fetch(`${server.url}/predict`, { method: 'POST', headers: auth, body: form });
      expect(res.status).toBe(400);
      expect((await json(res)).error.message).toMatch(/longer than 1024 bytes|given twice/);
    }
  });

  it('JSON bodies are validated as sent: no type coercion (wrong types are 400, not converted)', async () => {
    const b64 = images.tench.toString('base64');
    for (const body of [
      { image_base64: [b64] },
      { image_base64: b64, top_k: '3' },
      { image_base64: b64, top_k: true },
      { image_base64: b64, top_k: [3] },
      { test_mode: 'true' },
      { test_mode: 1 },
      { image_base64: b64, test_mode: null },
      { image_url: ['http://127.0.0.1/x.jpg'] },
      { image_base64: 123 },
    ]) {
      const res = await postJson(`${server.url}/predict`, body);
      expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
    }
    // The query string is text: ?top_k=3 still means 3.
    const fromQuery = await postJson(`${server.url}/predict?top_k=3`, { image_base64: b64 });
    expect(fromQuery.status).toBe(200);
    expect(fromQuery.body.top_k).toHaveLength(3);
  });

  it('raw image bytes may carry media-type parameters; compressed bodies are refused with 415', async () => {
    for (const type of ['image/jpeg; charset=binary', 'IMAGE/JPEG', 'image/jpeg;q=1']) {
      const res = await fetch(`${server.url}/predict`, {
        method: 'POST',
        headers: { ...auth, 'content-type': type },
        body: images.tench,
      });
      expect(res.status, type).toBe(200);
      expect((await json(res)).prediction.class_id).toBe(0);
    }
    const gzipped = await fetch(`${server.url}/predict`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'image/jpeg', 'content-encoding': 'gzip' },
      body: zlib.gzipSync(images.tench),
    });
    expect(gzipped.status).toBe(415);
    expect((await json(gzipped)).error.message).toMatch(/Content-Encoding "gzip" is not supported/);
  });

  it('downloads image_url from an allow-listed local file server', async () => {
    const tench = await postJson(`${server.url}/predict`, { image_url: `${files.origin}/tench.jpg` });
    expect(tench.status).toBe(200);
    expectClass(tench.body, 0, 'tench');
    expect(tench.body.timings_ms.fetch).toBeGreaterThan(0);
    const turtle = await postJson(`${server.url}/predict`, { image_url: `${files.origin}/turtle` });
    expectClass(turtle.body, 35, 'mud turtle');
  });

  it('uses X-Request-Id as run_id and echoes it', async () => {
    const res = await postJson(
      `${server.url}/predict`,
      { image_base64: images.tench.toString('base64') },
      { 'x-request-id': 'order-42.retry-1' },
    );
    expect(res.body.run_id).toBe('order-42.retry-1');
    expect(res.headers.get('x-request-id')).toBe('order-42.retry-1');
    const generated = await postJson(`${server.url}/predict`, {
      image_base64: images.tench.toString('base64'),
    });
    expect(generated.body.run_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('test_mode classifies the built-in image and checks its known class', async () => {
    const res = await postJson(`${server.url}/predict`, { test_mode: true });
    expect(res.status).toBe(200);
    expect(res.body.test_mode).toEqual({
      passed: true,
      expected_class: 722,
      source: 'synthetic',
      expectation: 'known-model',
    });
    expect(res.body.prediction.class_id).toBe(722);
  });

  it('refuses bodies that are not exactly one input, or a bad top_k', async () => {
    const b64 = images.tench.toString('base64');
    for (const body of [
      {},
      { image_base64: b64, image_url: 'http://example.com/x.jpg' },
      { image_base64: b64, test_mode: true },
      { image_base64: b64, top_k: 0 },
      { image_base64: b64, top_k: 1001 },
      { image_base64: b64, extra: 1 },
      { image_base64: 'not base64 at all!' },
      { image_base64: '' },
    ]) {
      const res = await postJson(`${server.url}/predict`, body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
      expect(typeof res.body.error.message).toBe('string');
    }
    const badJson = await postJson(`${server.url}/predict`, '{"image_base64": ');
    expect(badJson.status).toBe(400);
    expect(badJson.body.error.code).toBe('BAD_REQUEST');
  });

  it('answers 415 for a text body or non-image bytes, 422 for a truncated JPEG', async () => {
    const text = await fetch(`${server.url}/predict`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(text.status).toBe(415);
    expect((await json(text)).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const notImage = await postJson(`${server.url}/predict`, {
      image_base64: Buffer.from('just some text, not an image').toString('base64'),
    });
    expect(notImage.status).toBe(415);
    expect(notImage.body.error.code).toBe('UNSUPPORTED_IMAGE');
    const truncated = await postJson(`${server.url}/predict`, {
      image_base64: images.tench.subarray(0, 2000).toString('base64'),
    });
    expect(truncated.status).toBe(422);
    expect(truncated.body.error.code).toBe('INVALID_IMAGE');
    expect(JSON.stringify(truncated.body)).not.toMatch(/at .*\.js:\d+/);
  });

  it('a data: URL declaring a non-image type is 415 UNSUPPORTED_IMAGE (was 500 when raised in a worker)', async () => {
    for (const type of ['text/html', 'application/pdf']) {
      const res = await postJson(`${server.url}/predict`, {
        image_base64: `data:${type};base64,${images.tench.toString('base64')}`,
      });
      expect(res.status, type).toBe(415);
      expect(res.body.error).toEqual({
        code: 'UNSUPPORTED_IMAGE',
        message: `image_base64: a data URL must declare an image type (data:image/<type>;base64,...), not "${type}"`,
      });
    }
  });

  it('answers 413 for a pixel bomb (refused from its header, before decoding)', async () => {
    // A PNG whose header claims 50 000 × 50 000 pixels (2.5 gigapixels) in a few hundred bytes.
    const chunk = (type: string, data: Buffer) => {
      const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(data.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(zlib.crc32(body));
      return Buffer.concat([len, body, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(50_000, 0);
    ihdr.writeUInt32BE(50_000, 4);
    ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit grayscale
    const bomb = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', zlib.deflateSync(Buffer.alloc(1024))),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    const res = await fetch(`${server.url}/predict`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'image/png' },
      body: bomb,
    });
    expect(res.status).toBe(413);
    expect((await json(res)).error.code).toBe('IMAGE_TOO_LARGE');
  });

  it('answers 413 for a body over the limit', async () => {
    const big = Buffer.alloc(server.config.maxBodyBytes + 1024, 0x41);
    const res = await fetch(`${server.url}/predict`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: big,
    });
    expect(res.status).toBe(413);
    expect((await json(res)).error.code).toBe('PAYLOAD_TOO_LARGE');
    const asJson = await postJson(`${server.url}/predict`, { image_base64: big.toString('base64') });
    expect(asJson.status).toBe(413);
  });
});

describe('auth', () => {
  it('401 without a token or with a wrong one, on inference and metadata routes', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong-token-wrong-token-wrong' },
      { authorization: TOKEN },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${server.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ test_mode: true }),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect((await json(res)).error.code).toBe('UNAUTHORIZED');
    }
    expect((await fetch(`${server.url}/v2/models/mobilenet_v2_int8_qdq`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
  });

  it('health and readiness are open (MTAILOR_AUTH_PUBLIC_HEALTH default)', async () => {
    for (const path of ['/health', '/ready', '/v2/health/live', '/v2/health/ready']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
    }
  });

  it('without the token, /health and /ready report the status only: no paths, versions or intake', async () => {
    const modelDir = path.dirname(server.config.modelPath);
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong-token-wrong-token-wrong' },
    ];
    for (const headers of attempts) {
      const health = await fetch(`${server.url}/health`, { headers });
      const healthText = await health.text();
      expect(JSON.parse(healthText)).toEqual({ status: 'ok' });
      const ready = await fetch(`${server.url}/ready`, { headers });
      const readyText = await ready.text();
      expect(ready.status).toBe(200);
      expect(JSON.parse(readyText)).toEqual({ status: 'ready' });
      for (const text of [healthText, readyText]) expect(text).not.toContain(modelDir);
    }
    // With the token: the full report, paths included.
    const full = await json(await fetch(`${server.url}/health`, { headers: auth }));
    expect(full.model.path).toBe(server.config.modelPath);
    expect(full.disk.path).toBe(modelDir);
    expect(full.intake.max_active).toBe(16);
  });

  it('with no token configured, every route is open and /health gives the full report', async () => {
    const open = await startServer({ apiKey: undefined });
    try {
      const body = await json(await fetch(`${open.url}/health`));
      expect(body.model.path).toBe(open.config.modelPath);
      expect(body.versions.node).toBe(process.versions.node);
      // Which int8 kernels run the shared int8 model on this CPU, exactly, and why (MTAILOR_INT8_KERNELS=exact).
      expect(body.model.int8_kernels).toMatchObject({ requested: 'exact', exact: true });
      expect(['native', 'uint8-weights']).toContain(body.model.int8_kernels.kernels);
      expect(typeof body.model.int8_kernels.reason).toBe('string');
      expect(Array.isArray(body.model.int8_kernels.cpu_flags)).toBe(true);
    } finally {
      await open.close();
    }
  });

  it('MTAILOR_AUTH_PUBLIC_HEALTH=false: health and readiness need the token too', async () => {
    const closed = await startServer({ publicHealth: false });
    try {
      for (const p of ['/health', '/ready', '/v2/health/ready']) {
        expect((await fetch(`${closed.url}${p}`)).status, p).toBe(401);
        expect((await fetch(`${closed.url}${p}`, { headers: auth })).status, p).toBe(200);
      }
    } finally {
      await closed.close();
    }
  });

  it('a model that fails to load: the public /ready says so without the error text (it names the path)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-broken-'));
    const broken = path.join(dir, 'broken.onnx');
    writeFileSync(broken, 'this is not an ONNX model');
    const config = resolveConfig({
      modelPath: broken,
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      apiKey: TOKEN,
    });
    const app = await createServer(config, { logger: false });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      await app.mtailor.whenReady().catch(() => {});
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const publicReady = await fetch(`${url}/ready`);
      expect(publicReady.status).toBe(503);
      const text = await publicReady.text();
      expect(JSON.parse(text)).toEqual({
        status: 'not_ready',
        error: { code: 'NOT_READY', message: 'the model failed to load' },
      });
      expect(text).not.toContain(dir);
      const full = await json(await fetch(`${url}/ready`, { headers: auth }));
      expect(full.model.status).toBe('failed');
      expect(full.error.message).toMatch(/^the model failed to load: /);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true });
    }
  });
});

describe('health, readiness, metrics', () => {
  it('/health (with the token) reports memory, disk, model status, last inference, intake, versions', async () => {
    const body = await json(await fetch(`${server.url}/health`, { headers: auth }));
    expect(body.draining).toBe(false);
    expect(body.intake).toMatchObject({
      max_active: 16,
      max_queue: 512,
      max_buffered_bytes: 16 * 1024 * 1024,
    });
    expect(body.status).toBe('ok');
    expect(body.memory.rss).toBeGreaterThan(0);
    expect(body.disk.free_bytes).toBeGreaterThan(0);
    expect(body.model.status).toBe('ready');
    expect(body.model.self_test).toMatchObject({ ok: true, class_id: 722, expected_class: 722 });
    expect(body.last_inference.at).toMatch(/^\d{4}-/);
    expect(body.versions).toMatchObject({ node: process.versions.node, onnxruntime: '1.30.0' });
  });

  it('/ready is 200 with the model loaded and the self-test passed', async () => {
    const res = await fetch(`${server.url}/ready`);
    expect(res.status).toBe(200);
    expect((await json(res)).status).toBe('ready');
  });

  it('/metrics has request counts by route and status, latency and batch histograms, queue depth, load time', async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: auth });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(
      /mtailor_http_requests_total\{method="POST",route="\/predict",status_code="200"\} \d+/,
    );
    expect(text).toMatch(
      /mtailor_http_requests_total\{method="POST",route="\/predict",status_code="401"\} \d+/,
    );
    expect(text).toMatch(
      /mtailor_http_request_duration_seconds_bucket\{le="0.1",method="POST",route="\/predict"\}/,
    );
    expect(text).toMatch(/mtailor_batch_size_count \d+/);
    expect(text).toMatch(/mtailor_queue_depth 0/);
    expect(text).toMatch(/mtailor_model_load_seconds \d/);
  });

  it('what Node refuses before routing gets the JSON error shape too: bad HTTP 400, huge headers 431', async () => {
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
        let text = '';
        socket.on('data', (d) => {
          text += d.toString();
        });
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
        socket.write(request);
      });
    const bodyOf = (reply: string) => JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
    const garbage = await raw('NOT AN HTTP REQUEST\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(garbage)).toEqual({ error: { code: 'BAD_REQUEST', message: 'malformed HTTP request' } });
    const huge = await raw(`GET /health HTTP/1.1\r\nhost: a\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(bodyOf(huge).error.code).toBe('HEADERS_TOO_LARGE');
    // HTTP/1.1 without Host: Node's own answer was a 400 with an empty body.
    const noHost = await raw('GET /health HTTP/1.1\r\n\r\n');
    expect(noHost).toMatch(/^HTTP\/1\.1 400 [\s\S]*\r\nx-error-code: BAD_REQUEST\r\n/i);
    expect(noHost).toMatch(/\r\nconnection: close\r\n/i);
    expect(bodyOf(noHost)).toEqual({
      error: { code: 'BAD_REQUEST', message: 'an HTTP/1.1 request must carry a Host header' },
    });
    // HTTP/1.0 may omit it.
    expect(await raw('GET /health HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
    // A malformed URL and an over-long path parameter get the one error shape too (not Fastify's own).
    const badUrl = await raw('GET /%zz HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
    expect(badUrl).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(badUrl)).toEqual({
      error: { code: 'BAD_REQUEST', message: "'/%zz' is not a valid url component" },
    });
    const longParam = await raw(
      `GET /v2/models/${'x'.repeat(200)} HTTP/1.1\r\nhost: a\r\nauthorization: Bearer ${TOKEN}\r\nconnection: close\r\n\r\n`,
    );
    expect(longParam).toMatch(/^HTTP\/1\.1 414 /);
    // Under /v2, OIP's shape: the message as the error, the code in X-Error-Code.
    expect(longParam).toMatch(/\r\nx-error-code: URI_TOO_LONG\r\n/i);
    expect(bodyOf(longParam)).toEqual({ error: expect.stringMatching(/.+/) });
    const badOipUrl = await raw('GET /v2/models/%zz HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
    expect(badOipUrl).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(badOipUrl)).toEqual({ error: expect.stringMatching(/not a valid url component/) });
    // An expectation other than 100-continue: Node's own answer was a 417 with an empty body.
    const expectation = await raw(
      `POST /predict HTTP/1.1\r\nhost: a\r\nexpect: weird\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`,
    );
    expect(expectation).toMatch(/^HTTP\/1\.1 417 /);
    expect(bodyOf(expectation).error.code).toBe('EXPECTATION_FAILED');
    // CONNECT: Node dropped the connection without an answer.
    const connect = await raw('CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n');
    expect(connect).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(connect)).toEqual({
      error: { code: 'BAD_REQUEST', message: 'CONNECT is not supported: this is not a proxy' },
    });
  });

  it('unknown routes are a JSON 404', async () => {
    const res = await fetch(`${server.url}/nope`, { headers: auth });
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ error: { code: 'NOT_FOUND', message: 'no route GET /nope' } });
  });
});

describe('Open Inference Protocol v2', () => {
  const name = 'mobilenet_v2_int8_qdq';

  it('server metadata, model metadata, model ready, unknown model → 404', async () => {
    const v2 = await json(await fetch(`${server.url}/v2`, { headers: auth }));
    expect(v2).toMatchObject({ name: 'mtailor', extensions: ['classification'] });
    // The spec writes the server metadata path both ways.
    expect(await json(await fetch(`${server.url}/v2/`, { headers: auth }))).toEqual(v2);
    const meta = await json(await fetch(`${server.url}/v2/models/${name}`, { headers: auth }));
    expect(meta).toMatchObject({
      name,
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 224, 224] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 1000] }],
    });
    const ready = await fetch(`${server.url}/v2/models/${name}/ready`, { headers: auth });
    expect(await json(ready)).toEqual({ name, ready: true });
    const missing = await fetch(`${server.url}/v2/models/resnet50`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-error-code')).toBe('MODEL_NOT_FOUND');
    // KServe's error shape on /v2 routes: one message string.
    expect(await json(missing)).toEqual({ error: expect.stringContaining('no model "resnet50"') });
  });

  it('infers BYTES (base64 images): tench → 0, mud turtle → 35, in one request', async () => {
    const res = await postJson(`${server.url}/v2/models/${name}/infer`, {
      id: 'req-7',
      inputs: [
        {
          name: 'image',
          shape: [2],
          datatype: 'BYTES',
          data: [images.tench.toString('base64'), images.mudTurtle.toString('base64')],
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ model_name: name, model_version: '1', id: 'req-7' });
    const [out] = res.body.outputs;
    expect(out).toMatchObject({ name: 'logits', datatype: 'FP32', shape: [2, 1000] });
    const argmax = (row: number[]) => row.indexOf(Math.max(...row));
    expect(argmax(out.data.slice(0, 1000))).toBe(0);
    expect(argmax(out.data.slice(1000))).toBe(35);
  });

  it('infers FP32 [N,3,224,224] tensors (flat and nested) with the same logits as BYTES', async () => {
    // The tensor the server's own preprocessing makes, taken from the BYTES path's logits for comparison.
    const { ImagePreprocessor } = await import('@mtailor/core');
    const pre = new ImagePreprocessor();
    const tench = (await pre.process(images.tench)).tensor;
    const turtle = (await pre.process(images.mudTurtle)).tensor;
    const flat = [...tench, ...turtle];
    const viaFlat = await postJson(`${server.url}/v2/models/${name}/infer`, {
      inputs: [{ name: 'input', shape: [2, 3, 224, 224], datatype: 'FP32', data: flat }],
    });
    expect(viaFlat.status).toBe(200);
    const out = viaFlat.body.outputs[0];
    expect(out.shape).toEqual([2, 1000]);
    const argmax = (row: number[]) => row.indexOf(Math.max(...row));
    expect(argmax(out.data.slice(0, 1000))).toBe(0);
    expect(argmax(out.data.slice(1000))).toBe(35);
    // Nested rows (one image as [1][3][224][224]).
    const nested = [
      [0, 1, 2].map((c) =>
        Array.from({ length: 224 }, (_, y) =>
          Array.from(tench.subarray(c * 50176 + y * 224, c * 50176 + (y + 1) * 224)),
        ),
      ),
    ];
    const viaNested = await postJson(`${server.url}/v2/models/${name}/infer`, {
      inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data: nested }],
    });
    expect(viaNested.body.outputs[0].data).toEqual(out.data.slice(0, 1000));
    const viaBytes = await postJson(`${server.url}/v2/models/${name}/infer`, {
      inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [images.tench.toString('base64')] }],
    });
    expect(viaBytes.body.outputs[0].data).toEqual(out.data.slice(0, 1000));
  });

  it('classification extension: top-k as "score:index:label"', async () => {
    const res = await postJson(`${server.url}/v2/models/${name}/infer`, {
      inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [images.mudTurtle.toString('base64')] }],
      outputs: [{ name: 'logits', parameters: { classification: 3 } }],
    });
    const out = res.body.outputs[0];
    expect(out).toMatchObject({ name: 'logits', datatype: 'BYTES', shape: [1, 3] });
    expect(out.data[0]).toMatch(/^0\.\d+:35:mud turtle$/);
  });

  it('refuses a wrong shape, datatype, element count or output name with 400', async () => {
    for (const input of [
      { name: 'input', shape: [1, 3, 100, 100], datatype: 'FP32', data: [1, 2, 3] },
      { name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data: [1, 2, 3] },
      { name: 'input', shape: [1], datatype: 'INT64', data: [1] },
      { name: 'image', shape: [2], datatype: 'BYTES', data: ['aGk='] },
    ]) {
      const res = await postJson(`${server.url}/v2/models/${name}/infer`, { inputs: [input] });
      expect(res.status, JSON.stringify(input).slice(0, 60)).toBe(400);
      expect(res.headers.get('x-error-code')).toBe('INVALID_INPUT');
      expect(typeof res.body.error).toBe('string');
    }
    const badOutput = await postJson(`${server.url}/v2/models/${name}/infer`, {
      inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [images.tench.toString('base64')] }],
      outputs: [{ name: 'probabilities' }],
    });
    expect(badOutput.status).toBe(400);
    const notImage = await postJson(`${server.url}/v2/models/${name}/infer`, {
      inputs: [
        {
          name: 'image',
          shape: [1],
          datatype: 'BYTES',
          data: [Buffer.from('plain text').toString('base64')],
        },
      ],
    });
    expect(notImage.status).toBe(415);
  });
});

describe('MTAILOR_MODEL pointing at a model manifest', () => {
  it("serves the manifest's model with its labels and recipe", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-manifest-server-'));
    symlinkSync(shared.int8Model, path.join(dir, 'fish.onnx'));
    const labels = Array.from({ length: 1000 }, (_, i) =>
      i === 0 ? 'a tench, from the manifest' : `label ${i}`,
    );
    writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(labels));
    const manifest = path.join(dir, 'fish.manifest.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        model: 'fish.onnx',
        recipe: 'imagenet-eval',
        labels: 'labels.json',
        numClasses: 1000,
      }),
    );
    const config = loadConfig({ MTAILOR_MODEL: manifest, HOST: '127.0.0.1', PORT: '0' });
    expect(config.modelName).toBe('fish');
    const server = await startServer({ modelPath: config.modelPath, modelName: config.modelName });
    try {
      const res = await postJson(`${server.url}/predict`, {
        image_base64: images.tench.toString('base64'),
        top_k: 1,
      });
      expect(res.status).toBe(200);
      expect(res.body.prediction.label).toBe('a tench, from the manifest');
      expect(res.body.model.name).toBe('fish');
      // imagenet-eval (Resize(256) + CenterCrop(224)), the manifest's recipe: another tench probability than resize-224's.
      const classifier = await server.app.mtailor.whenReady();
      expect(classifier.recipe.name).toBe('imagenet-eval');
      expect(classifier.manifest?.path).toBe(manifest);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
