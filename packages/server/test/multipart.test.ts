/**
 * `multipart/form-data` forms that are not "one image file part (and a top_k field)": every one is answered at once
 * with a typed 4xx, whatever the sizes and order of its parts — in the parser, and with 100 such requests open
 * against a real server process while a normal `/predict` is still answered.
 */
import { performance } from 'node:perf_hooks';
import { MULTIPART_LIMITS, parseMultipart } from '@mtailor/server/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images, json, type ServerProcess, spawnPackageServer, TOKEN } from '../../../test/support/server.js';

const BOUNDARY = 'XyZ0123';
const contentType = `multipart/form-data; boundary=${BOUNDARY}`;

type PartKind = 'file' | 'top_k' | 'no-disposition' | 'attachment' | 'unknown-field';

/** A form body with one part of each kind in `kinds`, each file part `fileBytes` long. */
function form(kinds: readonly PartKind[], fileBytes: number): Buffer {
  const parts = kinds.map((kind, i) => {
    const head = {
      file: `content-disposition: form-data; name="f${i}"; filename="f${i}.jpg"\r\ncontent-type: image/jpeg`,
      top_k: 'content-disposition: form-data; name="top_k"',
      'no-disposition': 'content-type: image/jpeg',
      attachment: `content-disposition: attachment; name="a${i}"`,
      'unknown-field': `content-disposition: form-data; name="x${i}"`,
    }[kind];
    const value =
      kind === 'top_k' || kind === 'unknown-field' ? Buffer.from('3') : Buffer.alloc(fileBytes, i + 1);
    return Buffer.concat([Buffer.from(`--${BOUNDARY}\r\n${head}\r\n\r\n`), value, Buffer.from('\r\n')]);
  });
  return Buffer.concat([...parts, Buffer.from(`--${BOUNDARY}--\r\n`)]);
}

/** Settles within `ms` or says it hung (a guard against hangs, not a timing assertion). */
function withinOrHang<T>(promise: Promise<T>, ms: number): Promise<T | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => {
    timer = setTimeout(() => r('hung'), ms);
  });
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer));
}

describe('parseMultipart', () => {
  // File sizes around the parser's stream buffers (16 KB) and the 64 KB pieces the body is fed in: the sizes at
  // which busboy stalled after a file part filled its buffer and a part it skips followed.
  const sizes = [1, 1000, 16_384, 16_385, 65_000, 65_536, 70_000, 140_000, 600_000];

  it('refuses two or more file parts at once with 400 INVALID_INPUT naming the problem, at every size', async () => {
    for (const kinds of [
      ['file', 'file'],
      ['file', 'file', 'file'],
      ['top_k', 'file', 'file'],
    ] as const) {
      for (const size of sizes) {
        const result = await withinOrHang(
          parseMultipart(form(kinds, size), { 'content-type': contentType }, 10 * 1024 * 1024).then(
            () => 'parsed',
            (err: { code?: string; message?: string }) => err,
          ),
          5000,
        );
        const what = `${kinds.join('+')} of ${size} bytes`;
        expect(result, what).not.toBe('hung');
        expect(result, what).toMatchObject({
          code: 'INVALID_INPUT',
          message: expect.stringMatching(/more than one file part; send exactly one image file part/),
        });
      }
    }
  });

  it('a file followed by a part the parser skips still parses, at every size', async () => {
    for (const kinds of [
      ['file', 'no-disposition'],
      ['file', 'attachment'],
      ['file', 'attachment', 'top_k'],
    ] as const) {
      for (const size of sizes) {
        const result = await withinOrHang(
          parseMultipart(form(kinds, size), { 'content-type': contentType }, 10 * 1024 * 1024),
          5000,
        );
        const what = `${kinds.join('+')} of ${size} bytes`;
        expect(result, what).not.toBe('hung');
        if (result === 'hung') continue;
        expect(result.file?.length, what).toBe(size);
        expect(
          result.file?.every((b) => b === 1),
          what,
        ).toBe(true);
        expect(result.topK, what).toBe(kinds.includes('top_k' as never) ? '3' : undefined);
      }
    }
  });

  it('a part that says it is an image (image/* type, no file name) is the file part', async () => {
    const imagePart = (name: string) =>
      Buffer.from(
        `--${BOUNDARY}\r\ncontent-disposition: form-data; name="${name}"\r\ncontent-type: image/jpeg\r\n\r\n`,
      );
    const one = Buffer.concat([imagePart('image'), images.tench, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
    const form = await parseMultipart(one, { 'content-type': contentType }, 1e7);
    expect(form.file?.equals(images.tench)).toBe(true);
    // With a second one, it counts as a second file part.
    const two = Buffer.concat([
      imagePart('a'),
      images.tench,
      Buffer.from('\r\n'),
      imagePart('b'),
      images.tench,
      Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
    ]);
    await expect(parseMultipart(two, { 'content-type': contentType }, 1e7)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/more than one file part/),
    });
  });

  it('more parts than the limit is 413 PAYLOAD_TOO_LARGE; an unknown field 400 INVALID_INPUT, at once', async () => {
    const manyParts = Array.from({ length: MULTIPART_LIMITS.parts + 1 }, () => 'attachment' as const);
    await expect(
      parseMultipart(form(['file', ...manyParts], 70_000), { 'content-type': contentType }, 1e7),
    ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    await expect(
      parseMultipart(form(['file', 'unknown-field'], 70_000), { 'content-type': contentType }, 1e7),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/unknown field "x1"/) });
  });
});

describe('100 two-file requests open at once against a server process', () => {
  // Its own process, as deployed: the 100 uploads sent from this test do not share the server's event loop.
  let server: ServerProcess;
  beforeAll(async () => {
    server = await spawnPackageServer({ MTAILOR_PREPROCESS_WORKERS: '1', MTAILOR_INTRA_OP_THREADS: '1' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('every one gets its 400 quickly, and a normal /predict is answered meanwhile', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    // 140 KB file parts: a size at which a second file part left the request unanswered, holding its work slot.
    const twoFiles = form(['file', 'file'], 140_000);
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
