import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IMAGENET1K_LABELS, ImageClassifier, ManifestError, readManifest } from '@mtailor/core';
import { describe, expect, it } from 'vitest';
import { shared } from '../../../test/support/shared-data.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-manifest-'));
// The model sits beside the manifest, as a user would ship them; a symlink keeps the shared file in place.
symlinkSync(shared.int8Model, path.join(dir, 'mobilenet.onnx'));

function write(name: string, json: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
  return file;
}

describe('model manifest', () => {
  it('loads: paths relative to the manifest, imagenet1k labels, model checked', async () => {
    const file = write('ok.json', {
      model: 'mobilenet.onnx',
      recipe: 'resize-224',
      labels: 'imagenet1k',
      numClasses: 1000,
    });
    const manifest = await readManifest(file);
    expect(manifest.modelPath).toBe(path.join(dir, 'mobilenet.onnx'));
    expect(manifest.recipe).toBe('resize-224');
    expect(manifest.labels).toBe(IMAGENET1K_LABELS);
    expect(manifest.outputKind).toBe('logits');
    const classifier = await ImageClassifier.create({ manifest: file, workers: 0 });
    try {
      expect(classifier.model.numClasses).toBe(1000);
      expect(classifier.model.source).toBe(path.join(dir, 'mobilenet.onnx'));
      expect(classifier.labels).toBe(IMAGENET1K_LABELS);
    } finally {
      await classifier.close();
    }
  });

  it('labels from a file beside the manifest', async () => {
    writeFileSync(
      path.join(dir, 'labels.txt'),
      `${IMAGENET1K_LABELS.map((l) => l.toUpperCase()).join('\n')}\n`,
    );
    const file = write('file-labels.json', {
      model: 'mobilenet.onnx',
      recipe: 'resize-224',
      labels: 'labels.txt',
      numClasses: 1000,
      outputKind: 'logits',
    });
    expect((await readManifest(file)).labels[0]).toBe('TENCH');
  });

  it('numClasses that disagrees with the model → ManifestError', async () => {
    const file = write('wrong-classes.json', {
      model: 'mobilenet.onnx',
      recipe: 'resize-224',
      labels: ['a', 'b'],
      numClasses: 2,
    });
    const err = await ImageClassifier.create({ manifest: file, workers: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(ManifestError);
    expect(err.code).toBe('INVALID_MANIFEST');
    expect(err.message).toBe(
      `${file}: "numClasses" is 2 but model ${path.join(dir, 'mobilenet.onnx')} outputs 1000 classes`,
    );
  });

  it('malformed manifests → ManifestError naming the field', async () => {
    const cases: [unknown, string][] = [
      ['{ not json', 'Cannot read manifest'],
      [[1, 2], 'expected a JSON object'],
      [{ recipe: 'resize-224', labels: 'imagenet1k', numClasses: 1000 }, '"model" must be a file name'],
      [
        { model: 'm.onnx', recipe: 7, labels: 'imagenet1k', numClasses: 1000 },
        '"recipe" must be a preset name',
      ],
      [
        { model: 'm.onnx', recipe: 'resize-224', labels: 'imagenet1k', numClasses: 0 },
        '"numClasses" must be a positive integer',
      ],
      [
        { model: 'm.onnx', recipe: 'resize-224', labels: 'imagenet1k', numClasses: 10 },
        '1000 labels for a model with 10 classes',
      ],
      [{ model: 'm.onnx', recipe: 'resize-224', labels: 5, numClasses: 1000 }, '"labels" must be'],
      [
        {
          model: 'm.onnx',
          recipe: 'resize-224',
          labels: 'imagenet1k',
          numClasses: 1000,
          outputKind: 'scores',
        },
        '"outputKind" must be "logits" or "probabilities"',
      ],
      [
        { model: 'm.onnx', recipe: 'resize-224', labels: 'imagenet1k', numClasses: 1000, lables: 'x' },
        'unknown field "lables"',
      ],
    ];
    for (const [i, [json, message]] of cases.entries()) {
      const file = write(`bad-${i}.json`, json);
      const err = await readManifest(file).catch((e) => e);
      expect(err, message).toBeInstanceOf(ManifestError);
      expect(err.message).toContain(message);
      expect(err.message).toContain(file);
    }
  });
});
