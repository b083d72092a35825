/**
 * `multipart/form-data` forms that are not "one image file part (and a top_k field)": every one is refused at once
 * with a typed 4xx, whatever the sizes and order of its parts (the same against a server process, with 100 such
 * requests open: error-replies.test.ts).
 */
import { MULTIPART_LIMITS, parseMultipart } from '@mtailor/server/internal';
import { describe, expect, it } from 'vitest';
import { images } from '../../../test/support/server.js';

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
