/**
 * The folder a reference script (scripts/pil_reference.py, scripts/torchvision_reference.py) writes: its input
 * pixels, read once each, and the byte comparison of uint8 outputs with its expected files.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ChannelCount, RawImage } from '@mtailor/preprocess';

/** What every case of a reference manifest names. */
export interface ReferenceCase {
  id: string;
  input: string;
  width: number;
  height: number;
  channels: ChannelCount;
  outWidth: number;
  outHeight: number;
  expected: string;
}

/** Input images and byte comparisons of the reference folder at `dir()` (a getter: the folder is made later). */
export function referenceFolder(dir: () => string) {
  const inputs = new Map<string, RawImage>();

  /** The input image of a case (HWC uint8), read once. */
  function input(c: ReferenceCase): RawImage {
    let image = inputs.get(c.input);
    if (!image) {
      const data = readFileSync(path.join(dir(), c.input));
      image = { data, width: c.width, height: c.height, channels: c.channels };
      inputs.set(c.input, image);
    }
    return image;
  }

  /** Compares uint8 outputs; returns the failing cases and the largest difference seen. */
  function compareBytes<C extends ReferenceCase>(list: C[], run: (c: C) => RawImage) {
    const failures: string[] = [];
    let maxDiff = 0;
    for (const c of list) {
      const expected = readFileSync(path.join(dir(), c.expected));
      const out = run(c);
      if (out.width !== c.outWidth || out.height !== c.outHeight || out.data.length !== expected.length) {
        failures.push(`${c.id}: size ${out.width}×${out.height} ≠ ${c.outWidth}×${c.outHeight}`);
        continue;
      }
      let caseMax = 0;
      for (let i = 0; i < expected.length; i++) {
        const d = Math.abs(out.data[i]! - expected[i]!);
        if (d > caseMax) caseMax = d;
      }
      if (caseMax > 0) failures.push(`${c.id}: max diff ${caseMax}`);
      maxDiff = Math.max(maxDiff, caseMax);
    }
    return { failures, maxDiff };
  }

  return { input, compareBytes };
}
