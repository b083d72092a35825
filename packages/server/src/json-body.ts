/**
 * JSON request bodies that carry whole images as base64 strings, parsed without turning those strings into
 * JavaScript strings.
 *
 * Why: V8 allocates every string over 128 KB in its own freshly mapped memory and unmaps it at the next GC, so each
 * one page-faults all its pages in again — far more per byte than a small string. Fastify's JSON parser makes two of
 * them per request (the body text, then the `image_base64` value) and handing the value to a worker makes a third:
 * for a typical photo, that costs about as much CPU as decoding it.
 *
 * How: the body is read as bytes; the large string values at the paths a rule selects (`image_base64`, an OIP
 * BYTES tensor's `inputs[].data[]`) that contain no escape are cut out and replaced by a short placeholder before
 * `JSON.parse` (secure-json-parse, as Fastify's default parser, with the same errors); their bytes travel beside
 * the parsed object, on the request (`request.largeJsonStrings`, see {@link largeJsonString}). Everything else — other fields, other paths, strings with
 * escapes — parses exactly as before, so schema validation is unchanged.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ServerError } from './errors.js';

/** The bytes of the large strings one body's parse kept as bytes, by the placeholder standing in their place. */
export type LargeJsonStrings = ReadonlyMap<string, Uint8Array>;

/** A parsed JSON body and the large strings kept as bytes beside it (`undefined`: none). */
export interface ParsedJsonBody {
  body: unknown;
  largeStrings: LargeJsonStrings | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The large JSON strings of this request's body kept as bytes by the JSON parser (json-body.ts), or null. */
    largeJsonStrings: LargeJsonStrings | null;
  }
}

/** String values at least this long (in bytes) are kept as bytes. Well below V8's 128 KB large-object size. */
export const LARGE_JSON_STRING_BYTES = 16 * 1024;

/**
 * Deeper JSON is refused before parsing: no request of ours nests beyond 8 levels (an OIP tensor `[N][3][224][224]`
 * inside `inputs[]`), while a 16 MiB body of `[[[[…` costs the event loop seconds to parse and validate.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A per-process random placeholder: a client cannot forge one to make us substitute its value. */
const placeholderPrefix = `\u0000mtailor:${randomBytes(12).toString('hex')}:`;

/**
 * Which string values to keep as bytes, by path: object keys joined by `.`, each array level as `[]` — the
 * top-level `image_base64` is `"image_base64"`, an element of an OIP tensor's flat `data` is `"inputs[].data[]"`
 * (`"inputs[].data[][]"` when nested). Keys longer than 64 bytes never match.
 */
export type LargeStringRule = (path: string) => boolean;

/**
 * The bytes (UTF-8, no escapes) of a large string the parser kept as bytes, given the placeholder string found in
 * the parsed body where that string was and the request's `largeStrings`; `undefined` for any other value. Each
 * value has its own `ArrayBuffer`, so it can be transferred to a worker.
 */
export function largeJsonString(
  largeStrings: LargeJsonStrings | null | undefined,
  value: unknown,
): Uint8Array | undefined {
  if (!largeStrings || typeof value !== 'string' || !value.startsWith(placeholderPrefix)) return undefined;
  return largeStrings.get(value);
}

/** The bytes of the large top-level string `body[key]` if the parser kept it as bytes, else `undefined`. */
export function largeJsonValue(
  largeStrings: LargeJsonStrings | null | undefined,
  body: unknown,
  key: string,
): Uint8Array | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  return largeJsonString(largeStrings, (body as Record<string, unknown>)[key]);
}

function isWhitespace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Whether body[start, end) can be taken as the string's value byte for byte: no escape, and none of the raw
 * control characters JSON forbids inside strings that base64 decoding would skip as whitespace (tab, line feed,
 * carriage return) — such a body is invalid JSON, and `JSON.parse` must be the one to say so. Other control
 * characters fail base64 decoding anyway.
 */
function isPlainJsonString(body: Buffer, start: number, end: number): boolean {
  // Searched within the value only (a view, not a copy): a body holds many such values.
  const value = body.subarray(start, end);
  for (const c of [BACKSLASH, 0x09, 0x0a, 0x0d, 0x0b, 0x0c]) if (value.indexOf(c) >= 0) return false;
  return true;
}

/** One open object or array while scanning: for objects, the key whose value comes next. */
interface Frame {
  isObject: boolean;
  key: string | undefined;
}

function pathOf(frames: readonly Frame[]): string | undefined {
  let path = '';
  for (const f of frames) {
    if (!f.isObject) path += '[]';
    else if (f.key === undefined) return undefined;
    else path += path === '' ? f.key : `.${f.key}`;
  }
  return path;
}

/** Where each string value the rule selects, with ≥ `minBytes` bytes and no escape, lies: [start, end). */
function findLargeValues(body: Buffer, rule: LargeStringRule, minBytes: number): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  const frames: Frame[] = [];
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
      const top = frames.at(-1);
      if (top === undefined) continue;
      if (top.isObject) {
        let next = i;
        while (isWhitespace(body[next])) next++;
        if (body[next] === 0x3a /* : */) {
          top.key = end - start <= 64 ? body.toString('utf8', start, end) : undefined;
          continue;
        }
      }
      if (end - start >= minBytes) {
        const path = pathOf(frames);
        if (path !== undefined && rule(path) && isPlainJsonString(body, start, end)) found.push([start, end]);
      }
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (frames.length >= MAX_JSON_DEPTH) {
        throw new ServerError('BAD_REQUEST', `the JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`);
      }
      frames.push({ isObject: c === 0x7b, key: undefined });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      frames.pop();
    }
    i++;
  }
  return found;
}

/**
 * Parses a JSON body (bytes), keeping the large string values that `rule` selects as bytes: the parsed object
 * holds a placeholder string there (it passes `type: 'string'` schemas) and {@link largeJsonString}, given the
 * returned `largeStrings`, returns the bytes. `parse` is the JSON text parser to use (Fastify's default one, for its prototype-poisoning checks and
 * errors). A document whose top level is not an object is parsed as it is.
 */
export function parseJsonKeepingLargeStrings(
  body: Buffer,
  rule: LargeStringRule,
  parse: (text: string) => unknown,
  minBytes = LARGE_JSON_STRING_BYTES,
): ParsedJsonBody {
  const spans = body.length >= minBytes ? findLargeValues(body, rule, minBytes) : [];
  if (spans.length === 0) return { body: parse(body.toString('utf8')), largeStrings: undefined };
  const parts: Buffer[] = [];
  let from = 0;
  spans.forEach(([start, end], n) => {
    parts.push(body.subarray(from, start), Buffer.from(`\\u0000${placeholderPrefix.slice(1)}${n}`));
    from = end;
  });
  parts.push(body.subarray(from));
  const parsed = parse(Buffer.concat(parts).toString('utf8'));
  // Nowhere to keep the bytes: parse the original text instead (placeholders must never reach a route).
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { body: parse(body.toString('utf8')), largeStrings: undefined };
  const values = new Map<string, Uint8Array>();
  // A copy each (a memcpy, cheap): its own ArrayBuffer, movable to a worker without detaching the others.
  for (const [n, [start, end]] of spans.entries()) {
    values.set(`${placeholderPrefix}${n}`, new Uint8Array(body.subarray(start, end)));
  }
  return { body: parsed, largeStrings: values };
}

/**
 * Replaces the JSON body parser of `app` (an encapsulated context: the host app keeps its own) by
 * {@link parseJsonKeepingLargeStrings} with `rule`.
 */
export function useLargeStringJsonParser(app: FastifyInstance, rule: LargeStringRule): void {
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
  if (!app.hasRequestDecorator('largeJsonStrings')) app.decorateRequest('largeJsonStrings', null);
  if (app.hasContentTypeParser('application/json')) app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      const parsed = parseJsonKeepingLargeStrings(body as Buffer, rule, parseText);
      request.largeJsonStrings = parsed.largeStrings ?? null;
      done(null, parsed.body);
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
