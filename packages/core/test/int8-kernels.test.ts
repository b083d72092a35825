import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImagePreprocessor, InvalidOptionError, ONNXModel } from '@mtailor/core';
import { analyzeInt8Weights, readOnnxGraph, rewriteInt8AsUint8, softmax } from '@mtailor/core/internal';
import { describe, expect, it } from 'vitest';
import { shared, sharedImages } from '../../../test/support/shared-data.js';
import {
  buildInt8Layer,
  CLASSES,
  int8LayerReference,
  saturatingWeights,
  testInputs,
} from './support/int8-layer.js';
import { hasQemu, hasRunOnCpu, nodeOnAvx2Cpu, nodeUnderQemu, RUN_INT8_MODEL } from './support/qemu.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mtailor-int8-'));
const layer = buildInt8Layer(saturatingWeights());
const inputs = testInputs(); // [2, 48] = [2, 3, 4, 4]
const reference = int8LayerReference(layer.weights, inputs);
const layerPath = path.join(tmp, 'layer.onnx');
writeFileSync(layerPath, layer.model);

describe('the exact integer reference of one quantized layer (TypeScript)', () => {
  it('is what the saturating case must give: products far outside int16 pair sums', () => {
    // 255 · (−128 − 5) summed over 48 features, times 2^−13: the first class of the bright image.
    expect(reference[0]).toBe((48 * 255 * (-128 - 5)) / 2 ** 13);
    expect(reference[1]).toBe((48 * 255 * (127 - 5)) / 2 ** 13);
    // One pair of products there is 2 · 255 · 128 = 65280, twice what int16 holds.
    expect(2 * 255 * 128).toBeGreaterThan(32767);
  });

  it("equals onnxruntime's answer with int8Kernels 'exact' on this CPU, whatever it is", async () => {
    const model = await ONNXModel.load(layerPath, { intraOpThreads: 1 });
    try {
      expect(model.numClasses).toBe(CLASSES);
      expect(Array.from(await model.run(inputs, 2))).toEqual(Array.from(reference));
      expect(model.int8Kernels.exact).toBe(true);
      expect(model.int8Kernels.requested).toBe('exact');
    } finally {
      model.dispose();
    }
  });

  it('stores the weights as uint8 (+128, zero point +128) without changing what they dequantize to', async () => {
    const graph = readOnnxGraph(layer.model);
    const analysis = analyzeInt8Weights(layer.model, graph);
    expect(analysis).toMatchObject({ weights: 1, maxAbs: 128, rewritableWeights: 1, skipped: [] });
    expect([...analysis.rewritable].sort()).toEqual(['w_q', 'w_zero']);
    const rewritten = rewriteInt8AsUint8(layer.model, graph, analysis.rewritable);
    const after = readOnnxGraph(rewritten).initializers;
    expect(after.get('w_q')?.dataType).toBe(2);
    expect(after.get('w_zero')?.dataType).toBe(2);
    const raw = after.get('w_q')!.raw!;
    const stored = rewritten.subarray(raw.start, raw.end);
    for (let i = 0; i < layer.weights.length; i++) expect(stored[i]).toBe(layer.weights[i]! + 128);
    expect(rewritten[after.get('w_zero')!.raw!.start]).toBe(5 + 128);
    expect(layer.model[raw.start]).toBe(layer.weights[0]! & 0xff); // the original bytes are untouched
    // Run as given (native kernels): U8U8 kernels are exact on every CPU.
    const model = await ONNXModel.load(rewritten, { int8Kernels: 'native', intraOpThreads: 1 });
    try {
      expect(model.int8Kernels.int8Weights).toBe(0);
      expect(Array.from(await model.run(inputs, 2))).toEqual(Array.from(reference));
    } finally {
      model.dispose();
    }
  });
});

describe('int8Kernels: which path runs and why', () => {
  it('keeps native kernels for weights within ±64, which cannot saturate int16 pair sums', async () => {
    const small = buildInt8Layer(saturatingWeights().map((w) => Math.max(-64, Math.min(64, w))));
    const model = await ONNXModel.load(small.model, { intraOpThreads: 1 });
    try {
      expect(model.int8Kernels).toMatchObject({
        kernels: 'native',
        exact: true,
        int8Weights: 1,
        maxAbsWeight: 64,
      });
      expect(model.int8Kernels.reason).toMatch(/within ±64/);
      expect(model.int8Kernels.cpu.u8s8Exact).toBeUndefined(); // no probe needed
      const x = testInputs();
      expect(Array.from(await model.run(x, 2))).toEqual(Array.from(int8LayerReference(small.weights, x)));
    } finally {
      model.dispose();
    }
  });

  it('reports a float model as having no int8 weights, and the shared int8 model with its 53', async () => {
    const float = await ONNXModel.load(shared.floatModel, { intraOpThreads: 1 });
    const int8 = await ONNXModel.load(shared.int8Model, { intraOpThreads: 1 });
    try {
      expect(float.int8Kernels).toMatchObject({
        kernels: 'native',
        exact: true,
        int8Weights: 0,
        reason: 'no int8 weights',
      });
      expect(int8.int8Kernels).toMatchObject({
        requested: 'exact',
        exact: true,
        int8Weights: 53,
        maxAbsWeight: 128,
      });
      expect(typeof int8.int8Kernels.cpu.u8s8Exact).toBe('boolean');
      expect(int8.int8Kernels.kernels).toBe(int8.int8Kernels.cpu.u8s8Exact ? 'native' : 'uint8-weights');
      expect(Array.isArray(int8.int8Kernels.cpu.flags)).toBe(true);
    } finally {
      float.dispose();
      int8.dispose();
    }
  });

  it('refuses an unknown value with INVALID_OPTION', async () => {
    const err = await ONNXModel.load(layerPath, { int8Kernels: 'fast' as never }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).code).toBe('INVALID_OPTION');
    expect((err as Error).message).toBe(
      'Expected one of exact, native for int8Kernels but received "fast" of type string',
    );
  });
});

interface QemuRun {
  [mode: string]: { report: ONNXModel['int8Kernels']; logits: number[] };
}

describe.runIf(hasQemu())('on an AVX2 CPU without VNNI (qemu-x86_64 -cpu Haswell)', () => {
  it("'native' reproduces the saturation; 'exact' gives the integer answer", () => {
    const tensors = path.join(tmp, 'layer-inputs.f32');
    writeFileSync(tensors, inputs);
    const run = JSON.parse(
      nodeUnderQemu([RUN_INT8_MODEL, layerPath, tensors, '2', 'native,exact']),
    ) as QemuRun;
    const native = run.native!;
    const exact = run.exact!;
    // The probe sees the saturating kernels, whatever /proc/cpuinfo (the host's, under qemu-user) says.
    expect(native.report).toMatchObject({ kernels: 'native', exact: false, cpu: { u8s8Exact: false } });
    expect(native.logits[0]).not.toBe(reference[0]);
    // Each saturated pair keeps −32768 of −65280: about half of the bright image's first logit is lost.
    expect(Math.abs(native.logits[0]! - reference[0]!)).toBeGreaterThan(50);
    expect(exact.report).toMatchObject({ kernels: 'uint8-weights', exact: true, rewritten: 1 });
    expect(exact.logits).toEqual(Array.from(reference));
  });

  it('runs the shared int8 model exactly: top-5 logits of onnxruntime on torchvision tensors, the tench 0.9924', async () => {
    const ref = JSON.parse(
      readFileSync(shared.reference('ort_mobilenet_v2_int8_on_torchvision_tensors.json'), 'utf8'),
    ).images as Record<string, { top5: number[]; logits: number[]; probs: number[] }>;
    // Images whose native answer on this CPU kind is off (the measurement) and the README's two.
    const names = [
      'n01440764_tench.JPEG',
      'n01667114_mud_turtle.JPEG',
      'n02077923_sea_lion.JPEG',
      'n03095699_container_ship.JPEG',
    ];
    const preprocessor = new ImagePreprocessor({ recipe: 'resize-224', autoOrient: false });
    const per = 3 * 224 * 224;
    const batch = new Float32Array(names.length * per);
    for (const [i, name] of names.entries())
      await preprocessor.process(shared.image(name), { out: batch, offset: i * per });
    const tensors = path.join(tmp, 'shared-inputs.f32');
    writeFileSync(tensors, batch);
    const run = JSON.parse(
      nodeUnderQemu([RUN_INT8_MODEL, shared.int8Model, tensors, String(names.length), 'exact']),
    ) as QemuRun;
    const exact = run.exact!;
    // The GEMM kernels saturate there; the depthwise ones widen before adding (their probe passes), so only the
    // 36 weights of the other convolutions and the Gemm are stored as uint8.
    expect(exact.report).toMatchObject({
      kernels: 'uint8-weights',
      exact: true,
      rewritten: 36,
      maxAbsWeight: 128,
      maxAbsDepthwiseWeight: 128,
      cpu: { u8s8Exact: false, u8s8DepthwiseExact: true },
    });
    for (const [i, name] of names.entries()) {
      const row = exact.logits.slice(i * 1000, (i + 1) * 1000);
      const r = ref[name]!;
      r.top5.forEach((c, k) => {
        expect(row[c], `${name} class ${c}`).toBeCloseTo(r.logits[k]!, 4);
      });
    }
    const tench = softmax(Float32Array.from(exact.logits.slice(0, 1000)));
    expect(tench[0]!.toFixed(4)).toBe('0.9924');
  });
});

describe.runIf(hasRunOnCpu())('on an AVX2 CPU without VNNI at native speed (scripts/run-on-cpu.sh)', () => {
  it("the shared int8 model on all 104 images: 'exact' gives onnxruntime-on-torchvision-tensors' top-5 logits, 'native' does not", async () => {
    const ref = JSON.parse(
      readFileSync(shared.reference('ort_mobilenet_v2_int8_on_torchvision_tensors.json'), 'utf8'),
    ).images as Record<string, { top5: number[]; logits: number[] }>;
    const images = sharedImages();
    const preprocessor = new ImagePreprocessor({ recipe: 'resize-224', autoOrient: false });
    const per = 3 * 224 * 224;
    const batch = new Float32Array(images.length * per);
    for (const [i, file] of images.entries())
      await preprocessor.process(file, { out: batch, offset: i * per });
    const tensors = path.join(tmp, 'all-shared-inputs.f32');
    writeFileSync(tensors, batch);
    const run = JSON.parse(
      nodeOnAvx2Cpu([RUN_INT8_MODEL, shared.int8Model, tensors, String(images.length), 'native,exact']),
    ) as QemuRun;
    // What the masked CPU shows: AVX2 without AVX-512 or VNNI in /proc/cpuinfo, and saturating U8S8 GEMM kernels.
    expect(run.exact!.report).toMatchObject({
      kernels: 'uint8-weights',
      exact: true,
      rewritten: 36,
      cpu: { flags: ['avx2'], u8s8Exact: false, u8s8DepthwiseExact: true },
    });
    expect(run.native!.report).toMatchObject({ kernels: 'native', exact: false });
    const off = (mode: string): string[] =>
      images
        .map((file, i) => {
          const name = path.basename(file);
          const row = run[mode]!.logits.slice(i * 1000, (i + 1) * 1000);
          const r = ref[name]!;
          const worst = Math.max(...r.top5.map((c, k) => Math.abs(row[c]! - r.logits[k]!)));
          return worst > 1e-4 ? `${name} (top-5 logit off by ${worst.toFixed(3)})` : '';
        })
        .filter(Boolean);
    expect(off('exact')).toEqual([]);
    // The saturation is real on this CPU: onnxruntime's own kernels move logits of many images.
    expect(off('native').length).toBeGreaterThan(10);
  }, 180_000);
});
