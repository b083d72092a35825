/**
 * `POST /v2/models/{name}/infer` against bad input, on the real server with the shared model: every refusal is a
 * JSON `{ error: { code, message } }` with the right 4xx — never a 500, never a hang, nothing silently altered —
 * and a refused request leaves no work running behind it.
 */
import { DEFAULT_MAX_IMAGES_PER_REQUEST } from '@mtailor/server/internal';
import { afterAll, afterEach, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import {
  images,
  type JsonReply,
  json,
  postJson,
  startServer,
  type TestServer,
  TOKEN,
} from '../../../test/support/server.js';

const NAME = 'mobilenet_v2_int8_qdq';
/** The default cap on images per request (`MTAILOR_MAX_IMAGES_PER_REQUEST`). */
const MAX_IMAGES = DEFAULT_MAX_IMAGES_PER_REQUEST;
/** A 1×1 GIF (43 bytes): the smallest image there is, so many of them cost the client nothing. */
const GIF_1X1 = 'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';
const SHAPE = [1, 3, 224, 224];
const PER_IMAGE = 3 * 224 * 224;

let server: TestServer;
let url: string;
let prepare: MockInstance;

beforeAll(async () => {
  // A body limit above 65 FP32 images of zeros (≈ 20 MB of JSON), so that the image cap, not the body limit, is
  // what refuses them.
  server = await startServer({ maxBodyBytes: 32 * 1024 * 1024 });
  url = `${server.url}/v2/models/${NAME}/infer`;
  // Counts the images sent to the classifier: what a refused request must not have started.
  const classifier = await server.app.mtailor.whenReady();
  prepare = vi.spyOn(classifier, 'classify');
});
afterEach(() => {
  prepare.mockClear();
});
afterAll(async () => {
  prepare?.mockRestore();
  await server?.close();
});

const fp32 = (data: unknown, shape: number[] = SHAPE) => ({
  inputs: [{ name: 'input', shape, datatype: 'FP32', data }],
});
const bytes = (data: unknown[], shape: number[] = [data.length]) => ({
  inputs: [{ name: 'image', shape, datatype: 'BYTES', data }],
});
const zeros = (n: number): number[] => new Array<number>(n).fill(0);

/** `flat` nested exactly as `shape` (row-major). */
function nest(flat: readonly unknown[], shape: readonly number[]): unknown[] {
  const [dim, ...rest] = shape as [number, ...number[]];
  if (rest.length === 0) return flat.slice(0, dim);
  const size = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: dim }, (_, i) => nest(flat.slice(i * size, (i + 1) * size), rest));
}

function expectError(
  res: { status: number; body: JsonReply; headers: Headers },
  status: number,
  code: string,
  message?: RegExp,
) {
  expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(status);
  // KServe's error shape: `{ "error": "<message>" }`, nothing else; the code travels in a header.
  expect(Object.keys(res.body)).toEqual(['error']);
  expect(typeof res.body.error).toBe('string');
  expect(res.headers.get('x-error-code')).toBe(code);
  if (message) expect(res.body.error).toMatch(message);
}

describe('data nesting is checked against the shape', () => {
  const deepBody = (datatype: 'FP32' | 'BYTES', depth: number): string => {
    // Written out by hand: JSON.stringify itself recurses.
    const deep = `${'['.repeat(depth)}0${']'.repeat(depth)}`;
    const [name, shape] = datatype === 'FP32' ? ['input', SHAPE] : ['image', [1]];
    return `{"inputs":[{"name":"${name}","shape":${JSON.stringify(shape)},"datatype":"${datatype}","data":${deep}}]}`;
  };

  it('data nested 8 000 levels deep is a 400 from the route, not a stack overflow (500)', async () => {
    // 16 KB of JSON: small enough that the body parser's own depth check (json-body.ts, bodies of 16 KB and more)
    // does not see it, so this is the route's walk; a recursive flatten overflowed the stack from ≈ 6 000 levels.
    expectError(await postJson(url, deepBody('FP32', 8_000)), 400, 'INVALID_INPUT', /data\[0\] has 1 items/);
    expectError(
      await postJson(url, deepBody('BYTES', 8_000)),
      400,
      'INVALID_INPUT',
      /data\[0\] is an array, nested deeper than shape \[1\]/,
    );
  });

  it('data nested 10 000 and 100 000 levels deep is a JSON 400, whoever refuses it', async () => {
    for (const depth of [10_000, 100_000]) {
      for (const datatype of ['FP32', 'BYTES'] as const) {
        const res = await postJson(url, deepBody(datatype, depth));
        expect(res.status, `${datatype} ${depth}`).toBe(400);
        expect(['BAD_REQUEST', 'INVALID_INPUT']).toContain(res.headers.get('x-error-code'));
        expect(typeof res.body.error).toBe('string');
      }
    }
  });

  it('ragged, partly flat or too deep nesting is refused even when the number of values is right', async () => {
    const needs = /send data flat \(150528 values\) or nested exactly as the shape/;
    // The adversarial review's case: two rows of 150 428 and 100 values for [1, 3, 224, 224].
    const ragged = await postJson(url, fp32([zeros(150_428), zeros(100)]));
    expectError(ragged, 400, 'INVALID_INPUT', /data has 2 items where shape \[1, 3, 224, 224\] needs 1/);
    expect(ragged.body.error).toMatch(needs);
    // One channel a row short, the next a row long.
    const rows = nest(zeros(PER_IMAGE), SHAPE) as number[][][][];
    const image = rows[0] as number[][][];
    const moved = (image[2] as number[][]).pop() as number[];
    (image[1] as number[][]).push(moved);
    expectError(
      await postJson(url, fp32([[image[0], image[2], image[1]]])),
      400,
      'INVALID_INPUT',
      /data\[0\]\[1\] has 223 items where .* needs 224/,
    );
    // Nested at the first level only.
    expectError(
      await postJson(url, fp32([zeros(PER_IMAGE)])),
      400,
      'INVALID_INPUT',
      /data\[0\] has 150528 items where .* needs 3/,
    );
    // Flat with one value wrapped in an array.
    const mixed: unknown[] = zeros(PER_IMAGE);
    mixed[PER_IMAGE - 1] = [0];
    expectError(
      await postJson(url, fp32(mixed)),
      400,
      'INVALID_INPUT',
      /data\[150527\] is an array, nested deeper/,
    );
    // Nested exactly, with one value one level deeper.
    const deeper = nest(zeros(PER_IMAGE), SHAPE) as unknown[][][][];
    ((deeper[0] as unknown[][][])[2] as unknown[][])[223]?.splice(223, 1, [0]);
    expectError(
      await postJson(url, fp32(deeper)),
      400,
      'INVALID_INPUT',
      /data\[0\]\[2\]\[223\]\[223\] is an array/,
    );
    // A BYTES [N, 1] tensor nested as [[a], [b, c]].
    const tench = images.tench.toString('base64');
    expectError(
      await postJson(url, bytes([[tench], [tench, tench]], [2, 1])),
      400,
      'INVALID_INPUT',
      /data\[1\] has 2 items/,
    );
    expect(prepare).not.toHaveBeenCalled();
  });

  it('flat and exactly nested data still give the same logits (FP32, and BYTES [N, 1])', async () => {
    const values = Array.from({ length: PER_IMAGE }, (_, i) => ((i * 7919) % 1000) / 500 - 1);
    const flat = await postJson(url, fp32(values));
    expect(flat.status).toBe(200);
    const nested = await postJson(url, fp32(nest(values, SHAPE)));
    expect(nested.status).toBe(200);
    expect(nested.body.outputs[0].data).toEqual(flat.body.outputs[0].data);
    const tench = images.tench.toString('base64');
    const column = await postJson(url, bytes([[tench], [tench]], [2, 1]));
    expect(column.status).toBe(200);
    expect(column.body.outputs[0].shape).toEqual([2, 1000]);
  });
});

describe('FP32 values must be finite float32', () => {
  it('refuses 1e39 and -1e39 (Infinity as float32) with the element index; accepts the largest float32', async () => {
    const big = zeros(PER_IMAGE);
    big[5] = 1e39;
    expectError(
      await postJson(url, fp32(big)),
      400,
      'INVALID_INPUT',
      /element 5 \(data\[5\]\) is 1e\+39, outside the float32 range/,
    );
    const negative = zeros(PER_IMAGE);
    negative[PER_IMAGE - 1] = -1e39;
    expectError(
      await postJson(url, fp32(nest(negative, SHAPE))),
      400,
      'INVALID_INPUT',
      /element 150527 \(data\[0\]\[2\]\[223\]\[223\]\) is -1e\+39/,
    );
    const largest = zeros(PER_IMAGE);
    largest[0] = 3.4028234663852886e38;
    largest[1] = -3.4028234663852886e38;
    // float32's max as numpy prints it (shortest repr): above the exact value, but it rounds to it, so finite.
    largest[2] = 3.4028235e38;
    expect((await postJson(url, fp32(largest))).status).toBe(200);
  });
});

describe(`at most ${MAX_IMAGES} images per request`, () => {
  it('10 000 copies of a 1×1 GIF (a 590 KB body) are refused at once, nothing decoded', {
    timeout: 60_000,
  }, async () => {
    const t0 = performance.now();
    const res = await postJson(url, bytes(new Array(10_000).fill(GIF_1X1)));
    expectError(res, 400, 'INVALID_INPUT', /holds 10000 images; send at most 64 per request/);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(prepare).not.toHaveBeenCalled();
  });

  it(`${MAX_IMAGES} images are served, ${MAX_IMAGES + 1} refused (BYTES and FP32)`, async () => {
    const ok = await postJson(url, bytes(new Array(MAX_IMAGES).fill(GIF_1X1)));
    expect(ok.status).toBe(200);
    expect(ok.body.outputs[0].shape).toEqual([MAX_IMAGES, 1000]);
    prepare.mockClear();
    expectError(
      await postJson(url, bytes(new Array(MAX_IMAGES + 1).fill(GIF_1X1))),
      400,
      'INVALID_INPUT',
      /at most 64/,
    );
    expect(prepare).not.toHaveBeenCalled();
    // 65 images of zeros, ≈ 20 MB of JSON: refused from the shape.
    const n = MAX_IMAGES + 1;
    const fp = await postJson(url, fp32(zeros(n * PER_IMAGE), [n, 3, 224, 224]));
    expectError(fp, 400, 'INVALID_INPUT', /input input holds 65 images; send at most 64/);
  });
});

describe('a bad BYTES element stops the work on the others', () => {
  it('1 000 000 × "####" is refused at once; 64 of them without sending any to a worker', async () => {
    const t0 = performance.now();
    expectError(
      await postJson(url, bytes(new Array(1_000_000).fill('####'))),
      400,
      'INVALID_INPUT',
      /at most 64/,
    );
    expect(performance.now() - t0).toBeLessThan(5_000);
    expectError(
      await postJson(url, bytes(new Array(MAX_IMAGES).fill('####'))),
      400,
      'INVALID_INPUT',
      /image\[0\] is not valid base64/,
    );
    // A bad element late in the list is found before the good ones before it are decoded.
    const late = [...new Array(MAX_IMAGES - 1).fill(GIF_1X1), '####'];
    expectError(await postJson(url, bytes(late)), 400, 'INVALID_INPUT', /image\[63\] is not valid base64/);
    expectError(
      await postJson(url, bytes([GIF_1X1, 7])),
      400,
      'INVALID_INPUT',
      /element 1 must be a base64 string/,
    );
    expectError(await postJson(url, bytes([GIF_1X1, ''])), 400, 'INVALID_INPUT', /image\[1\] is empty/);
    expect(prepare).not.toHaveBeenCalled();
  });

  it('an element that only the decoder can refuse stops the rest from being sent', async () => {
    // Valid base64 of text: only decoding finds that it is not an image (415); 63 real images follow.
    const tench = images.tench.toString('base64');
    const data = [
      Buffer.from('plain text, not an image').toString('base64'),
      ...new Array(MAX_IMAGES - 1).fill(tench),
    ];
    const res = await postJson(url, bytes(data));
    expectError(res, 415, 'UNSUPPORTED_IMAGE');
    // At most two per preprocess worker (2) are in flight when the failure is seen; the rest are never sent.
    expect(prepare.mock.calls.length).toBeLessThanOrEqual(2 * server.config.preprocessWorkers + 2);
  });
});

describe('outputs', () => {
  it('the same output asked for twice is a 400 (not "last one wins")', async () => {
    const res = await postJson(url, {
      ...bytes([GIF_1X1]),
      outputs: [{ name: 'logits' }, { name: 'logits', parameters: { classification: 3 } }],
    });
    expectError(res, 400, 'INVALID_INPUT', /output "logits" is asked for more than once/);
    expect(prepare).not.toHaveBeenCalled();
  });
});

describe('only JSON bodies', () => {
  const post = (body: string | Uint8Array | FormData, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, ...headers }, body });

  it('raw bytes, multipart and text are 415 UNSUPPORTED_MEDIA_TYPE, not 400 "body must be object"', async () => {
    const form = new FormData();
    form.append('file', new Blob([images.tench], { type: 'image/jpeg' }), 'tench.jpg');
    for (const [what, res] of [
      ['octet-stream', await post(images.tench, { 'content-type': 'application/octet-stream' })],
      ['image/jpeg', await post(images.tench, { 'content-type': 'image/jpeg' })],
      ['multipart', await post(form)],
      ['text', await post('{"inputs": []}', { 'content-type': 'text/plain' })],
    ] as const) {
      expect(res.status, what).toBe(415);
      expect(res.headers.get('x-error-code'), what).toBe('UNSUPPORTED_MEDIA_TYPE');
      const body = await json(res);
      expect(body.error, what).toMatch(/^send application\/json \(the OIP v2 JSON tensor format\)/);
    }
    expect(prepare).not.toHaveBeenCalled();
  });

  it('auth still comes first, and JSON with a charset is JSON', async () => {
    const anonymous = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: images.tench,
    });
    expect(anonymous.status).toBe(401);
    const res = await post(JSON.stringify(bytes([GIF_1X1])), {
      'content-type': 'application/json; charset=utf-8',
    });
    expect(res.status).toBe(200);
  });
});
