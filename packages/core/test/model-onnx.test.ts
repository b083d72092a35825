import { readFileSync } from 'node:fs';
import { DisposedError, InvalidOptionError, ModelLoadError, ModelShapeError, ONNXModel } from '@mtailor/core';
import { topK } from '@mtailor/core/internal';
import { describe, expect, it } from 'vitest';
import { hasTorch, shared } from '../../../test/support/shared-data.js';
import { makeTinyModel } from './support/tiny-models.js';

const torch = hasTorch();

describe('ONNXModel on the shared models', () => {
  it('reads names, types, shapes (symbolic batch) and the classifier signature', async () => {
    const model = await ONNXModel.load(shared.int8Model);
    try {
      expect(model.inputs).toEqual([{ name: 'input', type: 'float32', shape: ['batch', 3, 224, 224] }]);
      expect(model.outputs).toEqual([{ name: 'logits', type: 'float32', shape: ['batch', 1000] }]);
      expect(model.inputName).toBe('input');
      expect(model.outputName).toBe('logits');
      expect(model.inputLayout).toBe('NCHW');
      expect(model.inputSize).toEqual({ width: 224, height: 224 });
      expect(model.batchDim).toBe('dynamic');
      expect(model.numClasses).toBe(1000);
      expect(model.executionProvider).toBe('cpu');
      expect(model.options.allowSpinning).toBe(false);
      expect(model.options.intraOpThreads).toBeGreaterThanOrEqual(1);
    } finally {
      model.dispose();
    }
  });

  it('runs a batch: row i of a batch equals image i run alone', async () => {
    const model = await ONNXModel.load(shared.floatModel, { intraOpThreads: 1 });
    try {
      await model.warmup();
      const per = model.inputElementsPerImage;
      const batch = new Float32Array(3 * per);
      // Three different synthetic images: a ramp, a constant, a checkerboard.
      for (let i = 0; i < per; i++) {
        batch[i] = (i % 224) / 112 - 1;
        batch[per + i] = 0.5;
        batch[2 * per + i] = ((i >> 3) & 1) === 0 ? 1.5 : -1.5;
      }
      const logits = await model.run(batch, 3);
      expect(logits.length).toBe(3000);
      for (let b = 0; b < 3; b++) {
        const alone = await model.run(batch.slice(b * per, (b + 1) * per), 1);
        const row = logits.subarray(b * 1000, (b + 1) * 1000);
        for (let c = 0; c < 1000; c++) expect(Math.abs(row[c]! - alone[c]!)).toBeLessThan(1e-4);
        expect(topK(row, 5)).toEqual(topK(alone, 5));
      }
    } finally {
      model.dispose();
    }
  });

  it('shares one session per model and options; the session lives until the last handle is disposed', async () => {
    const a = await ONNXModel.load(shared.int8Model, { intraOpThreads: 1 });
    const b = await ONNXModel.load(readFileSync(shared.int8Model), { intraOpThreads: 1 });
    const c = await ONNXModel.load(shared.int8Model, { intraOpThreads: 1 });
    a.dispose();
    a.dispose(); // idempotent: does not release c's session
    await expect(a.run(new Float32Array(a.inputElementsPerImage), 1)).rejects.toBeInstanceOf(DisposedError);
    const logits = await c.run(new Float32Array(c.inputElementsPerImage), 1);
    expect(logits.length).toBe(1000);
    expect(b.source).toBe('<bytes>');
    b.dispose();
    c.dispose();
  });

  it('checks run() arguments', async () => {
    const model = await ONNXModel.load(shared.int8Model);
    try {
      await expect(model.run(new Float32Array(10), 1)).rejects.toThrow(
        'Expected 1 × 150528 = 150528 floats for batch but received 10',
      );
      await expect(model.run(new Float32Array(150528), 0)).rejects.toThrow(
        'Expected positive integer for batchSize but received 0 of type number',
      );
      await expect(model.run(new Float32Array(150528), 0)).rejects.toBeInstanceOf(InvalidOptionError);
    } finally {
      model.dispose();
    }
  });

  it('rejects bad options in sharp’s message form', async () => {
    await expect(ONNXModel.load(shared.int8Model, { intraOpThreads: 0 })).rejects.toThrow(
      'Expected positive integer for intraOpThreads but received 0 of type number',
    );
    await expect(
      // @ts-expect-error: testing a bad value from JavaScript
      ONNXModel.load(shared.int8Model, { graphOptimizationLevel: 'max' }),
    ).rejects.toThrow(
      'Expected one of disabled, basic, extended, all for graphOptimizationLevel but received "max"',
    );
    await expect(ONNXModel.load(shared.int8Model, { intraOpNumThreads: 1 } as object)).rejects.toThrow(
      'Unknown option "intraOpNumThreads" for ONNXModel.load; expected one of intraOpThreads, interOpThreads, graphOptimizationLevel, executionProviders, allowSpinning',
    );
  });

  it('falls back from CUDA to CPU with a clear message when CUDA is unavailable', async () => {
    const model = await ONNXModel.load(shared.int8Model, { executionProviders: ['cuda'] });
    try {
      expect(model.executionProvider).toBe('cpu');
      expect(model.fallbackMessage).toMatch(
        /^CUDA execution provider unavailable \(.+\); running .+ on CPU$/,
      );
      expect((await model.run(new Float32Array(model.inputElementsPerImage), 1)).length).toBe(1000);
    } finally {
      model.dispose();
    }
  });

  it('throws ModelLoadError for a missing file and for bytes that are not ONNX', async () => {
    await expect(ONNXModel.load('/nonexistent/model.onnx')).rejects.toBeInstanceOf(ModelLoadError);
    await expect(ONNXModel.load('/nonexistent/model.onnx')).rejects.toThrow(
      /Cannot read model file .*ENOENT/,
    );
    const err = await ONNXModel.load(new TextEncoder().encode('this is not an onnx model')).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.code).toBe('MODEL_LOAD_FAILED');
    expect(err.message).toMatch(/^onnxruntime cannot load <bytes>: /);
  });
});

describe.skipIf(!torch)('ONNXModel on tiny models made with the onnx package', () => {
  it('ModelShapeError: output of the wrong rank ([N, 3, 1, 1] instead of [N, C])', async () => {
    const file = makeTinyModel({
      graph: 'gap',
      keep4: true,
      inputs: [{ name: 'image', shape: ['N', 3, 8, 8] }],
      outputs: [{ name: 'pooled', shape: ['N', 3, 1, 1] }],
    });
    const err = await ONNXModel.load(file).catch((e) => e);
    expect(err).toBeInstanceOf(ModelShapeError);
    expect(err.code).toBe('MODEL_SHAPE');
    expect(err.message).toBe(`${file}: output "pooled" has shape [N, 3, 1, 1] (rank 4); expected [N, C]`);
  });

  it('ModelShapeError: two outputs', async () => {
    const file = makeTinyModel({
      graph: 'two',
      inputs: [{ name: 'image', shape: ['N', 3, 8, 8] }],
      outputs: [
        { name: 'a', shape: ['N', 3] },
        { name: 'b', shape: ['N', 3] },
      ],
    });
    await expect(ONNXModel.load(file)).rejects.toThrow(
      `${file}: model has 2 outputs (a, b); an image classifier has exactly one [N, C] output`,
    );
  });

  it('ModelShapeError: integer input, and an input without a 3-channel dim', async () => {
    const int = makeTinyModel({
      graph: 'cast',
      inputs: [{ name: 'image', type: 'INT64', shape: ['N', 3, 8, 8] }],
      outputs: [{ name: 'logits', shape: ['N', 3] }],
    });
    await expect(ONNXModel.load(int)).rejects.toThrow(`${int}: input "image" is int64; expected float32`);
    const four = makeTinyModel({
      graph: 'gap',
      inputs: [{ name: 'image', shape: ['N', 4, 8, 8] }],
      outputs: [{ name: 'logits', shape: ['N', 4] }],
    });
    await expect(ONNXModel.load(four)).rejects.toThrow(
      `${four}: input "image" has shape [N, 4, 8, 8], which has no 3-channel dim; expected [N, 3, H, W] (NCHW) or [N, H, W, 3] (NHWC)`,
    );
  });

  it('NHWC input, fixed batch 1 (a batch of 3 runs as 3 calls), symbolic class dim resolved by a probe', async () => {
    const file = makeTinyModel({
      graph: 'nhwc',
      inputs: [{ name: 'pixels', shape: [1, 5, 7, 3] }],
      outputs: [{ name: 'scores', shape: [1, 'classes'] }],
    });
    const model = await ONNXModel.load(file);
    try {
      expect(model.inputLayout).toBe('NHWC');
      expect(model.inputSize).toEqual({ width: 7, height: 5 });
      expect(model.batchDim).toBe(1);
      expect(model.numClasses).toBe(3);
      const per = model.inputElementsPerImage;
      const batch = new Float32Array(3 * per);
      for (let b = 0; b < 3; b++)
        for (let p = 0; p < 35; p++) {
          batch[b * per + p * 3] = b; // R
          batch[b * per + p * 3 + 1] = 10 + b; // G
          batch[b * per + p * 3 + 2] = -b; // B
        }
      expect([...(await model.run(batch, 3))]).toEqual([0, 10, 0, 1, 11, -1, 2, 12, -2]);
    } finally {
      model.dispose();
    }
  });
});
