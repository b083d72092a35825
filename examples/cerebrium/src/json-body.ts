/**
 * JSON request bodies that carry a whole image as a base64 string, parsed without turning that string into a
 * JavaScript string.
 *
 * Why: V8 allocates every string over 128 KB in its own freshly mapped memory and unmaps it at the next GC, so each
 * one page-faults all its pages in again: measured here ≈ 0.75 ms per 134 KB string (the tench image) against ≈ 10 µs
 * below 128 KB. Fastify's JSON parser makes two of them per request (the body text, then the `image_base64` value)
 * and handing the value to a worker makes a third — ≈ 2 ms of CPU per request, as much as decoding the JPEG.
 *
 * How: the body is read as bytes; the large top-level string values named in `keys` that contain no escape are cut
 * out and replaced by a short placeholder before `JSON.parse` (secure-json-parse, as Fastify's default parser, with
 * the same errors); their bytes are attached to the parsed object (see {@link largeJsonValue}). Everything else —
 * other fields, nested values, strings with escapes — parses exactly as before, so schema validation is unchanged.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

const LARGE_VALUES = Symbol('mtailor.largeJsonValues');

/** String values at least this long (in bytes) are kept as bytes. Well below V8's 128 KB large-object size. */
export const LARGE_JSON_STRING_BYTES = 16 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A per-process random placeholder: a client cannot forge one to make us substitute its value. */
const placeholderPrefix = `\u0000mtailor:${randomBytes(12).toString('hex')}:`;

type Parsed = Record<string | symbol, unknown>;

/** The bytes of a large string value the parser kept as bytes (UTF-8, no escapes), or `undefined`. */
export function largeJsonValue(body: unknown, key: string): Uint8Array | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const values = (body as Parsed)[LARGE_VALUES] as Map<string, Uint8Array> | undefined;
  return values?.get(key);
}

function isWhitespace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Where each top-level string value named in `keys` with ≥ `minBytes` bytes and no escape lies: [start, end). */
function findLargeValues(
  body: Buffer,
  keys: ReadonlySet<string>,
  minBytes: number,
): Array<[number, number, string]> {
  const found: Array<[number, number, string]> = [];
  let depth = 0;
  let topIsObject = false;
  let lastKey: string | undefined;
  let i = 0;
  while (i < body.length) {
    const c = body[i] as number;
    if (c === QUOTE) {
      const start = i + 1;
      // Closing quote: the next '"' not preceded by an odd number of backslashes (memchr, not a JS loop).
      let end = body.indexOf(QUOTE, start);
      while (end > 0) {
        let k = end - 1;
        while (body[k] === BACKSLASH) k--;
        if ((end - 1 - k) % 2 === 0) break;
        end = body.indexOf(QUOTE, end + 1);
      }
      if (end < 0) return []; // malformed: JSON.parse reports it
      i = end + 1;
      if (depth !== 1 || !topIsObject) continue;
      let next = i;
      while (isWhitespace(body[next])) next++;
      if (body[next] === 0x3a /* : */) {
        lastKey = end - start <= 64 ? body.toString('utf8', start, end) : undefined;
        continue;
      }
      if (lastKey !== undefined && keys.has(lastKey) && end - start >= minBytes) {
        const backslash = body.indexOf(BACKSLASH, start);
        if (backslash < 0 || backslash >= end) found.push([start, end, lastKey]);
      }
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth === 0) topIsObject = c === 0x7b;
      depth++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
    i++;
  }
  return found;
}

/**
 * Parses a JSON body (bytes), keeping the large string values of the top-level `keys` as bytes: the parsed object
 * holds a placeholder string there (it passes `type: 'string'` schemas) and {@link largeJsonValue} returns the
 * bytes. `parse` is the JSON text parser to use (Fastify's default one, for its prototype-poisoning checks and
 * errors).
 */
export function parseJsonKeepingLargeStrings(
  body: Buffer,
  keys: ReadonlySet<string>,
  parse: (text: string) => unknown,
  minBytes = LARGE_JSON_STRING_BYTES,
): unknown {
  const spans = body.length >= minBytes ? findLargeValues(body, keys, minBytes) : [];
  if (spans.length === 0) return parse(body.toString('utf8'));
  // The values' bytes may be moved to a worker (their whole ArrayBuffer): it must be the body's alone, not a pool.
  if (body.byteOffset !== 0 || body.byteLength !== body.buffer.byteLength) body = Buffer.from(body);
  const parts: Buffer[] = [];
  let from = 0;
  spans.forEach(([start, end], n) => {
    parts.push(body.subarray(from, start), Buffer.from(`\\u0000${placeholderPrefix.slice(1)}${n}`));
    from = end;
  });
  parts.push(body.subarray(from));
  const parsed = parse(Buffer.concat(parts).toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return parsed;
  const values = new Map<string, Uint8Array>();
  spans.forEach(([start, end, key], n) => {
    // A duplicate key may have replaced our value: attach the bytes only where the placeholder survived.
    if ((parsed as Parsed)[key] === `${placeholderPrefix}${n}`) values.set(key, body.subarray(start, end));
  });
  Object.defineProperty(parsed, LARGE_VALUES, { value: values, enumerable: false });
  return parsed;
}

/**
 * Replaces the JSON body parser of `app` (an encapsulated context: the host app keeps its own) by
 * {@link parseJsonKeepingLargeStrings} for the top-level `keys`.
 */
export function useLargeStringJsonParser(app: FastifyInstance, keys: readonly string[]): void {
  const keySet = new Set(keys);
  const defaultParser = app.getDefaultJsonParser(
    app.initialConfig.onProtoPoisoning ?? 'error',
    app.initialConfig.onConstructorPoisoning ?? 'error',
  );
  const parseText = (text: string): unknown => {
    let result: unknown;
    let error: Error | null = null;
    defaultParser(undefined as never, text, (err, value) => {
      error = err;
      result = value;
    });
    if (error) throw error;
    return result;
  };
  if (app.hasContentTypeParser('application/json')) app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonKeepingLargeStrings(body as Buffer, keySet, parseText));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
