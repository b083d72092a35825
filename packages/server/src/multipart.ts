/**
 * `multipart/form-data` for `POST /predict`: one file part (any field name) and an optional `top_k` field, parsed
 * from the body the intake has already buffered (intake-gate.ts), with `@fastify/busboy` — the parser
 * `@fastify/multipart` uses. `@fastify/multipart` itself reads the request's socket stream, which the intake has
 * consumed by then, so the form is parsed here, as a content-type parser, into a {@link MultipartForm}.
 * @module
 */
import { Readable } from 'node:stream';
import { Busboy, type BusboyInstance } from '@fastify/busboy';
import { ImageTooLargeError, InvalidInputError } from '@mtailor/core';
import type { FastifyInstance } from 'fastify';
import { ServerError } from './errors.js';

/** Limits of a form: at most 1 file, 4 fields, 5 parts, 1024 bytes per field. */
export const MULTIPART_LIMITS = { files: 1, fields: 4, parts: 5, fieldSize: 1024 } as const;

/**
 * A parsed `/predict` form: its one file and its `top_k` field as sent (text).
 *
 * @example
 * ```ts
 * if (request.body instanceof MultipartForm) classify(request.body.file);
 * ```
 */
export class MultipartForm {
  constructor(
    readonly file: Buffer | undefined,
    readonly topK: string | undefined,
  ) {}
}

function* slices(body: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
}

const malformed = (err: unknown): ServerError =>
  new ServerError(
    'BAD_REQUEST',
    `multipart: malformed form data (${err instanceof Error ? err.message : String(err)})`,
    { cause: err },
  );

/** Longest a form already in memory may take to parse before it is refused (it takes milliseconds). */
export const MULTIPART_PARSE_GUARD_MS = 2000;

const oneFile = (what: string): InvalidInputError =>
  new InvalidInputError(
    `multipart: ${what}; send exactly one image file part (and optionally a top_k field)`,
  );

/**
 * Parses a whole form body. Refuses at once, at the first problem found (typed errors): a second file part (400
 * `INVALID_INPUT`), a file over `maxFileBytes` (413 `IMAGE_TOO_LARGE`), a field other than `top_k`, `top_k` twice or
 * cut at 1024 bytes (400 `INVALID_INPUT`), more fields or parts than {@link MULTIPART_LIMITS} (413
 * `PAYLOAD_TOO_LARGE`), and anything busboy cannot parse — no or wrong boundary, a cut-off form (400 `BAD_REQUEST`).
 * An empty body is an empty form (then the route says "no file part"). A form that has not finished
 * {@link MULTIPART_PARSE_GUARD_MS} after its last byte was handed over is refused too (400 `BAD_REQUEST`): the reply
 * never waits on the parser.
 *
 * @example
 * ```ts
 * const form = await parseMultipart(body, request.headers, 10 * 1024 * 1024);
 * form.file; // Buffer | undefined
 * ```
 */
export function parseMultipart(
  body: Buffer,
  headers: Record<string, string | string[] | undefined>,
  maxFileBytes: number,
): Promise<MultipartForm> {
  return new Promise((resolve, reject) => {
    let parser: BusboyInstance;
    try {
      parser = new Busboy({
        headers: headers as { 'content-type': string },
        limits: { ...MULTIPART_LIMITS, fileSize: maxFileBytes },
        // The whole body is in memory already, so no stream inside the parser may ever report "full": busboy
        // (its Dicer) never resumes a part whose last write filled its buffer when the part's closing boundary
        // arrives alone in the next write, and the form then never finishes (a second file part, or any part it
        // skips, after a file of a few tens of KB). Buffers larger than the body never fill.
        highWaterMark: body.length + 1,
        fileHwm: body.length + 1,
        // A part is the image when it says it is one — a file name, or an image or octet-stream media type — so
        // `name="image"` with `Content-Type: image/jpeg` and no file name is the file, not a text field.
        isPartAFile: (_field, type, filename) =>
          filename !== undefined || type === 'application/octet-stream' || /^image\//i.test(type ?? ''),
      });
    } catch (err) {
      reject(malformed(err));
      return;
    }
    // Fed as a socket would (64 KB pieces, through a pipe that honours back-pressure).
    const source = Readable.from(slices(body, 64 * 1024), { objectMode: false });
    let settled = false;
    let guard: NodeJS.Timeout | undefined;
    const stop = (): void => {
      settled = true;
      clearTimeout(guard);
      source.unpipe(parser);
      source.destroy();
    };
    /** The first problem decides the answer: nothing after it is read. */
    const fail = (err: unknown): void => {
      if (settled) return;
      stop();
      // Busboy may still report on what it had in hand; nobody listens any more.
      parser.on('error', () => {});
      reject(err);
    };
    let file: Buffer | undefined;
    let files = 0;
    let topK: string | undefined;
    let pendingFiles = 0;
    let finished = false;
    const settle = (): void => {
      if (settled || !finished || pendingFiles > 0) return;
      stop();
      resolve(new MultipartForm(file, topK));
    };
    parser.on('file', (_name, stream) => {
      files += 1;
      if (files > 1) return fail(oneFile('more than one file part'));
      pendingFiles += 1;
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () =>
        fail(new ImageTooLargeError(`the file exceeds the limit of ${maxFileBytes} bytes`)),
      );
      stream.on('error', (err: unknown) => fail(malformed(err)));
      stream.on('end', () => {
        if (!stream.truncated) file = Buffer.concat(chunks);
        pendingFiles -= 1;
        settle();
      });
    });
    parser.on('field', (name, value, _nameTruncated, valueTruncated) => {
      if (name !== 'top_k') {
        fail(new InvalidInputError(`multipart: unknown field ${JSON.stringify(name)}`));
      } else if (valueTruncated) {
        // The parser cuts fields at its size limit: a cut value is not the one the client sent.
        fail(
          new InvalidInputError(
            `multipart: the top_k field is longer than ${MULTIPART_LIMITS.fieldSize} bytes`,
          ),
        );
      } else if (topK !== undefined) fail(new InvalidInputError('multipart: top_k given twice'));
      else topK = value;
    });
    parser.on('filesLimit', () => fail(oneFile('more than one file part')));
    parser.on('fieldsLimit', () =>
      fail(new ServerError('PAYLOAD_TOO_LARGE', `multipart: more than ${MULTIPART_LIMITS.fields} fields`)),
    );
    parser.on('partsLimit', () =>
      fail(new ServerError('PAYLOAD_TOO_LARGE', `multipart: more than ${MULTIPART_LIMITS.parts} parts`)),
    );
    parser.on('error', (err) => {
      // An empty body is an empty form, not a cut-off one.
      if (body.length > 0) return fail(malformed(err));
      finished = true;
      pendingFiles = 0;
      settle();
    });
    parser.on('finish', () => {
      finished = true;
      settle();
    });
    source.once('end', () => {
      guard = setTimeout(
        () => fail(malformed(new Error(`the form did not finish within ${MULTIPART_PARSE_GUARD_MS} ms`))),
        MULTIPART_PARSE_GUARD_MS,
      );
      guard.unref();
    });
    source.pipe(parser);
  });
}

/**
 * Registers the `multipart/form-data` body parser on `app` (an encapsulated context): the body becomes a
 * {@link MultipartForm}. Files over `maxFileBytes` are refused with 413 `IMAGE_TOO_LARGE`.
 *
 * @example
 * ```ts
 * useMultipartParser(app, 10 * 1024 * 1024);
 * app.post('/upload', async (request) => (request.body as MultipartForm).file?.length);
 * ```
 */
export function useMultipartParser(app: FastifyInstance, maxFileBytes: number): void {
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (request, body, done) => {
    parseMultipart(body as Buffer, request.headers, maxFileBytes).then(
      (form) => done(null, form),
      (err: Error) => done(err, undefined),
    );
  });
}
