/**
 * Parity with the real Pillow 9.4 / torchvision 0.14: scripts/pil_reference.py (run with Debian's Python) writes
 * their outputs for every shared image and for seeded synthetic images into a temporary folder; every case must
 * match with 0 uint8 difference (resize, resizeShorterSide, centerCrop) and max |Δ| ≤ 1e-6 (tensors).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  centerCrop,
  getPreset,
  type PresetName,
  preprocess,
  type ResampleFilter,
  resampleBackend,
  resize,
  resizeShorterSide,
  setResampleBackend,
  toTensor,
} from '@mtailor/preprocess';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPillow, hasTorch, python, shared } from '../../../test/support/shared-data.js';
import { type ReferenceCase, referenceFolder } from './support/reference-folder.js';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'pil_reference.py');

interface BaseCase extends ReferenceCase {
  kind: 'resize' | 'resizeShorterSide' | 'centerCrop' | 'tensor';
  source: 'image' | 'synthetic';
  filter?: ResampleFilter;
  size?: number;
  maxSize?: number;
  cropWidth?: number;
  cropHeight?: number;
  preset?: PresetName;
  tensor?: { mean: [number, number, number]; std: [number, number, number] };
}
interface Manifest {
  pillow: string;
  torchvision: string | null;
  images: number;
  cases: BaseCase[];
}

const pillow = hasPillow();
const torch = pillow && hasTorch();

describe.skipIf(!pillow)('parity with Pillow 9.4 / torchvision 0.14', () => {
  let dir = '';
  let manifest: Manifest;
  const { input, compareBytes } = referenceFolder(() => dir);

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-pil-ref-'));
    const args = [script, '--images', shared.images, '--out', dir];
    if (!torch) args.push('--skip-torch');
    execFileSync(python, args, { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
    manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cases = (kind: BaseCase['kind']) => manifest.cases.filter((c) => c.kind === kind);

  it('runs the reference script and covers every shared image', () => {
    expect(manifest.pillow).toBe('9.4.0');
    expect(manifest.images).toBeGreaterThanOrEqual(100);
    const images = new Set(manifest.cases.filter((c) => c.source === 'image').map((c) => c.input));
    expect(images.size).toBeGreaterThanOrEqual(manifest.images);
  });

  it('resize: 0 uint8 difference from Image.resize for every filter, shared image and synthetic case', () => {
    const list = cases('resize');
    expect(resampleBackend()).toBe('wasm'); // Node 20 has WebAssembly SIMD: the fast path is the one tested here
    const { failures, maxDiff } = compareBytes(list, (c) =>
      resize(input(c), { width: c.outWidth, height: c.outHeight, filter: c.filter! }),
    );
    const byFilter = Object.fromEntries(
      ['nearest', 'box', 'bilinear', 'hamming', 'bicubic', 'lanczos'].map((f) => [
        f,
        list.filter((c) => c.filter === f).length,
      ]),
    );
    console.log(
      `[parity] resize: ${list.length} cases (${JSON.stringify(byFilter)}; ` +
        `${list.filter((c) => c.source === 'image').length} on shared images), max |Δ| = ${maxDiff}, failing ${failures.length}`,
    );
    expect(list.length).toBeGreaterThan(2000);
    expect(failures).toEqual([]);
  });

  it('resize, plain-JS passes (the fallback without WebAssembly SIMD): 0 difference too', () => {
    // The same code paths as the full run on part of it (the fallback is 3–5× slower): every fixed synthetic
    // case, a third of the random size pairs, 8 real images.
    const images = [
      ...new Set(
        cases('resize')
          .filter((c) => c.source === 'image')
          .map((c) => c.input),
      ),
    ].slice(0, 8);
    const list = cases('resize').filter((c, i) =>
      c.id.startsWith('sweep_')
        ? Math.floor(i / 6) % 3 === 0
        : c.source === 'synthetic' || images.includes(c.input),
    );
    expect(setResampleBackend('js')).toBe('js');
    try {
      const { failures, maxDiff } = compareBytes(list, (c) =>
        resize(input(c), { width: c.outWidth, height: c.outHeight, filter: c.filter! }),
      );
      console.log(
        `[parity] resize (JS passes): ${list.length} cases, max |Δ| = ${maxDiff}, failing ${failures.length}`,
      );
      expect(failures).toEqual([]);
    } finally {
      setResampleBackend('auto');
    }
  });

  it.skipIf(!torch)('resizeShorterSide: 0 uint8 difference from torchvision Resize(int)', () => {
    const list = cases('resizeShorterSide');
    const { failures, maxDiff } = compareBytes(list, (c) =>
      resizeShorterSide(input(c), { size: c.size!, maxSize: c.maxSize, filter: c.filter! }),
    );
    console.log(
      `[parity] resizeShorterSide: ${list.length} cases, max |Δ| = ${maxDiff}, failing ${failures.length}`,
    );
    expect(list.length).toBeGreaterThan(50);
    expect(failures).toEqual([]);
  });

  it.skipIf(!torch)(
    'centerCrop: 0 uint8 difference from torchvision CenterCrop (odd margins, padding)',
    () => {
      const list = cases('centerCrop');
      const { failures, maxDiff } = compareBytes(list, (c) =>
        centerCrop(input(c), { width: c.cropWidth!, height: c.cropHeight! }),
      );
      console.log(
        `[parity] centerCrop: ${list.length} cases, max |Δ| = ${maxDiff}, failing ${failures.length}`,
      );
      expect(list.length).toBeGreaterThan(30);
      expect(failures).toEqual([]);
    },
  );

  it.skipIf(!torch)(
    'tensors: max |Δ| ≤ 1e-6 from torchvision ToTensor + Normalize (presets on every image)',
    () => {
      const list = cases('tensor');
      const failures: string[] = [];
      let maxDiff = 0;
      let bitExact = 0;
      for (const c of list) {
        const bytes = readFileSync(path.join(dir, c.expected));
        const expected = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
        let tensor: Float32Array;
        if (c.preset) {
          const result = preprocess(input(c), getPreset(c.preset));
          expect([result.width, result.height]).toEqual([c.outWidth, c.outHeight]);
          tensor = result.tensor;
        } else {
          tensor = toTensor(input(c), c.tensor);
        }
        if (tensor.length !== expected.length) {
          failures.push(`${c.id}: length ${tensor.length} ≠ ${expected.length}`);
          continue;
        }
        let caseMax = 0;
        for (let i = 0; i < expected.length; i++) {
          const d = Math.abs(tensor[i]! - expected[i]!);
          if (!(d <= caseMax)) caseMax = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
        }
        if (caseMax === 0) bitExact++;
        if (caseMax > 1e-6) failures.push(`${c.id}: max |Δ| ${caseMax}`);
        maxDiff = Math.max(maxDiff, caseMax);
      }
      const presetCases = list.filter((c) => c.preset && c.source === 'image').length;
      console.log(
        `[parity] tensors: ${list.length} cases (${presetCases} preset runs on shared images), max |Δ| = ${maxDiff}, ` +
          `bit-identical ${bitExact}/${list.length}, failing ${failures.length}`,
      );
      expect(presetCases).toBeGreaterThanOrEqual(2 * manifest.images);
      expect(failures).toEqual([]);
    },
  );
});
