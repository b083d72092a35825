import { readFileSync } from 'node:fs';
import path from 'node:path';
import { health, ImageClassifier, ONNXModel } from '@mtailor/core';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { shared } from '../../../test/support/shared-data.js';

describe('health()', () => {
  it('reports the model, a self-test inference, memory, disk, uptime and versions', async () => {
    const classifier = await ImageClassifier.create({ model: shared.int8Model });
    try {
      const report = await health(classifier);
      expect(report.status).toBe('ok');
      expect(report.model).toMatchObject({
        loaded: true,
        source: shared.int8Model,
        inputLayout: 'NCHW',
        inputSize: { width: 224, height: 224 },
        batchDim: 'dynamic',
        numClasses: 1000,
        executionProvider: 'cpu',
      });
      expect(report.model.inputs).toEqual([
        { name: 'input', type: 'float32', shape: ['batch', 3, 224, 224] },
      ]);
      expect(report.model.outputs).toEqual([{ name: 'logits', type: 'float32', shape: ['batch', 1000] }]);
      expect(report.selfTest.ok).toBe(true);
      const top1 = report.selfTest.top1!;
      expect(Number.isInteger(top1.index)).toBe(true);
      expect(top1.probability).toBeGreaterThan(0);
      expect(top1.probability).toBeLessThanOrEqual(1);
      // The self-test is a real end-to-end inference: the same answer twice, and the timings are measured.
      expect((await health(classifier)).selfTest.top1).toEqual(top1);
      expect(report.selfTest.timings!.inferenceMs).toBeGreaterThan(0);
      expect(report.memory.rss).toBeGreaterThan(report.memory.heapUsed);
      expect(report.memory.heapUsed).toBeGreaterThan(0);
      expect(report.disk).toMatchObject({ path: path.dirname(shared.int8Model) });
      if (!('freeBytes' in report.disk)) throw new Error(report.disk.error);
      expect(report.disk.freeBytes).toBeGreaterThan(0);
      expect(report.disk.totalBytes).toBeGreaterThanOrEqual(report.disk.freeBytes);
      expect(report.uptimeSeconds).toBeGreaterThan(0);
      expect(report.versions).toEqual({
        node: process.versions.node,
        onnxruntime: '1.30.0',
        sharp: sharp.versions.sharp,
        vips: sharp.versions.vips,
        mtailorCore: JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version,
      });
      expect(JSON.parse(JSON.stringify(report))).toEqual(report); // plain JSON, ready for an HTTP endpoint
    } finally {
      classifier.dispose();
    }
  });

  it('works on a bare ONNXModel too (loaded from bytes: disk of the working directory)', async () => {
    const model = await ONNXModel.load(readFileSync(shared.floatModel));
    try {
      const report = await health(model);
      expect(report.status).toBe('ok');
      expect(report.model.source).toBe('<bytes>');
      expect(report.disk.path).toBe(process.cwd());
      expect(report.selfTest.ok).toBe(true);
      expect(report.selfTest.timings).toMatchObject({ decodeMs: 0, preprocessMs: 0 });
      expect(report.selfTest.top1!.label).toBe(`class ${report.selfTest.top1!.index}`);
    } finally {
      model.dispose();
    }
    expect((await health(model)).status).toBe('error');
  });

  it('says error (and why) once the classifier is disposed, without throwing', async () => {
    const classifier = await ImageClassifier.create({ model: shared.int8Model });
    classifier.dispose();
    const report = await health(classifier);
    expect(report.status).toBe('error');
    expect(report.model.loaded).toBe(false);
    expect(report.selfTest).toEqual({
      ok: false,
      error: { code: 'DISPOSED', message: 'ImageClassifier was used after dispose()' },
    });
  });
});
