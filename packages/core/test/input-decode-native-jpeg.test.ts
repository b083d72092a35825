/**
 * The JPEG fast path (libjpeg-turbo through `@mtailor/native-jpeg`) gives PIL's `Image.open(f).convert('RGB')` byte
 * for byte on all 104 shared images, and hands every case it does not decode exactly like PIL to sharp: an EXIF
 * rotation to apply, CMYK, a truncated file, an image over the pixel limit. The addon is built by scripts/setup.sh;
 * without it these tests skip loudly, and under CI=true they fail.
 */
import { readFileSync } from 'node:fs';
import { decodeImagePixels, decodeJpegNatively, nativeJpegAvailable } from '@mtailor/core/internal';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { hasPillow, shared, sharedImages } from '../../../test/support/shared-data.js';
import { byteDiff, pilDecode } from './input-support.js';

if (!nativeJpegAvailable) {
  if (process.env.CI === 'true')
    throw new Error('CI=true but @mtailor/native-jpeg is not built: run scripts/setup.sh');
  console.warn(
    '\n*** SKIPPING native JPEG tests: @mtailor/native-jpeg is not built (run scripts/setup.sh) ***\n',
  );
}
const pillow = hasPillow();

describe.skipIf(!nativeJpegAvailable || !pillow)('native JPEG decode', () => {
  it('decodes all 104 shared images itself, byte-identical to PIL, with and without autoOrient', async () => {
    const files = sharedImages();
    expect(files).toHaveLength(104);
    const pil = pilDecode(files);
    const mismatches: string[] = [];
    for (const [i, file] of files.entries()) {
      const expected = pil[i];
      if (expected === undefined || expected.error !== undefined) throw new Error(`PIL failed on ${file}`);
      const bytes = readFileSync(file);
      for (const autoOrient of [false, true]) {
        // can_opener carries EXIF orientation 6: with autoOrient the fast path must leave it to sharp.
        const native = await decodeJpegNatively(bytes, { autoOrient, maxPixels: 1e8 });
        if (autoOrient && file.endsWith('n02951585_can_opener.JPEG')) {
          expect(native).toBeUndefined();
          continue;
        }
        if (native === undefined) {
          mismatches.push(`${file}: not decoded natively (autoOrient ${autoOrient})`);
          continue;
        }
        const diff =
          native.width === expected.width && native.height === expected.height
            ? byteDiff(native.data as Uint8Array, expected.data)
            : { count: -1, max: -1 };
        if (diff.count !== 0) mismatches.push(`${file}: ${JSON.stringify(diff)}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('leaves EXIF rotation to sharp: the classifier path still equals ImageOps.exif_transpose', async () => {
    const bytes = readFileSync(shared.image('n02951585_can_opener.JPEG'));
    expect(await decodeJpegNatively(bytes, { autoOrient: true, maxPixels: 1e8 })).toBeUndefined();
    const [transposed] = pilDecode([bytes], true);
    if (transposed === undefined || transposed.error !== undefined) throw new Error('PIL failed');
    const lean = await decodeImagePixels(bytes, { autoOrient: true, maxPixels: 1e8 });
    expect([lean.image.width, lean.image.height]).toEqual([transposed.width, transposed.height]);
    expect(byteDiff(lean.image.data as Uint8Array, transposed.data).count).toBe(0);
  });

  it('leaves CMYK, truncated data and images over the pixel limit to sharp (same pixels and errors)', async () => {
    const tench = readFileSync(shared.tench);
    const cmyk = await sharp(tench).toColourspace('cmyk').jpeg().toBuffer();
    expect(await decodeJpegNatively(cmyk, { autoOrient: false, maxPixels: 1e8 })).toBeUndefined();
    const [pilCmyk] = pilDecode([cmyk]);
    if (pilCmyk === undefined || pilCmyk.error !== undefined) throw new Error('PIL failed');
    const lean = await decodeImagePixels(cmyk, { autoOrient: false, maxPixels: 1e8 });
    expect(byteDiff(lean.image.data as Uint8Array, pilCmyk.data).count).toBe(0);

    const truncated = tench.subarray(0, Math.floor(tench.length / 2));
    expect(await decodeJpegNatively(truncated, { autoOrient: false, maxPixels: 1e8 })).toBeUndefined();
    await expect(decodeImagePixels(truncated, { autoOrient: false, maxPixels: 1e8 })).rejects.toMatchObject({
      code: 'INVALID_IMAGE',
    });

    expect(await decodeJpegNatively(tench, { autoOrient: false, maxPixels: 1000 })).toBeUndefined();
    await expect(decodeImagePixels(tench, { autoOrient: false, maxPixels: 1000 })).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
    });
  });
});
