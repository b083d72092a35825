/**
 * base64 decoding, from text and from bytes (what the server cuts out of a JSON body): both must give exactly the
 * image's bytes, on the real tench image, and refuse the same inputs with the same typed errors.
 */
import { readFileSync } from 'node:fs';
import { UnsupportedImageError } from '@mtailor/core';
import { decodeBase64Image } from '@mtailor/core/internal';
import { describe, expect, it } from 'vitest';
import { shared } from '../../../test/support/shared-data.js';

const tench = readFileSync(shared.tench);
const b64 = tench.toString('base64');

describe('decodeBase64Image from bytes', () => {
  const fromBytes = (s: string) => Buffer.from(decodeBase64Image(Buffer.from(s, 'utf8'), 10_000_000));
  const fromText = (s: string) => Buffer.from(decodeBase64Image(s, 10_000_000));

  it('decodes plain, URL-safe, line-wrapped and data-URL base64 to the image bytes, like the string path', () => {
    for (const text of [
      b64,
      tench.toString('base64url'),
      b64.replace(/(.{76})/g, '$1\r\n'),
      `data:image/jpeg;base64,${b64}`,
    ]) {
      expect(fromBytes(text).equals(tench)).toBe(true);
      expect(fromText(text).equals(tench)).toBe(true);
    }
  });

  it('refuses what the string path refuses, with the same codes', () => {
    for (const bad of [
      'aGV+_A==',
      'aGVsbG8===',
      'aGV=sbG8',
      'not base64 at all!',
      '',
      ' \n ',
      'a',
      'aGVsé',
      'aGVs\u2028bG8=', // Unicode line separator: not ASCII whitespace
      'aGVs\u00a0bG8=', // no-break space
    ]) {
      const codeOf = (f: () => unknown) => {
        try {
          f();
          return 'ok';
        } catch (err) {
          return (err as { code?: string }).code;
        }
      };
      expect(codeOf(() => fromBytes(bad))).toBe(codeOf(() => fromText(bad)));
      expect(codeOf(() => fromBytes(bad))).toBe('INVALID_INPUT');
    }
    expect(() => decodeBase64Image(Buffer.from(b64), 1000)).toThrow(/limit is 1000/);
  });

  it('a data URL must declare an image type: others are UNSUPPORTED_IMAGE by both paths', () => {
    for (const prefix of ['data:text/html;base64,', 'data:;base64,', 'data:application/pdf;base64,']) {
      for (const decode of [fromBytes, fromText]) {
        expect(() => decode(`${prefix}${b64}`)).toThrow(UnsupportedImageError);
        expect(() => decode(`${prefix}${b64}`)).toThrow(
          expect.objectContaining({ code: 'UNSUPPORTED_IMAGE' }),
        );
      }
    }
    for (const prefix of [
      'data:image/png;base64,',
      'DATA:IMAGE/JPEG;BASE64,',
      'data:application/octet-stream;base64,',
    ]) {
      expect(fromBytes(`${prefix}${b64}`).equals(tench)).toBe(true);
      expect(fromText(`${prefix}${b64}`).equals(tench)).toBe(true);
    }
  });
});
