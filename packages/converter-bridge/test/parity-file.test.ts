/**
 * checkParity's own guards, without PyTorch: malformed parity files → PARITY_FILE_INVALID, a model onnxruntime
 * cannot run on the stored inputs → PARITY_RUN_FAILED. The vectors here hold the baseline model's exact logits
 * (computed by hand from its weights), so the comparison itself is exercised on a real onnxruntime run too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkParity, readParityVectors } from '@mtailor/converter-bridge';
import { afterAll, describe, expect, it } from 'vitest';
import { baselineModel, encode } from './support/onnx-builder.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mtailor-parity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const modelPath = path.join(dir, 'tiny.onnx');
writeFileSync(modelPath, encode(baselineModel()));

/** The baseline's function, in plain JS: global average pool → fc (weights as in onnx-builder). */
function tinyLogits(input: Float32Array): Float32Array {
  const w = Array.from({ length: 30 }, (_, i) => Math.fround(Math.sin(i + 1) * 0.5));
  const b = Array.from({ length: 10 }, (_, i) => Math.fround(Math.sin(i + 1) * 0.1));
  const mean = [0, 1, 2].map((c) => input.subarray(c * 64, (c + 1) * 64).reduce((s, v) => s + v, 0) / 64);
  return Float32Array.from(
    { length: 10 },
    (_, k) => b[k]! + mean.reduce((s, m, c) => s + m * w[k * 3 + c]!, 0),
  );
}

/** Write a parity pair; `mutate` edits the JSON document before it is written. */
function writeParity(
  name: string,
  samples: number,
  mutate: (doc: Record<string, unknown>) => void = () => {},
): string {
  const inputs = Float32Array.from({ length: samples * 192 }, (_, i) => Math.cos(i * 0.37));
  const logits = new Float32Array(samples * 10);
  for (let n = 0; n < samples; n++) logits.set(tinyLogits(inputs.subarray(n * 192, (n + 1) * 192)), n * 10);
  const bin = Buffer.concat([Buffer.from(inputs.buffer), Buffer.from(logits.buffer)]);
  writeFileSync(path.join(dir, `${name}.parity.bin`), bin);
  const doc: Record<string, unknown> = {
    format: 'mtailor-parity',
    version: 1,
    binary: `${name}.parity.bin`,
    dtype: 'float32',
    byteOrder: 'little',
    samples,
    input: { offset: 0, byteLength: inputs.byteLength, shape: [samples, 3, 8, 8] },
    logits: { offset: inputs.byteLength, byteLength: logits.byteLength, shape: [samples, 10] },
    tolerance: 1e-4,
  };
  mutate(doc);
  const file = path.join(dir, `${name}.parity.json`);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

describe('checkParity mechanics on a real onnxruntime run', () => {
  it('matching logits → ok, per-sample top-1', async () => {
    const parity = await checkParity(modelPath, writeParity('good', 3));
    expect(parity).toMatchObject({ ok: true, samples: 3, top1Agreement: 1 });
    expect(parity.maxAbsDiff).toBeLessThan(1e-5);
    expect(parity.perSample).toHaveLength(3);
    const vectors = await readParityVectors(path.join(dir, 'good.parity.json'));
    expect(parity.referenceScale).toBe(Math.max(...Array.from(vectors.logits, Math.abs)));
  });

  it("PyTorch's float32-vs-float64 record is read per sample; a malformed one is ignored", async () => {
    const file = writeParity('f64', 2, (d) => {
      d.float64 = { maxAbsDiff: [1e-7, 2e-7], scale: [1, 1] };
    });
    expect((await readParityVectors(file)).torchFloat32Error).toEqual([1e-7, 2e-7]);
    const parity = await checkParity(modelPath, file);
    expect(parity.torchFloat32Error).toBe(2e-7);
    expect(parity.perSample.map((p) => p.torchFloat32Error)).toEqual([1e-7, 2e-7]);
    const malformed = writeParity('f64-bad', 2, (d) => {
      d.float64 = { maxAbsDiff: [1e-7] }; // one value for two samples
    });
    expect((await readParityVectors(malformed)).torchFloat32Error).toBeUndefined();
    expect((await checkParity(modelPath, malformed)).torchFloat32Error).toBeUndefined();
  });

  it('a wrong tolerance option → INVALID_OPTION', async () => {
    await expect(checkParity(modelPath, writeParity('tol', 1), { tolerance: -1 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
  });
});

describe('PARITY_FILE_INVALID', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['another format', { format: 'something-else' }],
    ['float16 data', { dtype: 'float16' }],
    ['a missing binary', { binary: 'nope.bin' }],
    ['shapes that disagree', { logits: { offset: 4608, byteLength: 80, shape: [2, 10] } }],
    [
      'a byteLength that does not fit the shape',
      { input: { offset: 0, byteLength: 12, shape: [3, 3, 8, 8] } },
    ],
    ['a binary shorter than the offsets', { logits: { offset: 99999, byteLength: 120, shape: [3, 10] } }],
  ];
  for (const [what, patch] of cases) {
    it(what, async () => {
      const file = writeParity(what.replaceAll(' ', '-'), 3, (doc) => Object.assign(doc, patch));
      await expect(readParityVectors(file)).rejects.toMatchObject({ code: 'PARITY_FILE_INVALID' });
    });
  }

  it('not JSON / no file', async () => {
    const bad = path.join(dir, 'bad.parity.json');
    writeFileSync(bad, '{ not json');
    await expect(checkParity(modelPath, bad)).rejects.toMatchObject({ code: 'PARITY_FILE_INVALID' });
    await expect(checkParity(modelPath, path.join(dir, 'none.json'))).rejects.toMatchObject({
      code: 'PARITY_FILE_INVALID',
    });
  });
});

describe('PARITY_RUN_FAILED', () => {
  it('inputs of another size than the model takes', async () => {
    const file = writeParity('wrong-size', 1, (d) => {
      d.input = { offset: 0, byteLength: 768, shape: [1, 3, 16, 4] }; // the model declares [batch, 3, 8, 8]
      d.logits = { offset: 768, byteLength: 40, shape: [1, 10] };
    });
    await expect(checkParity(modelPath, file)).rejects.toMatchObject({ code: 'PARITY_RUN_FAILED' });
  });

  it('a model onnxruntime cannot load', async () => {
    const broken = path.join(dir, 'broken.onnx');
    writeFileSync(broken, Buffer.from('not a model'));
    await expect(checkParity(broken, writeParity('for-broken', 1))).rejects.toMatchObject({
      code: 'PARITY_RUN_FAILED',
    });
  });
});
