/**
 * The JSON body parser that keeps a large `image_base64` as bytes: it must give exactly what `JSON.parse` gives, on
 * the real tench image. (Decoding those bytes is `@mtailor/core`'s, tested in core's `input-base64.test.ts`.)
 */
import { readFileSync } from 'node:fs';
import {
  isBase64ImagePath,
  LARGE_JSON_STRING_BYTES,
  largeJsonString,
  largeJsonValue,
  MAX_JSON_DEPTH,
  parseJsonKeepingLargeStrings,
} from '@mtailor/server/internal';
import { describe, expect, it } from 'vitest';
import { shared } from '../../../test/support/server.js';

const tench = readFileSync(shared.tench);
const b64 = tench.toString('base64');
const parse = (text: string): unknown => JSON.parse(text);
// The server's own rule: `image_base64` at the top, OIP `inputs[].data[]…`.
const parseBody = (text: string) => parseJsonKeepingLargeStrings(Buffer.from(text), isBase64ImagePath, parse);

describe('parseJsonKeepingLargeStrings', () => {
  it('cuts a large top-level image_base64 out as bytes; other fields parse as JSON.parse does', () => {
    for (const text of [
      JSON.stringify({ image_base64: b64, top_k: 3 }),
      JSON.stringify({ top_k: 3, image_base64: b64 }),
      `{ "top_k" : 3 ,\n "image_base64"  :\t"${b64}" }`,
    ]) {
      const parsed = parseBody(text);
      const body = parsed.body as { image_base64: unknown; top_k: number };
      expect(body.top_k).toBe(3);
      expect(Object.keys(body).sort()).toEqual(['image_base64', 'top_k']);
      expect(typeof body.image_base64).toBe('string'); // a placeholder: `type: 'string'` schemas still pass
      const bytes = largeJsonValue(parsed.largeStrings, body, 'image_base64');
      expect(Buffer.from(bytes as Uint8Array).toString('latin1')).toBe(b64);
    }
  });

  it('keeps the elements of OIP BYTES tensors (flat or nested data) as bytes, each its own buffer', () => {
    const turtle = readFileSync(shared.mudTurtle).toString('base64');
    const request = {
      id: 'r1',
      inputs: [
        { name: 'a', shape: [2], datatype: 'BYTES', data: [b64, turtle] },
        { name: 'b', shape: [1, 1], datatype: 'BYTES', data: [[turtle]] },
      ],
      outputs: [{ name: 'logits' }],
    };
    const parsed = parseBody(JSON.stringify(request));
    const large = parsed.largeStrings;
    const body = parsed.body as typeof request & { inputs: Array<{ data: unknown[] }> };
    expect(body.id).toBe('r1');
    expect(body.outputs).toEqual(request.outputs);
    const [a, b] = body.inputs as unknown as [{ data: unknown[] }, { data: unknown[][] }];
    const first = largeJsonString(large, a.data[0]);
    const second = largeJsonString(large, a.data[1]);
    const nested = largeJsonString(large, b.data[0]?.[0]);
    expect(Buffer.from(first as Uint8Array).toString('latin1')).toBe(b64);
    expect(Buffer.from(second as Uint8Array).toString('latin1')).toBe(turtle);
    expect(Buffer.from(nested as Uint8Array).toString('latin1')).toBe(turtle);
    // Separate ArrayBuffers: moving one to a worker must not detach another.
    expect(new Set([first?.buffer, second?.buffer, nested?.buffer]).size).toBe(3);
    // Anything else is not a kept value.
    expect(largeJsonString(large, b64)).toBeUndefined();
    expect(largeJsonString(large, 'r1')).toBeUndefined();
  });

  it('leaves small values, escaped values, other paths and top-level arrays to JSON.parse', () => {
    const escaped = `${b64.slice(0, 5000)}\n${b64.slice(5000)}`;
    const cases: unknown[] = [
      { image_base64: 'aGVsbG8=' },
      { image_base64: escaped },
      { other: b64 },
      { image_url: b64 },
      { nested: { image_base64: b64 } },
      { id: b64, inputs: [{ name: b64, data: ['x'] }] },
      { inputs: [{ parameters: { data: [b64] } }] },
      [b64],
      [{ image_base64: b64 }],
    ];
    for (const value of cases) {
      const { body, largeStrings } = parseBody(JSON.stringify(value));
      expect(body).toEqual(value);
      expect(largeStrings).toBeUndefined();
      expect(largeJsonValue(largeStrings, body, 'image_base64')).toBeUndefined();
    }
  });

  it('a document whose top level is not an object parses as it is, placeholders never leak', () => {
    const everything = () => true;
    expect(parseJsonKeepingLargeStrings(Buffer.from(JSON.stringify([b64])), everything, parse)).toEqual({
      body: [b64],
      largeStrings: undefined,
    });
  });

  it('a later duplicate key wins, as with JSON.parse, and gets no bytes attached', () => {
    const { body, largeStrings } = parseBody(`{"image_base64": "${b64}", "image_base64": "x"}`);
    expect(body).toEqual({ image_base64: 'x' });
    expect(largeJsonValue(largeStrings, body, 'image_base64')).toBeUndefined();
  });

  it('malformed JSON is refused by the text parser', () => {
    expect(() => parseBody(`{"image_base64": "${b64}"`)).toThrow(SyntaxError);
    expect(() => parseBody(`{"image_base64": "${b64}`)).toThrow(SyntaxError);
  });

  it('a large value with a raw tab or line break (invalid JSON) is left to JSON.parse, which refuses it', () => {
    for (const raw of ['\n', '\t', '\r']) {
      const text = `{"image_base64": "${b64.slice(0, 20_000)}${raw}${b64.slice(20_000)}"}`;
      expect(() => parseBody(text)).toThrow(SyntaxError);
    }
  });

  it(`refuses JSON nested deeper than ${MAX_JSON_DEPTH} levels before parsing it`, () => {
    const deep = `${'['.repeat(MAX_JSON_DEPTH + 1)}${' '.repeat(LARGE_JSON_STRING_BYTES)}${']'.repeat(MAX_JSON_DEPTH + 1)}`;
    expect(() => parseBody(`{"a": ${deep}}`)).toThrow(/nested deeper than 64 levels/);
    const fine = `${'['.repeat(MAX_JSON_DEPTH - 2)}${' '.repeat(LARGE_JSON_STRING_BYTES)}${']'.repeat(MAX_JSON_DEPTH - 2)}`;
    expect(() => parseBody(`{"a": ${fine}}`)).not.toThrow();
  });
});
