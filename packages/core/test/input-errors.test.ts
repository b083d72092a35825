/**
 * Every bad input gives its typed error with a stable code — each made for real here: truncated and corrupt
 * images, zero bytes, text, SVG/PDF/HEIC, pixel bombs, oversized files and endless streams, bad options.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import { crc32, createDeflate } from 'node:zlib';
import {
  ImagePreprocessor,
  ImageReadError,
  ImageTooLargeError,
  InvalidImageError,
  InvalidOptionError,
  MtailorError,
  UnsupportedImageError,
} from '@mtailor/core';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { shared } from '../../../test/support/shared-data.js';
import { readImageBytes, readImageFileSync } from '../src/input/read-image-bytes.js';

const preprocessor = new ImagePreprocessor();
const tench = readFileSync(shared.tench);
const dir = mkdtempSync(path.join(tmpdir(), 'mtailor-input-errors-'));

async function errorOf(promise: Promise<unknown>): Promise<MtailorError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(MtailorError);
    return err as MtailorError;
  }
  throw new Error('expected the call to throw');
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A real, valid 8-bit gray PNG of `width` × `height` zero pixels, deflated as it streams (tiny file, huge image). */
async function compressedBombPng(width: number, height: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const compressed: Buffer[] = [];
  deflate.on('data', (c: Buffer) => compressed.push(c));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  const row = Buffer.alloc(width + 1); // filter byte 0 + zero pixels
  for (let y = 0; y < height; y++) {
    if (!deflate.write(row)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await done;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // gray
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', Buffer.concat(compressed)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('InvalidImageError (INVALID_IMAGE)', () => {
  it('zero bytes: buffer, empty file, empty stream', async () => {
    const emptyFile = path.join(dir, 'empty.jpg');
    writeFileSync(emptyFile, '');
    for (const input of [Buffer.alloc(0), new ArrayBuffer(0), emptyFile, Readable.from([])]) {
      const err = await errorOf(preprocessor.process(input));
      expect(err).toBeInstanceOf(InvalidImageError);
      expect(err.code).toBe('INVALID_IMAGE');
      expect(err.message).toMatch(/empty/);
    }
  });

  it('a truncated JPEG does not decode to grey: it is refused', async () => {
    for (const fraction of [0.5, 0.99]) {
      const err = await errorOf(preprocessor.process(tench.subarray(0, Math.floor(tench.length * fraction))));
      expect(err).toBeInstanceOf(InvalidImageError);
      expect(err.message).toMatch(/Cannot decode the JPEG image: .*premature end/i);
    }
  });

  it('a JPEG of only its signature, and a truncated PNG', async () => {
    expect(await errorOf(preprocessor.decode(Buffer.from([0xff, 0xd8, 0xff])))).toBeInstanceOf(
      InvalidImageError,
    );
    const png = await sharp(tench).png().toBuffer();
    const err = await errorOf(preprocessor.decode(png.subarray(0, png.length - 2000)));
    expect(err).toBeInstanceOf(InvalidImageError);
    expect(err.message).toMatch(/PNG/);
  });

  it('a JPEG whose tables are overwritten with garbage', async () => {
    const corrupt = Buffer.from(tench);
    corrupt.fill(0x5a, 4, 600);
    const err = await errorOf(preprocessor.decode(corrupt));
    expect(err).toBeInstanceOf(InvalidImageError);
  });

  it('a PNG with a corrupt IDAT checksum', async () => {
    const png = Buffer.from(await sharp(tench).resize(64, 48).png().toBuffer());
    const idat = png.indexOf('IDAT', 0, 'latin1');
    png[idat + 10] = (png[idat + 10] as number) ^ 0xff;
    expect(await errorOf(preprocessor.decode(png))).toBeInstanceOf(InvalidImageError);
  });
});

describe('UnsupportedImageError (UNSUPPORTED_IMAGE)', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['a text file', Buffer.from('label,probability\ntench,0.97\n'), /text, not an image/],
    [
      'an SVG',
      Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'),
      /SVG/,
    ],
    ['a PDF', Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n', 'latin1'), /PDF/],
    [
      'a HEIC',
      Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic\0\0\0\0mif1heic', 'latin1')]),
      /HEIC/,
    ],
    ['a BMP', Buffer.concat([Buffer.from('BM', 'latin1'), Buffer.alloc(60, 1)]), /BMP/],
    ['random binary', Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 7919) % 256)), /first bytes/],
  ];
  for (const [name, bytes, message] of cases) {
    it(`${name} (from a file)`, async () => {
      const file = path.join(dir, name.replace(/\W+/g, '-'));
      writeFileSync(file, bytes);
      const err = await errorOf(preprocessor.process(file));
      expect(err).toBeInstanceOf(UnsupportedImageError);
      expect(err.code).toBe('UNSUPPORTED_IMAGE');
      expect(err.message).toMatch(message);
      expect(err.message).toMatch(/expected JPEG, PNG, WebP, GIF, TIFF or AVIF/);
    });
  }

  it('a real SVG that sharp itself would render is still refused', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>',
    );
    expect((await sharp(svg).metadata()).format).toBe('svg'); // libvips would happily load it
    expect(await errorOf(preprocessor.decode(svg))).toBeInstanceOf(UnsupportedImageError);
  });
});

describe('ImageTooLargeError (IMAGE_TOO_LARGE)', () => {
  it('a PNG header claiming 100000 × 100000 pixels', async () => {
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(100_000, 0);
    ihdr.writeUInt32BE(100_000, 4);
    ihdr[8] = 8;
    ihdr[9] = 2;
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      pngChunk('IHDR', ihdr),
      pngChunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
      pngChunk('IEND', Buffer.alloc(0)),
    ]);
    const err = await errorOf(preprocessor.process(png));
    expect(err).toBeInstanceOf(ImageTooLargeError);
    expect(err.code).toBe('IMAGE_TOO_LARGE');
    expect(err.message).toMatch(/100000×100000 = 10000000000 pixels, over the limit of 100000000/);
  });

  it('a valid, highly compressible 12000 × 10000 PNG (a decompression bomb) under the default limit', async () => {
    const bomb = await compressedBombPng(12_000, 10_000);
    expect(bomb.length).toBeLessThan(1_000_000); // < 1 MB that would decode to 120 megapixels
    const err = await errorOf(preprocessor.process(bomb));
    expect(err).toBeInstanceOf(ImageTooLargeError);
    expect(err.message).toMatch(/12000×10000/);
  });

  it('maxPixels applies to a real photo', async () => {
    const small = new ImagePreprocessor({ maxPixels: 100_000 });
    const err = await errorOf(small.process(shared.tench));
    expect(err).toBeInstanceOf(ImageTooLargeError);
    expect(err.message).toMatch(/500×375 = 187500 pixels, over the limit of 100000 \(maxPixels\)/);
  });

  it('maxInputBytes: a byte array and a file are refused by size, the file before it is read', async () => {
    const limited = new ImagePreprocessor({ maxInputBytes: 10_000 });
    expect(tench.length).toBeGreaterThan(10_000);
    const fromBytes = await errorOf(limited.process(tench));
    expect(fromBytes).toBeInstanceOf(ImageTooLargeError);
    expect(fromBytes.message).toMatch(/over the limit of 9\.8 KiB \(maxInputBytes: 10000\)/);
    const fromFile = await errorOf(limited.process(shared.tench));
    expect(fromFile).toBeInstanceOf(ImageTooLargeError);
    expect(fromFile.message).toMatch(/n01440764_tench\.JPEG/);
  });

  it('maxInputBytes: an endless stream is stopped early and destroyed', async () => {
    let pulled = 0;
    let finished = false;
    const chunk = Buffer.alloc(64 * 1024, 0xff);
    const endless = Readable.from(
      (function* () {
        try {
          for (;;) {
            pulled++;
            yield chunk;
          }
        } finally {
          finished = true;
        }
      })(),
    );
    const limited = new ImagePreprocessor({ maxInputBytes: 1024 * 1024 });
    const err = await errorOf(limited.process(endless));
    expect(err).toBeInstanceOf(ImageTooLargeError);
    expect(err.message).toMatch(/The image stream is over 1\.0 MiB/);
    expect(pulled).toBeLessThanOrEqual(1024 / 64 + 3); // read up to the limit (plus stream read-ahead), not more
    expect(endless.destroyed).toBe(true);
    expect(finished).toBe(true);
  });
});

describe('a file read on the calling thread (as engine workers read) fails as the asynchronous read does', () => {
  const cases: [string, string, number][] = [
    ['a missing file', path.join(dir, 'nope.jpg'), 1024 * 1024],
    ['a directory', dir, 1024 * 1024],
    ['a file over maxInputBytes', shared.tench, 10_000],
  ];
  it.each(cases)('%s', async (_what, file, maxBytes) => {
    // Both from the source modules (the error classes of '@mtailor/core' are the built ones).
    const asyncError = await readImageBytes(file, maxBytes).then(
      () => undefined,
      (err: unknown) => err as MtailorError,
    );
    let syncError: MtailorError | undefined;
    try {
      readImageFileSync(file, maxBytes);
    } catch (err) {
      syncError = err as MtailorError;
    }
    expect(asyncError?.code).toMatch(/^IMAGE_(READ_FAILED|TOO_LARGE)$/);
    expect(syncError?.constructor).toBe(asyncError?.constructor);
    expect(syncError?.code).toBe(asyncError?.code);
    expect(syncError?.message).toBe(asyncError?.message);
  });

  it('a FIFO with no writer is refused at once by both (opening it for reading would wait for a writer)', async () => {
    const fifo = path.join(dir, 'no-writer.fifo');
    execFileSync('mkfifo', [fifo]);
    const asyncError = await readImageBytes(fifo, 1024 * 1024).then(
      () => undefined,
      (err: unknown) => err as MtailorError,
    );
    expect(asyncError?.code).toBe('IMAGE_READ_FAILED');
    expect(asyncError?.message).toMatch(/is not a regular file/);
    expect(() => readImageFileSync(fifo, 1024 * 1024)).toThrow(/is not a regular file/);
  }, 5000);

  it('a readable file: the same bytes', async () => {
    expect(readImageFileSync(shared.tench, 1024 * 1024)).toEqual(
      await readImageBytes(shared.tench, 1024 * 1024),
    );
  });
});

describe('ImageReadError (IMAGE_READ_FAILED) and bad input types', () => {
  it('a missing file, a directory, a failing stream', async () => {
    const missing = await errorOf(preprocessor.process(path.join(dir, 'nope.jpg')));
    expect(missing).toBeInstanceOf(ImageReadError);
    expect(missing.code).toBe('IMAGE_READ_FAILED');
    expect(missing.message).toMatch(/no such file/);
    expect(await errorOf(preprocessor.process(dir))).toBeInstanceOf(ImageReadError);
    const failing = new Readable({
      read() {
        this.destroy(new Error('connection reset'));
      },
    });
    const err = await errorOf(preprocessor.process(failing));
    expect(err).toBeInstanceOf(ImageReadError);
    expect(err.message).toMatch(/connection reset/);
  });

  it('an endless web ReadableStream is cancelled at the limit', async () => {
    let pulled = 0;
    let cancelled = false;
    const web = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(64 * 1024));
      },
      cancel() {
        cancelled = true;
      },
    });
    const err = await errorOf(new ImagePreprocessor({ maxInputBytes: 1024 * 1024 }).process(web));
    expect(err).toBeInstanceOf(ImageTooLargeError);
    expect(pulled).toBeLessThanOrEqual(1024 / 64 + 3);
    expect(cancelled).toBe(true);
  });

  it('a stream in text mode is refused (its bytes would be mangled)', async () => {
    const stream = Readable.from([tench]);
    stream.setEncoding('latin1');
    expect(await errorOf(preprocessor.process(stream))).toBeInstanceOf(InvalidImageError);
  });

  it('values that are not an ImageInput', async () => {
    for (const input of [42, null, { path: 'a.jpg' }, ''] as unknown[]) {
      const err = await errorOf(preprocessor.process(input as string));
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect(err.message).toMatch(
        /^Expected (Uint8Array, ArrayBuffer, file path or readable stream|non-empty file path) for input but received/,
      );
    }
  });
});

describe('option validation (InvalidOptionError, INVALID_OPTION)', () => {
  const cases: [unknown, string | RegExp][] = [
    [{ resize: 'turbo' }, 'Expected one of: exact, fast for resize but received "turbo" of type string'],
    [{ autoOrient: 'yes' }, 'Expected boolean for autoOrient but received "yes" of type string'],
    [{ maxInputBytes: -1 }, 'Expected positive integer for maxInputBytes but received -1 of type number'],
    [{ maxPixels: 1.5 }, 'Expected positive integer for maxPixels but received 1.5 of type number'],
    [{ recipe: 'resize-256' }, /^Expected a recipe object or one of: resize-224, imagenet-eval for recipe/],
    [{ recipe: { steps: [{ op: 'blur' }], tensor: {} } }, /recipe\.steps\[0\]/],
    [{ layout: 'NHWC' }, /Unknown option "layout" for ImagePreprocessor/],
    ['fast', 'Expected object for options but received "fast" of type string'],
    [
      {
        resize: 'fast',
        recipe: { steps: [{ op: 'resize', width: 224, height: 224, filter: 'box' }], tensor: {} },
      },
      /engine 'fast' has no libvips kernel for filter 'box'/,
    ],
    [
      { resize: 'fast', recipe: { steps: [{ op: 'centerCrop', width: 224, height: 224 }], tensor: {} } },
      /engine 'fast' runs recipes of the form .* this recipe has \[centerCrop\]/,
    ],
  ];
  for (const [options, message] of cases) {
    it(`${JSON.stringify(options)}`, () => {
      let thrown: unknown;
      try {
        new ImagePreprocessor(options as never);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(InvalidOptionError);
      expect((thrown as InvalidOptionError).code).toBe('INVALID_OPTION');
      expect((thrown as Error).message).toMatch(message);
    });
  }

  it('withLayout rejects anything but NCHW/NHWC; a too-small target is an option error', async () => {
    expect(() => preprocessor.withLayout('CHW' as never)).toThrow(
      'Expected one of: NCHW, NHWC for layout but received "CHW" of type string',
    );
    const err = await errorOf(preprocessor.process(tench, { out: new Float32Array(10), offset: 0 }));
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(err.message).toMatch(/too small/);
  });
});
