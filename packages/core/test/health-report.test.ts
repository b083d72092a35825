import path from 'node:path';
import { health, ImageClassifier } from '@mtailor/core';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { shared } from '../../../test/support/shared-data.js';

describe('health()', () => {
  it('reports the model, a self-test inference, the engine, memory, disk, uptime and versions', async () => {
    const classifier = await ImageClassifier.create({ model: shared.int8Model, workers: 1 });
    try {
      const report = await health(classifier);
      expect(report.status).toBe('ok');
      expect(report.model).toMatchObject({
        source: shared.int8Model,
        sha256: '3d7d27aef3d51098bf372f5ba3a5170b679d279e84b5d193260c5f434762172e',
        inputLayout: 'NCHW',
        inputSize: { width: 224, height: 224 },
        batchDim: 'dynamic',
        numClasses: 1000,
        executionProvider: 'cpu',
        onnxruntimeVersion: '1.30.0',
      });
      expect(report.model.inputs).toEqual([
        { name: 'input', type: 'float32', shape: ['batch', 3, 224, 224] },
      ]);
      expect(report.model.outputs).toEqual([{ name: 'logits', type: 'float32', shape: ['batch', 1000] }]);
      // Which int8 kernels run (through the inference worker's message, as plain JSON) and that they are exact.
      expect(report.model.int8Kernels).toMatchObject({ requested: 'exact', exact: true, int8Weights: 53 });
      expect(report.model.int8Kernels.reason.length).toBeGreaterThan(10);
      // The built-in synthetic image, whose class is known for this model: 722 'ping-pong ball'.
      if (!report.selfTest.ok) throw new Error(JSON.stringify(report.selfTest));
      expect(report.selfTest.result).toMatchObject({
        ok: true,
        top1: { index: 722, label: 'ping-pong ball' },
        expectedClass: 722,
        expectation: 'known-model',
        source: 'synthetic',
      });
      expect(report.selfTest.result.ms).toBeGreaterThan(0);
      expect(report.engine).toMatchObject({ state: 'running', ready: true, inProgress: 0 });
      expect(report.engine.lastInference?.ms).toBeGreaterThan(0);
      expect(report.memory.rss).toBeGreaterThan(report.memory.heapUsed);
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
        mtailorCore: '0.1.0',
      });
      expect(JSON.parse(JSON.stringify(report))).toEqual(report); // plain JSON, ready for an HTTP endpoint
    } finally {
      await classifier.close();
    }
  });

  it('says error (and why) once the classifier is closed, without throwing', async () => {
    const classifier = await ImageClassifier.create({ model: shared.int8Model, workers: 0 });
    await classifier.close();
    const report = await health(classifier);
    expect(report.status).toBe('error');
    expect(report.engine).toMatchObject({ state: 'closed', ready: false });
    expect(report.selfTest).toEqual({
      ok: false,
      error: { code: 'SHUTTING_DOWN', message: 'the classifier is closed' },
    });
  });
});
