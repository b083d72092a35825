/**
 * Issue 12, item 6: every image mode Pillow 9.4 reads either decodes to exactly PIL's `Image.open(f).convert('RGB')`
 * or is refused with a typed `UNSUPPORTED_IMAGE` naming the mode — never a silently different image.
 *
 * The corpus (≈ 200 small files) is generated at test time by `fixtures-scripts/pil_modes_corpus.py` with Debian's
 * PIL 9.4 and libtiff's `tiffcp`/`tiffset`: PNG in every bit depth × colour type, with and without tRNS, Adam7,
 * APNG; TIFF in every sample layout of Pillow's `OPEN_INFO` (1/2/4/8/12/16/32-bit, signed, float, min-is-white,
 * fill order 2, big-endian, RGBX/RGBa/RGBA with 0–3 extra samples, palette ± alpha, CMYK 8/16-bit, Lab), G3/G4 and
 * every Orientation, LZW/deflate/PackBits/JPEG, predictors, strips, tiles, planar, BigTIFF; JPEG, GIF and WebP
 * variants. Each file is decoded four ways — `decode()` (header + decode) and `decodeImagePixels` (the classifier's
 * `process()` path), each with `autoOrient` off and on — and compared byte for byte with PIL.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImagePreprocessor, MtailorError, UnsupportedImageError } from '@mtailor/core';
import { decodeImagePixels } from '@mtailor/core/internal';
import { getPreset, preprocess } from '@mtailor/preprocess';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPillow } from '../../../test/support/shared-data.js';
import {
  byteDiff,
  type CorpusFile,
  generateModesCorpus,
  hasTiffTools,
  maxAbsDiff,
  pilDecode,
} from './input-support.js';

const tools = hasPillow() && hasTiffTools();

/**
 * The files PIL reads whose exact decode is refused, with the PIL mode the refusal must name. Pinned, so that a
 * refusal can never stand in for a match unnoticed: every other file PIL reads must be byte-identical.
 */
const REFUSED: Record<string, string> = {
  'tif-i12': 'I;16', // 12-bit samples: libvips cannot read them
  'tif-rgba16-assoc-le': 'RGBA', // 16-bit premultiplied alpha: PIL un-premultiplies the high bytes only
  'tif-rgba16-assoc-be': 'RGBA',
  'tif-rgb16-planar': 'RGB', // uncompressed 16-bit planes: PIL reads them as 8-bit samples
  'tif-rgba16-planar': 'RGBA',
  'tif-cmyk16-planar': 'CMYK',
  'tif-lab8': 'LAB', // CIELab
  'tif-rgb8-planar-tiled-lzw': 'RGB', // tiled + planar: libvips cannot read it
};

/** The files Pillow 9.4 cannot open (no reference): we decode them or refuse them, always with a typed error. */
const PIL_CANNOT_OPEN = ['tif-cmyk16-jpeg', 'tif-cmyk16-mm', 'tif-cmyka8', 'tif-la8-planar', 'tif-pil-ycbcr'];

/** Every mode the corpus must reach (as PIL reports it after `Image.open`). */
const MODES = ['1', 'L', 'LA', 'P', 'PA', 'I', 'I;16', 'I;16B', 'F', 'RGB', 'RGBA', 'RGBX', 'CMYK', 'LAB'];

const dir = mkdtempSync(path.join(tmpdir(), 'mtailor-modes-'));
let corpus: CorpusFile[] = [];
const byName = (name: string): CorpusFile => {
  const found = corpus.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no ${name} in the corpus`);
  return found;
};

const ways = [
  { name: 'decode, autoOrient off', decode: new ImagePreprocessor({ autoOrient: false }) },
  { name: 'decode, autoOrient on', decode: new ImagePreprocessor({ autoOrient: true }) },
  { name: 'decodeImagePixels, autoOrient off', autoOrient: false },
  { name: 'decodeImagePixels, autoOrient on', autoOrient: true },
] as const;

async function decodeOneWay(bytes: Uint8Array, way: (typeof ways)[number]) {
  if ('decode' in way) return (await way.decode.decode(bytes)).image;
  return (await decodeImagePixels(bytes, { autoOrient: way.autoOrient, maxPixels: 1e8 })).image;
}

beforeAll(() => {
  if (tools) corpus = generateModesCorpus(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!tools)('every mode Pillow 9.4 reads: identical to PIL or refused by name', () => {
  it('the corpus covers every mode, and PIL opens all but the pinned files', () => {
    expect(corpus.length).toBeGreaterThan(190);
    const modes = new Set(corpus.map((c) => c.mode).filter((m) => m !== undefined));
    expect(MODES.filter((m) => !modes.has(m))).toEqual([]);
    expect(
      corpus
        .filter((c) => c.error !== undefined)
        .map((c) => c.name)
        .sort(),
    ).toEqual(PIL_CANNOT_OPEN.slice().sort());
    for (const [name, mode] of Object.entries(REFUSED))
      expect(`${name} ${byName(name).mode}`).toBe(`${name} ${mode}`);
  });

  it('each file PIL reads: byte-identical four ways, or the pinned typed refusal naming its mode', async () => {
    const problems: string[] = [];
    let identical = 0;
    let refused = 0;
    for (const file of corpus) {
      if (file.error !== undefined) continue;
      const bytes = readFileSync(file.file);
      for (const way of ways) {
        const label = `${file.name} (${file.what}, PIL mode ${file.mode}) via ${way.name}`;
        try {
          const image = await decodeOneWay(bytes, way);
          if (REFUSED[file.name] !== undefined) problems.push(`${label}: decoded, but pinned as refused`);
          else if (image.width !== file.width || image.height !== file.height) {
            problems.push(`${label}: ${image.width}×${image.height}, PIL ${file.width}×${file.height}`);
          } else {
            const diff = byteDiff(image.data as Uint8Array, file.pil);
            if (diff.count === 0) identical++;
            else problems.push(`${label}: ${diff.count} bytes differ (max ${diff.max}) — SILENTLY DIFFERENT`);
          }
        } catch (err) {
          const ok =
            err instanceof UnsupportedImageError &&
            err.code === 'UNSUPPORTED_IMAGE' &&
            REFUSED[file.name] !== undefined &&
            err.message.includes(`PIL mode ${file.mode}`);
          if (ok) refused++;
          else problems.push(`${label}: ${err instanceof MtailorError ? err.code : 'crash'}: ${String(err)}`);
        }
      }
    }
    expect(problems.join('\n')).toBe('');
    expect(refused).toBe(Object.keys(REFUSED).length * ways.length);
    expect(identical + refused).toBe((corpus.length - PIL_CANNOT_OPEN.length) * ways.length);
  });

  it('files PIL cannot open: decoded or refused with a typed error, never a crash', async () => {
    for (const name of PIL_CANNOT_OPEN) {
      const bytes = readFileSync(byName(name).file);
      for (const way of ways) {
        try {
          const image = await decodeOneWay(bytes, way);
          expect(image.data.length).toBe(image.width * image.height * 3);
        } catch (err) {
          expect(err).toBeInstanceOf(MtailorError);
        }
      }
    }
  });

  it('a refused mode is refused on the classifier path too (process), before any pixel is decoded', async () => {
    const err = await new ImagePreprocessor()
      .process(readFileSync(byName('tif-rgba16-assoc-le').file))
      .catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedImageError);
    expect((err as Error).message).toMatch(
      /PIL mode RGBA: 4 × 16-bit samples, associated \(premultiplied\) alpha/,
    );
  });

  it('process() on a 16-bit gray PNG with tRNS (Pillow mode I) gives the tensor of PIL’s pixels', async () => {
    // The issue's `i_trns.png` case: PIL clips the 16-bit values to 0–255 and ignores tRNS.
    const file = byName('png-gray16-trns');
    if (file.error !== undefined) throw new Error(file.error);
    const recipe = getPreset('resize-224');
    const ours = await new ImagePreprocessor({ recipe }).process(readFileSync(file.file));
    const theirs = preprocess(
      { data: file.pil, width: file.width, height: file.height, channels: 3 },
      recipe,
    );
    expect(maxAbsDiff(ours.tensor, theirs.tensor)).toBe(0);
  });

  it('a TIFF cut inside its first directory is refused (INVALID_IMAGE), never decoded by a guessed route', async () => {
    const bytes = readFileSync(byName('tif-i16-photo1').file);
    for (const length of [8, 20, 60]) {
      const err = await new ImagePreprocessor().decode(bytes.subarray(0, length)).catch((e) => e);
      expect(`${length}: ${(err as MtailorError).code}`).toBe(`${length}: INVALID_IMAGE`);
    }
  });

  it('damaged TIFF headers (2000 seeded byte flips in the first 300 bytes): typed errors or pixels, no crash', async () => {
    let seed = 12;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31; // fixed LCG: the same files every run
      return seed / 2 ** 31;
    };
    const outcomes = new Map<string, number>();
    const sources = [
      'tif-i16-photo1',
      'tif-rgb8-tiled',
      'tif-1bit-g4-orient6',
      'tif-cmyk16',
      'tif-i16-bigtiff',
    ];
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(readFileSync(byName(sources[i % sources.length] as string).file));
      for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) {
        bytes[Math.floor(random() * Math.min(300, bytes.length))] = Math.floor(random() * 256);
      }
      let outcome: string;
      try {
        const { image } = await decodeImagePixels(bytes, { autoOrient: true, maxPixels: 1e6 });
        expect(image.data.length).toBe(image.width * image.height * 3);
        outcome = 'decoded';
      } catch (err) {
        if (!(err instanceof MtailorError)) throw err;
        outcome = err.code;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect(outcomes.get('decoded')).toBeGreaterThan(0);
    expect(
      [...outcomes.keys()].every((k) =>
        /^(decoded|INVALID_IMAGE|UNSUPPORTED_IMAGE|IMAGE_TOO_LARGE)$/.test(k),
      ),
    ).toBe(true);
  });

  it('TIFF Orientation: Image.open applies it, so both autoOrient settings give the upright image', async () => {
    const file = byName('tif-rgb8-orient6');
    if (file.error !== undefined) throw new Error(file.error);
    expect([file.width, file.height]).toEqual([23, 37]); // PIL's Image.open rotated the 37×23 stored image
    for (const autoOrient of [false, true]) {
      const decoded = await new ImagePreprocessor({ autoOrient }).decode(readFileSync(file.file));
      expect([decoded.orientation, decoded.oriented]).toEqual([6, true]);
      expect(byteDiff(decoded.image.data as Uint8Array, file.pil)).toEqual({ count: 0, max: 0 });
    }
    // The fast engine (libvips resize) turns the TIFF upright too, so its picture is the same one.
    const fast = await new ImagePreprocessor({ resize: 'fast', autoOrient: false }).process(
      readFileSync(file.file),
    );
    expect([fast.source.width, fast.source.height]).toEqual([23, 37]);
    // Pillow 9.4's ImageOps.exif_transpose applies the tag a second time on a TIFF (it reads it again after
    // load() has applied it): 37×23 again. We do not reproduce that: autoOrient gives Image.open's upright image.
    const [twice] = pilDecode([file.file], true);
    expect([twice?.error, (twice as { width?: number }).width]).toEqual([undefined, 37]);
  });
});
