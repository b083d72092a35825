/**
 * Issue 20's "done when", as a user of torch 2.x does it, through the `mtailor` command: with today's stack
 * (torch 2.14.1 / torchvision 0.29.1 / Pillow 12.3, `.venv-today`), convert the shared mobilenet_v2 ImageNet
 * checkpoint, then from ANOTHER working directory classify the 104 shared images with `--manifest`, and compare
 * with torch 2.14 running `MobileNet_V2_Weights.IMAGENET1K_V2.transforms()` on Pillow 12.3 (computed here):
 * the same top-1 on every image. `mtailor validate` of the export prints no warning.
 *
 * The CLI runs under this test's own Node (`process.execPath`): under Node 20 in `pnpm test`, under Node 22 and 24
 * in .ci/run's Node LTS blocks.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTodaysTorch, pythonToday, repoRoot, shared, sharedImages } from './support/shared-data.js';

const today = hasTodaysTorch();
const mtailor = path.join(repoRoot, 'packages', 'cli', 'bin', 'mtailor.js');

/** torch 2.14's top-1 and its probability for every image, with the weights' own evaluation transform. */
const TORCH_REFERENCE = `
import json, sys, PIL, torch, torchvision
from PIL import Image
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2
weights, files = sys.argv[1], sys.argv[2:]
torch.set_num_threads(2)
model = mobilenet_v2()
model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
model.eval()
transform = MobileNet_V2_Weights.IMAGENET1K_V2.transforms()
out = {"versions": {"torch": torch.__version__, "torchvision": torchvision.__version__, "pillow": PIL.__version__}, "images": {}}
with torch.no_grad():
    for start in range(0, len(files), 16):
        chunk = files[start:start + 16]
        batch = torch.stack([transform(Image.open(f).convert("RGB")) for f in chunk])
        probs = torch.softmax(model(batch), dim=1)
        top = probs.max(dim=1)
        for f, p, i in zip(chunk, top.values.tolist(), top.indices.tolist()):
            out["images"][f] = {"index": i, "probability": p}
print(json.dumps(out))
`;

interface Reference {
  versions: { torch: string; torchvision: string; pillow: string };
  images: Record<string, { index: number; probability: number }>;
}

describe.skipIf(!today)("today's PyTorch end to end: convert, then classify from another folder", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mtailor-today-e2e-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const outDir = path.join(dir, 'out');
  const elsewhere = path.join(dir, 'elsewhere');
  const images = sharedImages();
  let conversion: { stdout: string; stderr: string; status: number | null };

  const run = (args: string[], cwd: string) =>
    spawnSync(process.execPath, [mtailor, ...args], { cwd, encoding: 'utf8', timeout: 600_000 });

  beforeAll(() => {
    mkdirSync(elsewhere, { recursive: true });
    // As the issue writes it, from the repository root with a relative --out.
    conversion = run(
      [
        'convert',
        '--arch',
        'mobilenet_v2',
        '--weights',
        shared.mobilenetWeights,
        '--out',
        path.relative(repoRoot, path.join(outDir, 'mnv2.onnx')),
        '--python',
        pythonToday,
      ],
      repoRoot,
    );
  });

  it('mtailor convert writes one self-contained model (new exporter, opset 23), VALID with parity at batch 1, 3, 8', () => {
    expect(conversion.status).toBe(0);
    expect(conversion.stderr).toContain('torch 2.14.1+cu130 dynamo exporter'); // the progress and "wrote" lines
    expect(conversion.stdout).toMatch(/VALID\n/); // no "(1 warning)"
    expect(conversion.stdout).toMatch(/parity: OK/);
    expect(conversion.stdout).toMatch(/dynamic batch: batch 3 OK .*, batch 8 OK/);
    expect(readdirSync(outDir).sort()).toEqual([
      'mnv2.manifest.json',
      'mnv2.onnx',
      'mnv2.onnx.parity.bin',
      'mnv2.onnx.parity.json',
    ]);
    expect(statSync(path.join(outDir, 'mnv2.onnx')).size).toBeGreaterThan(13_000_000);
    const manifest = JSON.parse(readFileSync(path.join(outDir, 'mnv2.manifest.json'), 'utf8'));
    expect(manifest.export).toMatchObject({ exporter: 'dynamo', opset: 23 });
    expect(manifest.export.torch).toMatch(/^2\.14\./);
    expect(manifest.externalData).toBeUndefined();
  });

  it('mtailor validate, from another folder, prints no warning', () => {
    const validate = run(['validate', path.join(outDir, 'mnv2.onnx')], elsewhere);
    expect(validate.status).toBe(0);
    expect(validate.stdout).toMatch(/mnv2\.onnx: VALID\n/);
    expect(validate.stdout).not.toMatch(/warning|!/i);
  });

  it('mtailor classify --manifest, from another folder, equals torch 2.14 + the weights transform on Pillow 12.3, every image', () => {
    const classify = (extra: string[]) => {
      const result = run(
        [
          'classify',
          shared.images,
          '--manifest',
          path.join(outDir, 'mnv2.manifest.json'),
          '--json',
          '--top-k',
          '1',
          ...extra,
        ],
        elsewhere,
      );
      expect(result.stderr).not.toContain('MODEL_LOAD_FAILED');
      expect(result.status).toBe(0);
      const top1 = new Map<string, { index: number; probability: number }>();
      for (const line of result.stdout.trim().split('\n')) {
        const r = JSON.parse(line) as { file: string; predictions: { index: number; probability: number }[] };
        top1.set(r.file, r.predictions[0]!);
      }
      expect(top1.size).toBe(images.length);
      return top1;
    };
    // As the issue runs it (photos turned upright by their EXIF orientation, one shared image has one), and as
    // torchvision reads images (EXIF orientation ignored): the comparison of probabilities needs the same pixels.
    const upright = classify([]);
    const asTorchvision = classify(['--no-auto-orient']);

    const reference = JSON.parse(
      execFileSync(pythonToday, ['-c', TORCH_REFERENCE, shared.mobilenetWeights, ...images], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 600_000,
        maxBuffer: 1 << 24,
      }),
    ) as Reference;
    expect(reference.versions.torch).toMatch(/^2\.14\./);
    expect(reference.versions.torchvision).toMatch(/^0\.29\./);
    expect(reference.versions.pillow).toMatch(/^12\.3\./);

    const disagreements: string[] = [];
    let maxProbabilityDiff = 0;
    for (const image of images) {
      const torch = reference.images[image]!;
      for (const [how, ours] of [
        ['upright', upright],
        ['as torchvision', asTorchvision],
      ] as const) {
        const got = ours.get(image)!;
        if (got.index !== torch.index)
          disagreements.push(`${path.basename(image)} (${how}): ${got.index} vs torch ${torch.index}`);
      }
      const got = asTorchvision.get(image)!;
      maxProbabilityDiff = Math.max(maxProbabilityDiff, Math.abs(got.probability - torch.probability));
    }
    expect(disagreements).toEqual([]);
    expect(maxProbabilityDiff).toBeLessThan(1e-4);
  });
});
