/**
 * timm and Hugging Face models end to end with today's PyTorch stack: small random-weight models made here
 * (nothing downloaded) are converted by `convertCheckpoint` (timm: a `.safetensors` state dict with a tag, and a
 * timm Hugging Face-format folder; transformers: `save_pretrained` folders with the PIL and the default torchvision
 * image processor), validated, parity-checked, and served through their manifests by `ImageClassifier`, whose
 * top-1 on the shared images must be PyTorch's own through the family's own preprocessing. The tensors themselves
 * are checked value by value for many more configurations in hub-recipes.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ConverterError,
  type ConvertOptions,
  type ConvertResult,
  checkParity,
  convertCheckpoint,
  validateModel,
} from '@mtailor/converter-bridge';
import { ImageClassifier } from '@mtailor/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasTodaysTorch, pythonToday, sharedImages } from '../../../test/support/shared-data.js';
import { tempDir } from './support/torch-suite.js';

const fixturesScript = path.join(import.meta.dirname, 'support', 'hub_models.py');

interface Fixture {
  path: string;
  logits: Record<string, number[][]>;
  labels?: string[];
}

/** Index of the largest value. */
function argmax(row: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

describe.skipIf(!hasTodaysTorch())("timm and Hugging Face models end to end (today's stack)", () => {
  const dir = tempDir('mtailor-hub-convert-');
  const images = sharedImages().filter((_, i) => i % 4 === 0);
  let fixtures: Record<string, Fixture>;
  const results = new Map<string, ConvertResult>();

  const CASES: {
    id: string;
    fixture: string;
    options: (f: Fixture) => Partial<ConvertOptions>;
    torch: string;
  }[] = [
    {
      id: 'timm-safetensors',
      fixture: 'timm-convnext',
      options: (f) => ({ arch: 'timm:test_convnext.r160_in1k', weights: f.path }),
      torch: 'timm',
    },
    {
      id: 'timm-folder',
      fixture: 'timm-folder',
      options: (f) => ({ arch: 'timm:test_convnext', weights: f.path }),
      torch: 'timm',
    },
    {
      // timm's builder imported as module:Class: its default pretrained_cfg gives the manifest.
      id: 'timm-module',
      fixture: 'timm-convnext',
      options: (f) => ({
        arch: 'timm.models:test_convnext',
        weights: f.path.replace(/\.safetensors$/, '.pth'),
      }),
      torch: 'timm',
    },
    { id: 'hf-vit-pil', fixture: 'hf-vit', options: (f) => ({ hf: f.path, hfBackend: 'pil' }), torch: 'pil' },
    // No hfBackend: transformers 5's default, the torchvision backend.
    {
      id: 'hf-convnext-default',
      fixture: 'hf-convnext',
      options: (f) => ({ hf: f.path }),
      torch: 'torchvision',
    },
  ];

  beforeAll(async () => {
    const folder = path.join(dir, 'fixtures');
    mkdirSync(folder);
    fixtures = JSON.parse(
      execFileSync(pythonToday, [fixturesScript, folder, ...images], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      }),
    );
    for (const c of CASES) {
      const options = {
        ...c.options(fixtures[c.fixture]!),
        out: path.join(dir, c.id, 'model.onnx'),
        python: pythonToday,
      } as ConvertOptions;
      results.set(c.id, await convertCheckpoint(options));
    }
  }, 900_000);

  for (const c of CASES)
    it(`${c.id}: valid, parity with PyTorch, and ImageClassifier's top-1 through the manifest = PyTorch's`, async () => {
      const r = results.get(c.id)!;
      const torch = fixtures[c.fixture]!.logits[c.torch]!;
      const report = await validateModel(r.modelPath, { numClasses: torch[0]!.length, load: true });
      expect(report.ok).toBe(true);
      const parity = await checkParity(r.modelPath, r.parityFile!);
      expect(parity.ok).toBe(true);
      const classifier = await ImageClassifier.create({ manifest: r.manifestPath!, autoOrient: false });
      try {
        let agree = 0;
        for (const [i, image] of images.entries()) {
          const { predictions } = await classifier.classify(image, { topK: 1 });
          const ours = predictions[0]!.index;
          const theirs = argmax(torch[i]!);
          // A different class agrees only when PyTorch's two logits tie at float32 precision.
          if (ours === theirs || Math.abs(torch[i]![ours]! - torch[i]![theirs]!) < 1e-6) agree++;
        }
        expect(agree).toBe(images.length);
      } finally {
        await classifier.close();
      }
    });

  it('timm: the tag picks the recipe (test_convnext.r160_in1k: 160 px, crop_pct 0.95, bicubic) and ImageNet labels', () => {
    const r = results.get('timm-safetensors')!;
    expect(r).toMatchObject({
      weightsLoad: 'safetensors',
      numClasses: 1000,
      inputShape: ['batch', 3, 160, 160],
    });
    expect(r.hubTransform).toMatchObject({ family: 'timm', model: 'test_convnext', tag: 'r160_in1k' });
    expect(r.manifest!.labels).toBe('imagenet1k');
    expect(r.manifest!.recipe).toMatchObject({
      steps: [
        { op: 'toRGB' },
        { op: 'resizeShorterSide', size: 168, filter: 'bicubic' },
        { op: 'centerCrop' },
      ],
    });
  });

  it('timm.models:test_convnext (module:Class) gets the manifest of its default pretrained_cfg', () => {
    const r = results.get('timm-module')!;
    expect(r.hubTransform).toMatchObject({ family: 'timm', model: 'test_convnext', tag: 'r160_in1k' });
    expect(r.manifest!.recipe).toEqual(results.get('timm-safetensors')!.manifest!.recipe);
    expect(r.manifest!.labels).toBe('imagenet1k');
  });

  it("timm folder: the folder's pretrained_cfg (192×160, border) and label names", () => {
    const r = results.get('timm-folder')!;
    expect(r).toMatchObject({ numClasses: 7, inputShape: ['batch', 3, 160, 192] });
    expect(r.manifest!.labels).toEqual(fixtures['timm-folder']!.labels);
    expect(r.manifest!.recipe).toMatchObject({
      steps: [
        { op: 'toRGB' },
        { op: 'resizeKeepRatio', width: 213, height: 177, longest: 1 },
        { op: 'centerCrop' },
      ],
    });
  });

  it('Hugging Face: labels from id2label; the manifest records the backend it reproduces', () => {
    const vit = results.get('hf-vit-pil')!;
    expect(vit.manifest!.labels).toEqual([
      'vit class 0',
      'vit class 1',
      'vit class 2',
      'vit class 3',
      'vit class 4',
    ]);
    expect(vit.hubTransform).toMatchObject({
      processor: 'ViTImageProcessorPil',
      backend: 'pil',
      defaultBackend: false,
    });
    expect(vit.manifest!.description).toContain('ViTImageProcessorPil (pil backend)');
    const convnext = results.get('hf-convnext-default')!;
    expect(convnext.manifest!.labels).toEqual(['cat', 'dog', 'fish']);
    expect(convnext.hubTransform).toMatchObject({ backend: 'torchvision', defaultBackend: true });
    expect(convnext.manifest!.description).toContain('torchvision backend, the default');
  });

  it('typed errors: unknown timm names and tags, missing weights, folders without preprocessor_config.json', async () => {
    const out = path.join(dir, 'errors', 'm.onnx');
    const code = async (options: Partial<ConvertOptions>): Promise<string> => {
      try {
        await convertCheckpoint({ out, python: pythonToday, ...options } as ConvertOptions);
      } catch (err) {
        if (err instanceof ConverterError) return `${err.code}: ${err.message}`;
        throw err;
      }
      return 'converted';
    };
    const weights = fixtures['timm-convnext']!.path;
    expect(await code({ arch: 'timm:test_convnxt', weights })).toMatch(
      /^UNKNOWN_ARCH: .*Did you mean test_convnext/,
    );
    expect(await code({ arch: 'timm:test_convnext.in1k_nope', weights })).toMatch(
      /^UNKNOWN_ARCH: .*no pretrained tag 'in1k_nope'; its tags: r160_in1k/,
    );
    expect(await code({ arch: 'timm:test_convnext', weights: path.join(dir, 'none.safetensors') })).toMatch(
      /^WEIGHTS_NOT_FOUND/,
    );
    const bare = path.join(dir, 'bare-folder');
    mkdirSync(bare);
    writeFileSync(path.join(bare, 'config.json'), '{"model_type": "vit"}');
    expect(await code({ hf: bare })).toMatch(/^HF_PREPROCESSOR_MISSING: .*preprocessor_config.json/);
    expect(await code({ hf: path.join(dir, 'no-such-folder') })).toMatch(/^HF_FOLDER_INVALID/);
    expect(await code({ hf: bare, arch: 'resnet18' })).toMatch(/^INVALID_OPTION/);
  });
});
