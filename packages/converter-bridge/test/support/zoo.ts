/**
 * Checkpoints for the zoo tests: torchvision builders with seeded random weights, built as for their DEFAULT
 * weights entry (scripts/zoo_checkpoint.py, nothing downloaded), and two tiny transformers made of torchvision's
 * own ViT and Swin V2 building blocks (same code paths as vit_* and swin_v2_*, a fraction of the size).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { python } from '../../../../test/support/shared-data.js';

/** scripts/zoo_checkpoint.py of this package. */
export const zooCheckpointScript = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'scripts',
  'zoo_checkpoint.py',
);

/**
 * torchvision's VisionTransformer (even head count: torch 1.13's fused attention applies) and SwinTransformer with
 * the V2 block (it zeroes part of the qkv bias in place: `aten::zero`), small.
 */
export const TINY_ZOO_SOURCE = `from torchvision.models.swin_transformer import PatchMergingV2, SwinTransformer, SwinTransformerBlockV2
from torchvision.models.vision_transformer import VisionTransformer


class TinySwinV2(SwinTransformer):
    def __init__(self, num_classes=10):
        super().__init__(patch_size=[4, 4], embed_dim=16, depths=[2, 2], num_heads=[2, 4], window_size=[4, 4],
                         num_classes=num_classes, block=SwinTransformerBlockV2, downsample_layer=PatchMergingV2)


class TinyViT(VisionTransformer):
    def __init__(self, num_classes=10):
        super().__init__(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64,
                         num_classes=num_classes)
`;

/**
 * Random-weight state_dict of torchvision builder `arch` (as for its DEFAULT weights) at `out`, BatchNorm
 * statistics measured on random inputs (see zoo_checkpoint.py) so the logits have a trained network's scale;
 * `raw` keeps torchvision's initial statistics instead (ResNet-50's logits are then ~100).
 */
export function zooCheckpoint(arch: string, out: string, seed = 0, raw = false): string {
  const args = [zooCheckpointScript, '--arch', arch, '--out', out, '--seed', String(seed)];
  execFileSync(python, raw ? [...args, '--raw'] : args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 240_000,
  });
  return out;
}

/**
 * Writes tiny_zoo.py into `dir` and a seeded state_dict of each class; also tries the plain
 * `torch.onnx.export` of torch 1.13 on each (grad disabled, as the converter ran before) and returns its error.
 */
export function tinyTransformers(dir: string): {
  moduleDir: string;
  vit: string;
  swinV2: string;
  plainExportErrors: { vit: string; swinV2: string };
} {
  writeFileSync(path.join(dir, 'tiny_zoo.py'), TINY_ZOO_SOURCE);
  const script = `
import json, sys, torch
sys.path.insert(0, ${JSON.stringify(dir)})
from tiny_zoo import TinySwinV2, TinyViT
torch.manual_seed(0)
errors = {}
for key, cls, size in (('vit', TinyViT, 32), ('swinV2', TinySwinV2, 64)):
    model = cls().eval()
    torch.save(model.state_dict(), ${JSON.stringify(dir)} + '/' + key + '.pth')
    try:
        with torch.no_grad():
            torch.onnx.export(model, torch.randn(1, 3, size, size), ${JSON.stringify(dir)} + '/plain.onnx', opset_version=17)
        errors[key] = ''
    except Exception as err:
        errors[key] = f'{type(err).__name__}: {err}'
print(json.dumps(errors))
`;
  const stdout = execFileSync(python, ['-c', script], {
    encoding: 'utf8',
    timeout: 240_000,
    stdio: ['ignore', 'pipe', 'pipe'], // torch's tracer warnings stay out of the test output
  });
  const plainExportErrors = JSON.parse(stdout.trim().split('\n').at(-1)!) as { vit: string; swinV2: string };
  return {
    moduleDir: dir,
    vit: path.join(dir, 'vit.pth'),
    swinV2: path.join(dir, 'swinV2.pth'),
    plainExportErrors,
  };
}
