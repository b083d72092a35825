/**
 * Parity with today's torch / torchvision / timm / transformers: scripts/torchvision_reference.py (run with
 * `pythonToday`) writes their outputs for every shared image and a seeded synthetic sweep into a temporary folder;
 * every case must match exactly: 0 uint8 difference (torchvision's uint8 tensor resize, transformers' center crops)
 * and bit-identical float32 tensors (timm eval transforms, transformers processors with both backends).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CenterCropOffsets,
  centerCrop,
  type PreprocessRecipe,
  preprocess,
  type ResampleFilter,
  resize,
  resizeShorterSide,
  setResampleBackend,
} from '@mtailor/preprocess';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTodaysTorch, pythonToday, shared } from '../../../test/support/shared-data.js';
import { type ReferenceCase, referenceFolder } from './support/reference-folder.js';

const script = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'scripts',
  'torchvision_reference.py',
);

interface Case extends ReferenceCase {
  kind: 'resize' | 'centerCrop' | 'pipeline';
  source: 'image' | 'synthetic';
  filter?: ResampleFilter;
  size?: number[];
  formatsAgree?: boolean;
  cropWidth?: number;
  cropHeight?: number;
  offsets?: CenterCropOffsets;
  recipe?: PreprocessRecipe;
}
interface Manifest {
  torch: string;
  torchvision: string;
  timm: string;
  transformers: string;
  cpuCapability: string;
  cases: Case[];
}

describe.skipIf(!hasTodaysTorch())('parity with torch 2 / torchvision / timm / transformers 5', () => {
  let dir = '';
  let manifest: Manifest;
  const { input, compareBytes } = referenceFolder(() => dir);

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-tv-ref-'));
    execFileSync(pythonToday, [script, '--images', shared.images, '--out', dir], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 300_000,
    });
    manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  }, 320_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cases = (kind: Case['kind']) => manifest.cases.filter((c) => c.kind === kind);

  const torchvisionResize = (c: Case) =>
    c.size!.length === 1
      ? resizeShorterSide(input(c), { size: c.size![0]!, filter: c.filter!, backend: 'torchvision' })
      : resize(input(c), {
          width: c.size![1]!,
          height: c.size![0]!,
          filter: c.filter!,
          backend: 'torchvision',
        });

  it('ran today’s stack on every shared image', () => {
    expect(manifest.torch).toMatch(/^2\./);
    const images = new Set(
      cases('resize')
        .filter((c) => c.source === 'image')
        .map((c) => c.input),
    );
    expect(images.size).toBe(104);
    // Both memory formats torch can hold a CHW uint8 tensor in (pil_to_tensor's channels-last view, contiguous)
    // give the same bytes, so one reproduction serves both.
    expect(
      cases('resize')
        .filter((c) => c.formatsAgree !== true)
        .map((c) => c.id),
    ).toEqual([]);
  });

  it("resize backend 'torchvision': 0 uint8 difference from tvF.resize(uint8 tensor, antialias=True)", () => {
    const list = cases('resize');
    const { failures, maxDiff } = compareBytes(list, torchvisionResize);
    // The same resizes with Pillow's arithmetic: the comparison must be able to tell the two apart.
    const images = list.filter((c) => c.source === 'image');
    const pillow = compareBytes(images, (c) =>
      c.size!.length === 1
        ? resizeShorterSide(input(c), { size: c.size![0]!, filter: c.filter! })
        : resize(input(c), { width: c.size![1]!, height: c.size![0]!, filter: c.filter! }),
    );
    console.log(
      `[torchvision parity] resize: ${list.length} cases (${images.length} on shared images; torch ` +
        `${manifest.torch}, CPU capability ${manifest.cpuCapability}), max |Δ| = ${maxDiff}, failing ` +
        `${failures.length}; Pillow's resize differs on ${pillow.failures.length} of ${images.length} (max |Δ| ${pillow.maxDiff})`,
    );
    expect(list.length).toBeGreaterThan(500);
    expect(failures).toEqual([]);
    expect(pillow.failures.length).toBeGreaterThan(images.length / 2);
  });

  it("resize backend 'torchvision', plain-JS passes: 0 difference too", () => {
    const list = cases('resize').filter((c, i) => c.source === 'synthetic' || i % 13 === 0);
    expect(setResampleBackend('js')).toBe('js');
    try {
      const { failures } = compareBytes(list, torchvisionResize);
      expect(failures).toEqual([]);
    } finally {
      setResampleBackend('auto');
    }
  });

  it("centerCrop offsets 'transformers-torchvision' / 'transformers-pil': 0 difference, padding included", () => {
    const list = cases('centerCrop');
    const { failures } = compareBytes(list, (c) =>
      centerCrop(input(c), { width: c.cropWidth!, height: c.cropHeight!, offsets: c.offsets }),
    );
    expect(list.length).toBeGreaterThanOrEqual(12);
    expect(failures).toEqual([]);
  });

  it('recipes: bit-identical tensors to timm eval transforms and transformers processors (both backends)', () => {
    const list = cases('pipeline');
    const byPipeline = new Map<string, { cases: number; identical: number; maxDiff: number }>();
    // transformers' own rules must matter: with torchvision's tensor formula and crop offsets instead, tensors of
    // the fused torchvision-backend formula and of ConvNeXt's floor crop differ. (The PIL backend's float64 rescale
    // by 1/255 rounds to the same float32 as ToTensor's division for every byte, so ViT's PIL pipeline does not.)
    const withoutTransformersRules = new Map<string, number>();
    for (const c of list) {
      const label = c.id.slice(c.id.indexOf(' ') + 1);
      const stats = byPipeline.get(label) ?? { cases: 0, identical: 0, maxDiff: 0 };
      const buffer = readFileSync(path.join(dir, c.expected));
      const expected = new Float32Array(buffer.buffer, buffer.byteOffset, buffer.length / 4);
      const { tensor, width, height } = preprocess(input(c), c.recipe!);
      expect([width, height], c.id).toEqual([c.outWidth, c.outHeight]);
      let max = 0;
      let same = tensor.length === expected.length;
      for (let i = 0; same && i < expected.length; i++) {
        if (!Object.is(tensor[i], expected[i])) {
          same = false;
          max = Math.max(max, Math.abs(tensor[i]! - expected[i]!));
        }
      }
      if (c.recipe!.tensor.formula !== 'torchvision' && !label.includes('EfficientNet')) {
        const plain: PreprocessRecipe = {
          steps: c.recipe!.steps.map((step) =>
            step.op === 'centerCrop' ? { ...step, offsets: undefined } : step,
          ),
          tensor: { ...c.recipe!.tensor, formula: 'torchvision' },
        };
        const other = preprocess(input(c), plain).tensor;
        const differs = other.some((v, i) => !Object.is(v, expected[i]));
        withoutTransformersRules.set(label, (withoutTransformersRules.get(label) ?? 0) + (differs ? 1 : 0));
      }
      stats.cases++;
      if (same) stats.identical++;
      stats.maxDiff = Math.max(stats.maxDiff, max);
      byPipeline.set(label, stats);
    }
    for (const [label, s] of byPipeline) {
      console.log(
        `[torchvision parity] ${label}: ${s.identical}/${s.cases} bit-identical, max |Δ| ${s.maxDiff}`,
      );
    }
    expect(byPipeline.size).toBe(11);
    expect([...byPipeline].filter(([, s]) => s.identical !== s.cases)).toEqual([]);
    expect(withoutTransformersRules.size).toBe(4);
    for (const [label, differing] of withoutTransformersRules) {
      if (label === 'transformers ViT pil') expect(differing, label).toBe(0);
      else expect(differing, label).toBeGreaterThan(0);
    }
  });
});
