/**
 * The exact decode equals PIL's `Image.open(f).convert('RGB')` byte for byte: on all 104 shared ImageNet images and
 * on every special case (orientation, ICC, gray, alpha, palette, transparency, 16-bit, CMYK, WebP, TIFF), with the
 * test images made here by sharp and PIL reading the very same bytes.
 */
import { readFileSync } from 'node:fs';
import { ImagePreprocessor } from '@mtailor/core';
import { decodeImagePixels } from '@mtailor/core/internal';
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasPillow, shared, sharedImages } from '../../../test/support/shared-data.js';
import { byteDiff, pilDecode } from './input-support.js';

const pillow = hasPillow();
const exact = new ImagePreprocessor({ autoOrient: false });
const upright = new ImagePreprocessor({ autoOrient: true });

/** A 64×48 crop of the tench as 8-bit RGB, and the same with a varying alpha channel. */
let rgb: { data: Buffer; info: OutputInfo };
let rgba: Buffer;
const W = 64;
const H = 48;
const fromRgb = () => sharp(rgb.data, { raw: { width: W, height: H, channels: 3 } });
const fromRgba = () => sharp(rgba, { raw: { width: W, height: H, channels: 4 } });

beforeAll(async () => {
  rgb = await sharp(shared.tench).resize(W, H).raw().toBuffer({ resolveWithObject: true });
  rgba = Buffer.alloc(W * H * 4);
  for (let p = 0; p < W * H; p++) {
    rgba.set(rgb.data.subarray(p * 3, p * 3 + 3), p * 4);
    rgba[p * 4 + 3] = (p * 37) % 256; // every alpha value, including fully transparent pixels
  }
});

async function expectSameAsPil(bytes: Uint8Array, expectedMode: string, preprocessor = exact) {
  const [pil] = pilDecode([bytes]);
  if (pil === undefined || pil.error !== undefined) throw new Error(`PIL failed: ${pil?.error}`);
  expect(pil.mode).toBe(expectedMode); // the case really is the one the test is about
  const ours = await preprocessor.decode(bytes);
  expect([ours.width, ours.height]).toEqual([pil.width, pil.height]);
  expect(ours.image.channels).toBe(3);
  expect(byteDiff(ours.image.data as Uint8Array, pil.data)).toEqual({ count: 0, max: 0 });
  // The hot path of process() (route from the header bytes, no metadata() call) gives the same pixels.
  const lean = await decodeImagePixels(bytes, { autoOrient: preprocessor.autoOrient, maxPixels: 1e8 });
  expect(lean.format).toBe(ours.format);
  expect(byteDiff(lean.image.data as Uint8Array, pil.data)).toEqual({ count: 0, max: 0 });
  return ours;
}

describe.skipIf(!pillow)('decode equals PIL convert("RGB")', () => {
  it('on all 104 shared ImageNet images (autoOrient: false), byte for byte', async () => {
    const files = sharedImages();
    expect(files).toHaveLength(104);
    const pil = pilDecode(files);
    const mismatches: string[] = [];
    let withIcc = 0;
    for (const [i, file] of files.entries()) {
      const expected = pil[i];
      if (expected === undefined || expected.error !== undefined) throw new Error(`PIL failed on ${file}`);
      const ours = await exact.decode(file);
      if (ours.hasIccProfile) withIcc++;
      const diff =
        ours.width === expected.width && ours.height === expected.height
          ? byteDiff(ours.image.data as Uint8Array, expected.data)
          : { count: -1, max: -1 };
      if (diff.count !== 0) mismatches.push(`${file}: ${JSON.stringify(diff)}`);
    }
    expect(mismatches).toEqual([]);
    // The set includes images with embedded ICC profiles, which sharp would apply by default and PIL ignores.
    expect(withIcc).toBeGreaterThan(0);
  });

  it('EXIF orientation 6: autoOrient true = ImageOps.exif_transpose, false = raw (torchvision)', async () => {
    const file = shared.image('n02951585_can_opener.JPEG');
    const [raw] = pilDecode([file]);
    const [transposed] = pilDecode([file], true);
    if (raw?.error !== undefined || transposed?.error !== undefined) throw new Error('PIL failed');
    const notRotated = await exact.decode(file);
    const rotated = await upright.decode(file);
    expect(notRotated.orientation).toBe(6);
    expect(notRotated.oriented).toBe(false);
    expect(rotated.oriented).toBe(true);
    expect([rotated.width, rotated.height]).toEqual([notRotated.height, notRotated.width]);
    expect([rotated.width, rotated.height]).toEqual([transposed?.width, transposed?.height]);
    expect(byteDiff(notRotated.image.data as Uint8Array, raw?.data as Uint8Array).count).toBe(0);
    expect(byteDiff(rotated.image.data as Uint8Array, transposed?.data as Uint8Array).count).toBe(0);
  });

  it('EXIF orientations 2, 3, 6, 8 in JPEG, PNG and WebP: autoOrient = exif_transpose; off = raw', async () => {
    const encoders: [string, (s: Sharp) => Sharp][] = [
      ['jpeg', (s) => s.jpeg()],
      ['png', (s) => s.png()],
      ['webp', (s) => s.webp({ lossless: true })],
    ];
    const cases: { name: string; orientation: number; bytes: Buffer }[] = [];
    for (const [name, encode] of encoders) {
      for (const orientation of [2, 3, 6, 8]) {
        cases.push({
          name,
          orientation,
          bytes: await encode(fromRgb().withMetadata({ orientation })).toBuffer(),
        });
      }
    }
    // Two PIL runs for all 12 images: raw, and with ImageOps.exif_transpose.
    const raws = pilDecode(cases.map((c) => c.bytes));
    const transposeds = pilDecode(
      cases.map((c) => c.bytes),
      true,
    );
    for (const [i, { name, orientation, bytes }] of cases.entries()) {
      const raw = raws[i];
      const transposed = transposeds[i];
      if (raw?.error !== undefined || transposed?.error !== undefined) throw new Error('PIL failed');
      const rotated = await upright.decode(bytes);
      expect(`${name} ${rotated.orientation}`).toBe(`${name} ${orientation}`);
      expect([rotated.width, rotated.height]).toEqual([transposed?.width, transposed?.height]);
      expect(byteDiff(rotated.image.data as Uint8Array, transposed?.data as Uint8Array).count).toBe(0);
      const lean = await decodeImagePixels(bytes, { autoOrient: true, maxPixels: 1e8 });
      expect(byteDiff(lean.image.data as Uint8Array, transposed?.data as Uint8Array).count).toBe(0);
      const notRotated = await exact.decode(bytes);
      expect(byteDiff(notRotated.image.data as Uint8Array, raw?.data as Uint8Array).count).toBe(0);
    }
  });

  it('the two grayscale shared JPEGs expand to RGB as PIL does', async () => {
    for (const name of ['n02676566_acoustic_guitar.JPEG', 'n02096051_Airedale.JPEG']) {
      const ours = await expectSameAsPil(readFileSync(shared.image(name)), 'L');
      expect(ours.colourspace).toBe('b-w');
    }
  });

  it('an embedded ICC profile is ignored, as PIL does (sharp would convert by default)', async () => {
    const jpeg = await fromRgb().withIccProfile('p3').jpeg({ quality: 95 }).toBuffer();
    const ours = await expectSameAsPil(jpeg, 'RGB');
    expect(ours.hasIccProfile).toBe(true);
    // Proof the profile matters: sharp's default (colour-managed) decode differs from PIL.
    const managed = await sharp(jpeg).raw().toBuffer();
    expect(byteDiff(managed, ours.image.data as Uint8Array).count).toBeGreaterThan(0);
  });

  it('RGBA PNG: alpha dropped without compositing', async () => {
    const ours = await expectSameAsPil(await fromRgba().png().toBuffer(), 'RGBA');
    expect(ours.hasAlpha).toBe(true);
  });

  it('gray + alpha PNG (LA)', async () => {
    await expectSameAsPil(await fromRgba().toColourspace('b-w').png().toBuffer(), 'LA');
  });

  it('palette PNG with transparency (P + tRNS)', async () => {
    const ours = await expectSameAsPil(await fromRgba().png({ palette: true, colours: 64 }).toBuffer(), 'P');
    expect(ours.isPalette).toBe(true);
  });

  it('opaque GIF, and a GIF with a transparent index (PIL shows the palette colour under it)', async () => {
    await expectSameAsPil(await fromRgb().gif().toBuffer(), 'P');
    const transparent = await fromRgba().gif().toBuffer();
    const ours = await expectSameAsPil(transparent, 'P');
    expect(ours.hasAlpha).toBe(true);
  });

  it('animated GIF: the first frame only', async () => {
    const frames = Buffer.concat([rgba, Buffer.from(rgba).reverse()]);
    const animated = await sharp(frames, { raw: { width: W, height: H * 2, channels: 4, pageHeight: H } })
      .gif({ loop: 0, delay: [100, 100] })
      .toBuffer();
    expect((await sharp(animated).metadata()).pages).toBe(2);
    const ours = await expectSameAsPil(animated, 'P');
    expect(ours.pages).toBe(2);
  });

  it('16-bit RGB PNG: high byte, as PIL (mode RGB from RGB;16B)', async () => {
    const ours = await expectSameAsPil(await fromRgb().toColourspace('rgb16').png().toBuffer(), 'RGB');
    expect(ours.bitDepth).toBe(16);
  });

  it('16-bit gray PNG: PIL opens it as mode I and clips to 0–255; reproduced on purpose', async () => {
    const png = await fromRgb().toColourspace('grey16').png().toBuffer();
    const ours = await expectSameAsPil(png, 'I');
    expect(ours.colourspace).toBe('grey16');
    // What that means: almost every pixel is white (values ≥ 256 clip), unlike a scaled 8-bit conversion.
    const data = ours.image.data;
    let white = 0;
    for (const v of data) if (v === 255) white++;
    expect(white / data.length).toBeGreaterThan(0.9);
  });

  it('16-bit gray + alpha PNG: high byte of the gray (PIL reads it as RGBA from LA;16B)', async () => {
    const ours = await expectSameAsPil(await fromRgba().toColourspace('grey16').png().toBuffer(), 'RGBA');
    expect([ours.colourspace, ours.hasAlpha]).toEqual(['grey16', true]);
  });

  it("CMYK JPEG: PIL's naive CMYK→RGB formula, not an ICC conversion", async () => {
    const cmyk = await fromRgb().toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
    const ours = await expectSameAsPil(cmyk, 'CMYK');
    expect(ours.colourspace).toBe('cmyk');
  });

  it('lossy WebP, lossless WebP with alpha', async () => {
    await expectSameAsPil(await fromRgb().webp({ quality: 80 }).toBuffer(), 'RGB');
    await expectSameAsPil(await fromRgba().webp({ lossless: true }).toBuffer(), 'RGBA');
  });

  it('TIFF (RGB, RGBA) and a multi-page TIFF (first page)', async () => {
    await expectSameAsPil(await fromRgb().tiff().toBuffer(), 'RGB');
    // (sharp's TIFF default is JPEG compression, which has no alpha: use LZW.)
    await expectSameAsPil(await fromRgba().tiff({ compression: 'lzw' }).toBuffer(), 'RGBA');
    const pages = Buffer.concat([rgb.data, Buffer.from(rgb.data).reverse()]);
    const multi = await sharp(pages, { raw: { width: W, height: H * 2, channels: 3, pageHeight: H } })
      .tiff()
      .toBuffer();
    const ours = await expectSameAsPil(multi, 'RGB');
    expect(ours.pages).toBe(2);
  });

  it('4:2:0 and progressive JPEGs', async () => {
    await expectSameAsPil(await fromRgb().jpeg({ chromaSubsampling: '4:2:0' }).toBuffer(), 'RGB');
    await expectSameAsPil(await fromRgb().jpeg({ progressive: true }).toBuffer(), 'RGB');
  });
});

describe('formats PIL 9.4 cannot open', () => {
  it('AVIF decodes (libheif/aom) to the right size and close to the source', async () => {
    const avif = await fromRgb().avif({ quality: 90, lossless: false }).toBuffer();
    const ours = await exact.decode(avif);
    expect(ours.format).toBe('avif');
    expect([ours.width, ours.height]).toEqual([W, H]);
    let sum = 0;
    for (let i = 0; i < rgb.data.length; i++)
      sum += Math.abs((rgb.data[i] as number) - (ours.image.data[i] as number));
    expect(sum / rgb.data.length).toBeLessThan(6); // lossy, but the same picture
  });
});
