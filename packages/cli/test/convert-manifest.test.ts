/**
 * A converted model served through its manifest answers like PyTorch with torchvision's own evaluation transform.
 * The shared MobileNetV2 ImageNet checkpoint → `mtailor convert` (writes the manifest: MobileNet_V2_Weights.DEFAULT's
 * transform, resize 232 bilinear → crop 224) → `mtailor validate --manifest` → `mtailor classify --manifest` on
 * all 104 shared images, against PyTorch eager with `MobileNet_V2_Weights.DEFAULT.transforms()` computed here by
 * /usr/bin/python3. Without the manifest the CLI uses `resize-224`, which gives other answers — PyTorch says how
 * many, and the CLI reproduces those too.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTorch, python, shared, sharedImages } from '../../../test/support/shared-data.js';
import { mtailor } from './support/run-cli.js';

/** PyTorch eager top-1 per image, with torchvision's DEFAULT transform and with the seed's Resize((224, 224)). */
function torchTop1(images: string[]): Record<string, { default: number; resize224: number }> {
  const script = `
import json, sys, torch
from PIL import Image
from torchvision import models, transforms
torch.set_grad_enabled(False)
model = models.mobilenet_v2(weights=None)
model.load_state_dict(torch.load(${JSON.stringify(shared.mobilenetWeights)}, map_location='cpu', weights_only=True))
model.eval()
default = models.MobileNet_V2_Weights.DEFAULT.transforms()
resize224 = transforms.Compose([transforms.Resize((224, 224)), transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
out = {}
for path in json.load(sys.stdin):
    img = Image.open(path).convert('RGB')  # no EXIF orientation: torchvision does not apply it
    batch = torch.stack([default(img), resize224(img)])
    top = model(batch).argmax(1).tolist()
    out[path] = {'default': top[0], 'resize224': top[1]}
print(json.dumps(out))
`;
  return JSON.parse(
    execFileSync(python, ['-c', script], {
      input: JSON.stringify(images),
      encoding: 'utf8',
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
    }),
  ) as Record<string, { default: number; resize224: number }>;
}

/** `mtailor classify --json` lines → top-1 class per file. */
function top1s(stdout: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of stdout.split('\n').filter(Boolean)) {
    const item = JSON.parse(line) as { file: string; predictions: { index: number }[] };
    out[item.file] = item.predictions[0]!.index;
  }
  return out;
}

describe.skipIf(!hasTorch())('shared MobileNetV2: convert → manifest → classify --manifest = PyTorch', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mtailor-manifest-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'mobilenet_v2.onnx');
  const manifestPath = path.join(dir, 'mobilenet_v2.manifest.json');
  const images = sharedImages();
  let convert: { code: number; stdout: string; stderr: string };
  let torch: Record<string, { default: number; resize224: number }>;

  beforeAll(async () => {
    convert = await mtailor(
      'convert',
      '--arch',
      'mobilenet_v2',
      '--weights',
      shared.mobilenetWeights,
      '--out',
      out,
      '--python',
      python,
    );
    torch = torchTop1(images);
  });

  it('convert writes <out minus .onnx>.manifest.json with MobileNet_V2_Weights.DEFAULT’s evaluation transform', () => {
    expect(convert.code).toBe(0);
    expect(convert.stderr).toContain(`wrote ${manifestPath}`);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      model: 'mobilenet_v2.onnx',
      labels: 'imagenet1k',
      numClasses: 1000,
      outputKind: 'logits',
      recipe: {
        name: 'torchvision MobileNet_V2_Weights.IMAGENET1K_V2 eval',
        steps: [
          { op: 'toRGB' },
          { op: 'resizeShorterSide', size: 232, filter: 'bilinear' },
          { op: 'centerCrop', width: 224, height: 224 },
        ],
        tensor: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], scale: 255, layout: 'NCHW' },
      },
    });
    expect(manifest.description).toContain('resize shorter side 232 bilinear, center crop 224');
  });

  it('validate --manifest checks the model against it → exit 0; a bad manifest → exit 2', async () => {
    const r = await mtailor('validate', '--manifest', manifestPath, '--json');
    expect(r.code).toBe(0);
    const wrong = await mtailor('validate', '--manifest', manifestPath, '--num-classes', '10');
    expect(wrong.code).toBe(1); // an explicit expectation wins over the manifest's
    const missing = await mtailor('validate', '--manifest', path.join(dir, 'none.json'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('INVALID_MANIFEST');
    const report = JSON.parse(r.stdout) as { ok: boolean; manifest: { numClasses: number; model: string } };
    expect(report.ok).toBe(true);
    expect(report.manifest).toMatchObject({ numClasses: 1000, model: out });
  });

  it('classify --manifest gives PyTorch’s top-1 with torchvision’s DEFAULT transform on all 104 images', async () => {
    expect(images).toHaveLength(104);
    // --no-auto-orient: torchvision ignores EXIF orientation (one shared image has orientation 6).
    const r = await mtailor(
      'classify',
      ...images,
      '--manifest',
      manifestPath,
      '--json',
      '--top-k',
      '1',
      '--no-auto-orient',
    );
    expect(r.code).toBe(0);
    const ours = top1s(r.stdout);
    const disagree = images.filter((f) => ours[f] !== torch[f]!.default);
    expect(disagree).toEqual([]);
  });

  it('without the manifest (resize-224) the answers change, as PyTorch with Resize((224, 224)) says', async () => {
    const changed = images.filter((f) => torch[f]!.default !== torch[f]!.resize224);
    expect(changed.length).toBeGreaterThan(5); // PyTorch itself: the transform matters
    const r = await mtailor(
      'classify',
      ...images,
      '--model',
      out,
      '--json',
      '--top-k',
      '1',
      '--no-auto-orient',
    );
    expect(r.code).toBe(0);
    const ours = top1s(r.stdout);
    expect(images.filter((f) => ours[f] !== torch[f]!.resize224)).toEqual([]);
    expect(images.filter((f) => ours[f] !== torch[f]!.default)).toEqual(changed);
  });
});
