/**
 * The Transformers.js baseline (bench/baselines/transformers-js.mjs) stays a fair, offline baseline: it classifies the
 * shared images through Transformers.js' own image-classification pipeline without any network attempt, leaves no
 * file behind (neither its temporary model folder nor a Transformers.js cache in node_modules), applies the
 * preprocessing it claims, and its answers are those of a real classifier (top-1 agreement with onnxruntime on
 * torchvision's tensors well above chance, below 100 % because Transformers.js resizes with sharp's affine bilinear
 * and applies EXIF orientation). Speed is measured by the script itself, never asserted here.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  agreement,
  buildModelFolder,
  installNetworkGuard,
  PREPROCESSOR_CONFIG,
  readLabels,
  runTransformersJs,
} from '../bench/baselines/transformers-js.mjs';
import { repoRoot, shared, sharedImages } from './support/shared-data.js';

const tfjsTempDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith('mtailor-tfjs-'));

describe('Transformers.js baseline', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'mtailor-tfjs-test-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('maps every class of the shared table to its own label, and tells duplicated names apart by wnid', () => {
    const { id2label, label2id } = readLabels(shared.classesTsv);
    expect(Object.keys(id2label)).toHaveLength(1000);
    expect(Object.keys(label2id)).toHaveLength(1000);
    expect(id2label['0']).toBe('tench');
    for (const [id, label] of Object.entries(id2label)) expect(label2id[label]).toBe(Number(id));
    // torchvision's own category names repeat "crane" and "maillot": such a table must still map back one to one.
    const tsv = path.join(scratch, 'dup.tsv');
    writeFileSync(tsv, 'index\twnid\tlabel\n0\tn02012849\tcrane\n1\tn03126707\tcrane\n2\tn01440764\ttench\n');
    expect(readLabels(tsv).id2label).toEqual({ 0: 'crane (n02012849)', 1: 'crane (n03126707)', 2: 'tench' });
    writeFileSync(tsv, 'index\twnid\tlabel\n1\tn01440764\ttench\n');
    expect(() => readLabels(tsv)).toThrow('Expected row 1 of');
  });

  it('builds the model folder Transformers.js reads, with the input renamed to pixel_values', () => {
    const dir = path.join(scratch, 'folder');
    const f = buildModelFolder({ dir, modelPath: shared.int8Model, labelsTsv: shared.classesTsv });
    expect(f.dtype).toBe('q8');
    expect(path.basename(f.modelFile)).toBe('model_quantized.onnx');
    expect(f.renamed).toEqual({ input: 'pixel_values' });
    const config = JSON.parse(readFileSync(path.join(dir, f.modelId, 'config.json'), 'utf8'));
    expect(config.model_type).toBe('mobilenet_v2');
    expect(config.architectures).toEqual(['MobileNetV2ForImageClassification']);
    const pre = JSON.parse(readFileSync(path.join(dir, f.modelId, 'preprocessor_config.json'), 'utf8'));
    expect(pre).toEqual(JSON.parse(JSON.stringify(PREPROCESSOR_CONFIG)));
  });

  it('refuses and records network attempts while its guard is on, and restores everything after', async () => {
    const originalFetch = globalThis.fetch;
    const originalConnect = net.Socket.prototype.connect;
    const guard = installNetworkGuard();
    try {
      await expect(fetch('http://127.0.0.1:9/never')).rejects.toThrow(/network access refused/);
      expect(() => net.connect(9, '127.0.0.1')).toThrow(/network access refused/);
    } finally {
      guard.restore();
    }
    expect(guard.attempts).toHaveLength(2);
    expect(guard.attempts[0]).toBe('fetch http://127.0.0.1:9/never');
    expect(globalThis.fetch).toBe(originalFetch);
    expect(net.Socket.prototype.connect).toBe(originalConnect);
  });

  it('classifies the 104 shared images offline through the pipeline, agreeing with onnxruntime on torchvision tensors on most', async () => {
    const images = sharedImages();
    const before = tfjsTempDirs();
    const r = await runTransformersJs({
      modelPath: shared.int8Model,
      images,
      labelsTsv: shared.classesTsv,
      batchSize: 8,
    });
    expect(r.count).toBe(104);
    expect(r.top1).toHaveLength(104);
    expect(r.top1.every((c) => Number.isInteger(c) && c >= 0 && c < 1000)).toBe(true);
    expect(r.imagesPerSecond).toBeGreaterThan(0);
    expect(r.info.networkAttempts).toEqual([]);
    expect(r.info.preprocessing).toMatchObject({
      processor: 'MobileNetV2ImageProcessor',
      size: { height: 224, width: 224 },
      resample: 2,
      do_center_crop: false,
      do_rescale: true,
      do_normalize: true,
      image_mean: [0.485, 0.456, 0.406],
      image_std: [0.229, 0.224, 0.225],
    });
    // The seed's two test images.
    expect(r.top1[images.indexOf(shared.tench)]).toBe(0);
    expect(r.top1[images.indexOf(shared.mudTurtle)]).toBe(35);
    // Measured 95 / 104 (Transformers.js 4.3.2); the shared notes give ≈ 88 % on 1000 images.
    const a = agreement(
      images,
      r.top1,
      shared.reference('ort_mobilenet_v2_int8_on_torchvision_tensors.json'),
    );
    expect(a.unique).toBe(104);
    expect(a.uniqueAgree).toBeGreaterThanOrEqual(85);
    // Nothing left behind: its temporary folder is gone, and Transformers.js cached nothing in node_modules.
    expect(tfjsTempDirs().filter((d) => !before.includes(d) && !d.startsWith('mtailor-tfjs-test-'))).toEqual(
      [],
    );
    expect(existsSync(path.join(repoRoot, 'node_modules', '@huggingface', 'transformers', '.cache'))).toBe(
      false,
    );
  });

  it('rejects a non-positive batch size with a clear message', async () => {
    await expect(
      runTransformersJs({
        modelPath: shared.int8Model,
        images: [shared.tench],
        labelsTsv: shared.classesTsv,
        batchSize: 0,
      }),
    ).rejects.toThrow('Expected positive integer for batchSize but received 0 of type number');
  });
});
