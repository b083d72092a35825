/**
 * Manifest recipes with the steps timm and transformers need (resizeKeepRatio, centerCrop fill / offsets, the
 * torchvision resize backend, transformers' tensor formula) run end to end through ImagePreprocessor — decode with
 * sharp, preprocess — and give the very tensors timm's eval transform and transformers' processor give in Python.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImagePreprocessor } from '@mtailor/core';
import { describe, expect, it } from 'vitest';
import { hasTodaysTorch, pythonToday, shared } from '../../../test/support/shared-data.js';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures-scripts', 'hub_tensors.py');
const files = [shared.tench, shared.mudTurtle];

// As a manifest carries them: plain JSON.
const recipes = JSON.parse(`[
  { "name": "timm border (240, 200) bicubic",
    "steps": [{ "op": "toRGB" },
              { "op": "resizeKeepRatio", "width": 200, "height": 240, "longest": 1, "filter": "bicubic" },
              { "op": "centerCrop", "width": 200, "height": 240, "fill": [128, 128, 128] }],
    "tensor": { "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5] } },
  { "name": "transformers ConvNeXt, torchvision backend",
    "steps": [{ "op": "toRGB" },
              { "op": "resizeShorterSide", "size": 256, "filter": "bicubic", "backend": "torchvision" },
              { "op": "centerCrop", "width": 224, "height": 224, "offsets": "transformers-torchvision" }],
    "tensor": { "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "formula": "transformers-torchvision" } }
]`);

describe.skipIf(!hasTodaysTorch())('ImagePreprocessor with timm / transformers recipes', () => {
  it('gives bit-identical tensors to timm create_transform and ConvNextImageProcessor', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mtailor-hub-'));
    let expected: Float32Array;
    try {
      const out = path.join(dir, 'tensors.f32');
      execFileSync(pythonToday, [script, out, ...files], { stdio: ['ignore', 'ignore', 'inherit'] });
      const bytes = readFileSync(out);
      expected = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    let offset = 0;
    for (const recipe of recipes) {
      const preprocessor = new ImagePreprocessor({ recipe, autoOrient: false });
      for (const file of files) {
        const { tensor } = await preprocessor.process(file);
        const reference = expected.subarray(offset, offset + tensor.length);
        offset += tensor.length;
        const differing = tensor.filter((v, i) => !Object.is(v, reference[i])).length;
        expect(differing, `${recipe.name} on ${path.basename(file)}`).toBe(0);
      }
    }
    expect(offset).toBe(expected.length);
  }, 120_000);
});
