/**
 * The recipes the converter writes for timm models and Hugging Face image processors give exactly the tensors the
 * families' own Python code gives: timm's `resolve_data_config` + `create_transform(is_training=False)` and
 * transformers 5's image processors (both backends), run by today's PyTorch stack on the shared images, against
 * `@mtailor/core`'s `ImagePreprocessor` with the recipe built from what the export script reports
 * (`hubTransform`). No model is exported here (test/hub-convert.test.ts does a few end to end).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ConverterError,
  type HubTransform,
  type TimmEvalTransform,
  type TransformersProcessor,
} from '@mtailor/converter-bridge';
import { recipeFromHub, recipeFromTimm, recipeFromTransformers } from '@mtailor/converter-bridge/internal';
import { ImagePreprocessor } from '@mtailor/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasTodaysTorch, pythonToday, sharedImages } from '../../../test/support/shared-data.js';
import { tempDir } from './support/torch-suite.js';

const referenceScript = path.join(import.meta.dirname, 'support', 'hub_reference.py');

/** timm models and tags covering every crop mode, both interpolations, non-square sizes and the mean/std families. */
const TIMM = [
  { id: 'resnet18-a1', name: 'resnet18.a1_in1k', covers: 'center, bicubic, crop_pct 0.95, ImageNet' },
  { id: 'cspresnet50', name: 'cspresnet50.ra_in1k', covers: 'center, bilinear, 256 px, crop_pct 0.887' },
  { id: 'convnext-384', name: 'convnext_base.fb_in22k_ft_in1k_384', covers: 'squash, bicubic, 384 px' },
  {
    id: 'vit-inception',
    name: 'vit_base_patch16_224.augreg2_in21k_ft_in1k',
    covers: 'Inception mean/std 0.5',
  },
  { id: 'vit-clip', name: 'vit_base_patch16_clip_224.openai_ft_in1k', covers: 'OpenAI CLIP mean/std' },
  { id: 'dpn68', name: 'dpn68.mx_in1k', covers: "DPN's mean (x/255 values)" },
  { id: 'fastvit-mclip', name: 'fastvit_mci0.apple_mclip', covers: 'mean 0, std 1' },
  { id: 'border', name: 'resnet18.a1_in1k', overlay: { crop_mode: 'border' }, covers: 'border, fill' },
  {
    id: 'center-nonsquare',
    name: 'resnet18.a1_in1k',
    overlay: { input_size: [3, 192, 256] },
    covers: "center at 256×192: ResizeKeepRatio's own bilinear",
  },
  {
    id: 'squash-nonsquare',
    name: 'cspresnet50.ra_in1k',
    overlay: { input_size: [3, 256, 192], crop_mode: 'squash' },
    covers: 'squash at 192×256, bilinear',
  },
  {
    id: 'border-nonsquare',
    name: 'vit_base_patch16_clip_224.openai_ft_in1k',
    overlay: { input_size: [3, 160, 224], crop_mode: 'border', crop_pct: 0.875 },
    covers: 'border at 224×160, CLIP fill',
  },
] as const;

/** Image processors of the architectures `AutoModelForImageClassification` builds, as their hub configs set them. */
const HF_PROCESSORS = [
  { id: 'vit', processor: 'ViTImageProcessor', kwargs: {} }, // google/vit-base-patch16-224
  { id: 'deit', processor: 'DeiTImageProcessor', kwargs: {} }, // 256 → crop 224, bicubic
  { id: 'beit', processor: 'BeitImageProcessor', kwargs: {} },
  { id: 'convnext', processor: 'ConvNextImageProcessor', kwargs: { size: { shortest_edge: 224 } } },
  { id: 'convnext-384', processor: 'ConvNextImageProcessor', kwargs: { size: { shortest_edge: 384 } } },
  {
    id: 'resnet', // microsoft/resnet-50 uses ConvNeXt's processor, bilinear, ImageNet mean/std
    processor: 'ConvNextImageProcessor',
    kwargs: {
      size: { shortest_edge: 224 },
      resample: 2,
      image_mean: [0.485, 0.456, 0.406],
      image_std: [0.229, 0.224, 0.225],
    },
  },
  {
    id: 'swin', // microsoft/swin-tiny-patch4-window7-224: ViT's processor, bicubic, ImageNet mean/std
    processor: 'ViTImageProcessor',
    kwargs: { resample: 3, image_mean: [0.485, 0.456, 0.406], image_std: [0.229, 0.224, 0.225] },
  },
  { id: 'mobilenet-v2', processor: 'MobileNetV2ImageProcessor', kwargs: {} }, // 256 → crop 224, bilinear
  { id: 'mobilenet-v1', processor: 'MobileNetV1ImageProcessor', kwargs: {} },
  { id: 'vit-lanczos', processor: 'ViTImageProcessor', kwargs: { resample: 1 } }, // torchvision ≥ 0.27 on CPU
  { id: 'efficientnet', processor: 'EfficientNetImageProcessor', kwargs: {} }, // 346 → crop off, include_top
  {
    id: 'efficientnet-offset', // google/efficientnet-b7 style: 600 px, crop, pixels in [-1, 1]
    processor: 'EfficientNetImageProcessor',
    kwargs: {
      size: { height: 320, width: 320 },
      do_center_crop: true,
      crop_size: { height: 288, width: 288 },
      rescale_offset: true,
      rescale_factor: 1 / 127.5,
    },
  },
] as const;

const HF = HF_PROCESSORS.flatMap((p) =>
  (['pil', 'torchvision'] as const).map((backend) => ({ ...p, id: `${p.id}-${backend}`, backend })),
);

interface Reference {
  transform?: HubTransform;
  shape?: [number, number, number, number];
  error?: { code: string; message: string };
}

describe.skipIf(!hasTodaysTorch())("hub recipes = the families' own tensors (today's stack)", () => {
  const dir = tempDir('mtailor-hub-recipes-');
  // Every 4th shared image (26 of 104): each case holds its tensors in memory; all 104 pass as well.
  const images = sharedImages().filter((_, i) => i % 4 === 0);
  let references: Record<string, Reference>;

  beforeAll(() => {
    const spec = path.join(dir, 'spec.json');
    writeFileSync(
      spec,
      JSON.stringify({
        out: dir,
        images,
        timm: TIMM,
        hf: [...HF, { id: 'levit-pil', processor: 'LevitImageProcessor', backend: 'pil' }],
      }),
    );
    references = JSON.parse(
      execFileSync(pythonToday, [referenceScript, spec], { encoding: 'utf8', maxBuffer: 64 << 20 }),
    );
  }, 600_000);

  async function differences(id: string): Promise<{ values: number; differing: number; maxAbs: number }> {
    const ref = references[id]!;
    expect(ref.error).toBeUndefined();
    const recipe = recipeFromHub(ref.transform!);
    const [n, c, h, w] = ref.shape!;
    expect(n).toBe(images.length);
    const bytes = readFileSync(path.join(dir, `${id}.bin`));
    const torch = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const preprocessor = new ImagePreprocessor({ recipe, autoOrient: false }); // PIL's Image.open does not orient
    let differing = 0;
    let maxAbs = 0;
    for (const [i, image] of images.entries()) {
      const { tensor, width, height } = await preprocessor.process(image);
      expect([width, height]).toEqual([w, h]);
      const offset = i * c * h * w;
      for (let k = 0; k < tensor.length; k++) {
        const d = Math.abs(tensor[k]! - torch[offset + k]!);
        if (d !== 0 || Number.isNaN(d)) differing++;
        if (d > maxAbs) maxAbs = d;
      }
    }
    return { values: torch.length, differing, maxAbs };
  }

  for (const t of TIMM)
    it(`timm ${t.name}${'overlay' in t ? ` ${JSON.stringify(t.overlay)}` : ''} (${t.covers}): 0 values differ`, async () => {
      expect(references[t.id]!.transform).toMatchObject({ family: 'timm' });
      expect(await differences(t.id)).toMatchObject({ differing: 0, maxAbs: 0 });
    });

  for (const p of HF)
    it(`transformers ${p.processor} ${p.backend} backend (${p.id}): 0 values differ`, async () => {
      const transform = references[p.id]!.transform as TransformersProcessor;
      expect(transform).toMatchObject({
        family: 'transformers',
        backend: p.backend,
        processor: p.backend === 'pil' ? `${p.processor}Pil` : p.processor,
      });
      expect(await differences(p.id)).toMatchObject({ differing: 0, maxAbs: 0 });
    });

  it("refuses a processor it does not reproduce (LeViT's own resize) before anything is exported", () => {
    expect(references['levit-pil']!.error).toMatchObject({ code: 'RECIPE_UNSUPPORTED' });
    expect(references['levit-pil']!.error!.message).toContain('LevitImageProcessorPil');
  });

  it('the recipes say which backend and formula they reproduce', () => {
    const pil = recipeFromHub(references['deit-pil']!.transform!);
    const tv = recipeFromHub(references['deit-torchvision']!.transform!);
    expect(pil.steps[1]).toMatchObject({
      op: 'resize',
      width: 256,
      height: 256,
      filter: 'bicubic',
      backend: 'pil',
    });
    expect(pil.steps[2]).toMatchObject({ op: 'centerCrop', offsets: 'transformers-pil' });
    expect(pil.tensor).toMatchObject({ formula: 'transformers-pil', scale: 255 });
    expect(tv.steps[1]).toMatchObject({ backend: 'torchvision' });
    expect(tv.tensor).toMatchObject({ formula: 'transformers-torchvision', scale: 255 });
    const border = recipeFromHub(references.border!.transform!);
    expect(border.steps.slice(1)).toEqual([
      { op: 'resizeKeepRatio', width: 235, height: 235, longest: 1, filter: 'bicubic' },
      { op: 'centerCrop', width: 224, height: 224, fill: [124, 116, 104] },
    ]);
  });
});

describe('hub recipe refusals (no Python)', () => {
  const timm: TimmEvalTransform = {
    family: 'timm',
    model: 'resnet18',
    tag: 'a1_in1k',
    inputSize: [3, 224, 224],
    interpolation: 'bicubic',
    cropPct: 0.95,
    cropMode: 'center',
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    transforms: ['Resize', 'CenterCrop', 'MaybeToTensor', 'Normalize'],
  };
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (err) {
      return err instanceof ConverterError ? err.code : 'other';
    }
    return undefined;
  };

  it('timm: an unknown crop mode or interpolation → RECIPE_UNSUPPORTED', () => {
    expect(recipeFromTimm(timm).steps[1]).toEqual({ op: 'resizeShorterSide', size: 235, filter: 'bicubic' });
    expect(code(() => recipeFromTimm({ ...timm, cropMode: 'random' }))).toBe('RECIPE_UNSUPPORTED');
    expect(code(() => recipeFromTimm({ ...timm, interpolation: 'random' }))).toBe('RECIPE_UNSUPPORTED');
  });

  it('transformers: a size that follows the image, an inexact rescale, a filter torch cannot antialias', () => {
    const vit: TransformersProcessor = {
      family: 'transformers',
      processor: 'ViTImageProcessor',
      backend: 'torchvision',
      defaultBackend: true,
      rule: 'generic',
      doConvertRgb: null,
      doResize: true,
      size: { height: 224, width: 224 },
      resample: 'bilinear',
      cropPct: null,
      doCenterCrop: false,
      cropSize: null,
      doRescale: true,
      rescaleFactor: 1 / 255,
      doNormalize: true,
      rescaleOffset: false,
      includeTop: false,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      transformersVersion: '5.18.0',
      preprocessorConfig: {},
    };
    expect(recipeFromTransformers(vit).tensor).toMatchObject({
      scale: 255,
      formula: 'transformers-torchvision',
    });
    expect(code(() => recipeFromTransformers({ ...vit, size: { longest_edge: 224 } }))).toBe(
      'RECIPE_UNSUPPORTED',
    );
    expect(code(() => recipeFromTransformers({ ...vit, doNormalize: false }))).toBe('RECIPE_UNSUPPORTED');
    expect(code(() => recipeFromTransformers({ ...vit, resample: 'hamming' }))).toBe('RECIPE_UNSUPPORTED');
    expect(recipeFromTransformers({ ...vit, backend: 'pil', resample: 'hamming' }).steps[1]).toMatchObject({
      filter: 'hamming',
      backend: 'pil',
    });
  });
});
