/**
 * The quantizer on small synthetic models built with onnx-proto, calibrated with real (solid-colour PNG) images:
 * an int8 result worked out by hand, BatchNorm folding, exclusion, per-tensor weights, and every refusal with its
 * typed error. Runs the real onnxruntime-node on every model it writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ConverterError,
  formatQuantizationReport,
  type QuantizeOptions,
  quantizeModel,
} from '@mtailor/converter-bridge';
import { ONNXModel } from '@mtailor/core';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { shared } from '../../../test/support/shared-data.js';
import { valueInfo, variant } from './support/onnx-builder.js';
import {
  batchNormModel,
  float16WeightsModel,
  handModel,
  matMulModel,
  plainRecipe,
  solidImages,
} from './support/quantize-models.js';
import { tempDir } from './support/torch-suite.js';

const dir = tempDir('mtailor-quantize-synthetic-');
let images: string[];
const file = (name: string, bytes: Uint8Array): string => {
  const p = path.join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

beforeAll(async () => {
  // Pixel / 255 with no normalisation: red → [1, 0, 0], green → [0, 1, 0], white → [1, 1, 1].
  images = await solidImages(path.join(dir, 'images'), {
    red: [255, 0, 0],
    green: [0, 255, 0],
    white: [255, 255, 255],
  });
});

/**
 * Run a model on the three images' tensors (the same values the preprocessing makes: see above), as `@mtailor/core`
 * serves it: its exact int8 path (onnxruntime's own U8S8 kernels saturate on x86 CPUs without VNNI).
 */
async function logits(modelPath: string, size = 1): Promise<number[][]> {
  const model = await ONNXModel.load(modelPath);
  const colours = [
    [1, 0, 0],
    [0, 1, 0],
    [1, 1, 1],
  ];
  const data = new Float32Array(3 * 3 * size * size);
  colours.forEach((c, n) => {
    for (let ch = 0; ch < 3; ch++)
      data.fill(c[ch]!, (n * 3 + ch) * size * size, (n * 3 + ch + 1) * size * size);
  });
  try {
    const out = await model.run(data, 3);
    const k = model.numClasses;
    return [0, 1, 2].map((n) => [...out.slice(n * k, (n + 1) * k)]);
  } finally {
    model.dispose();
  }
}

function decoded(modelPath: string) {
  return onnxProto.onnx.ModelProto.decode(readFileSync(modelPath));
}

async function refusal(options: Partial<QuantizeOptions>): Promise<ConverterError> {
  try {
    await quantizeModel({
      calibration: images,
      out: path.join(dir, 'refused.onnx'),
      speed: false,
      ...options,
    });
  } catch (err) {
    expect(err).toBeInstanceOf(ConverterError);
    return err as ConverterError;
  }
  throw new Error('quantizeModel did not refuse');
}

/** The hand-computed model (or `options.model`) quantized with min/max ranges on the three images, measured on them too. */
function quantizeHand(out: string, options: Partial<QuantizeOptions> = {}) {
  return quantizeModel({
    model: file('hand.onnx', handModel()),
    calibration: images,
    eval: images,
    recipe: plainRecipe(1),
    method: 'minmax',
    out,
    speed: false,
    minAgreement: 0,
    ...options,
  });
}

describe('quantizeModel on a model computed by hand', () => {
  it('gives the int8 logits worked out on paper, with int8 kernels (8-bit weights)', async () => {
    const out = path.join(dir, 'hand-int8.onnx');
    const report = await quantizeHand(out, { reduceRange: false });
    expect(report.validation.ok).toBe(true);
    expect(report.graph).toMatchObject({
      quantized: { Conv: 1, Flatten: 1, Gemm: 1 },
      activationsFolded: 1,
      int8Weights: 2,
      int32Biases: 2,
    });
    expect(report.kernels.int8).toEqual({ QLinearConv: 1, QGemm: 1 });
    expect(report.kernels.floatCompute).toEqual({});

    // Input range [0, 1] → uint8 scale 1/255, zero point 0. Conv (float), pre-Relu:
    //   red   [1.27 + 1.28, 0.508 + 0.3]                 = [2.55, 0.808]
    //   green [−0.5 + 1.28, 0.2 + 0.3]                   = [0.78, 0.5]
    //   white [1.27 − 0.5 + 0.2 + 1.28, 0.508 + 0.2 − 0.4 + 0.3] = [2.25, 0.608]
    // Relu range (min/max) [0, 2.55] → scale 0.01: 0.808 → 0.81, 0.608 → 0.61; the rest are exact.
    // Gemm rows [1, −1] and [−0.25, 1.27], bias [0, 0.5] (int32 5000 at scale 0.01 × 0.01):
    //   red   [2.55 − 0.81, −0.25·2.55 + 1.27·0.81 + 0.5] = [1.74, 0.8912]
    //   green [0.78 − 0.5,  −0.25·0.78 + 1.27·0.5 + 0.5]  = [0.28, 0.94]
    //   white [2.25 − 0.61, −0.25·2.25 + 1.27·0.61 + 0.5] = [1.64, 0.7122]
    const int8 = await logits(out);
    const expected = [
      [1.74, 0.8912],
      [0.28, 0.94],
      [1.64, 0.7122],
    ];
    for (const [n, row] of int8.entries())
      for (const [k, v] of row.entries()) expect(v).toBeCloseTo(expected[n]![k]!, 5);
    // The float model differs exactly where the quantization rounded: 0.808 and 0.608.
    const float = await logits(path.join(dir, 'hand.onnx'));
    expect(float[0]![0]).toBeCloseTo(1.742, 5);
    expect(float[2]![1]).toBeCloseTo(0.70966, 5);

    // The weights are stored as the int8 values and int32 biases above.
    const m = decoded(out);
    const init = new Map((m.graph?.initializer ?? []).map((t) => [t.name, t]));
    const int8Of = (name: string) => [...new Int8Array(Uint8Array.from(init.get(name)!.rawData!).buffer)];
    const int32Of = (name: string) => [...new Int32Array(Uint8Array.from(init.get(name)!.rawData!).buffer)];
    expect(int8Of('conv.weight_quantized')).toEqual([127, -50, 20, 127, 50, -100]);
    expect(int32Of('conv.bias_quantized')).toEqual([32640, 19125]); // 1.28 / (0.01/255), 0.3 / (0.004/255)
    expect(int8Of('fc.weight_quantized')).toEqual([127, -127, -25, 127]);
    expect(int32Of('fc.bias_quantized')).toEqual([0, 5000]);
    expect(m.graph?.node?.some((n) => n.opType === 'Relu')).toBe(false);

    // Top-1 on the three images: the two models agree (margins are far above the rounding).
    expect(report.accuracy.eval).toMatchObject({ images: 3, top1Agree: 3, top1Agreement: 1 });
    // The largest difference: 0.8912 vs 0.88866 (red) and 0.7122 vs 0.70966 (white), 1.27 × 0.002.
    expect(report.accuracy.eval!.logitError.maxAbs).toBeCloseTo(0.00254, 4);
  });

  it('keeps 8-bit weights in the first and last layer by default, and says how the report was computed', async () => {
    const out = path.join(dir, 'hand-int8-default.onnx');
    const report = await quantizeHand(out);
    expect(report.settings.reduceRange).toBe(true);
    const m = decoded(out);
    const init = new Map((m.graph?.initializer ?? []).map((t) => [t.name, t]));
    const int8Of = (name: string) => [...new Int8Array(Uint8Array.from(init.get(name)!.rawData!).buffer)];
    // Both layers are edge layers (one reads the image, one writes the logits): the same weights as with 8 bits.
    expect(int8Of('conv.weight_quantized')).toEqual([127, -50, 20, 127, 50, -100]);
    expect(int8Of('fc.weight_quantized')).toEqual([127, -127, -25, 127]);
    // The report's accuracy ran on @mtailor/core's exact path; it says which kernels and on what CPU.
    const k = report.int8Kernels;
    expect(k).toMatchObject({ requested: 'exact', exact: true, int8Weights: 2, maxAbsWeight: 127 });
    expect(typeof k.cpu.u8s8Exact).toBe('boolean');
    expect(k.kernels).toBe(k.cpu.u8s8Exact ? 'native' : 'uint8-weights');
    const text = formatQuantizationReport(report);
    expect(text).toMatch(
      /weights int8 per channel in \[−64, 64\] \(7-bit; depthwise, first and last layer \[−127, 127\]\)/,
    );
    expect(text).toMatch(
      /int8 kernels here: (native|uint8-weights) \(.*\); CPU \w+ \[.*\], saturation probe: U8S8 (exact|saturates)/,
    );
    expect(text).toContain('agreement with the float model (the exact integer arithmetic');
  });

  it('reads weights stored as external data; the int8 model is one file with the same answers', async () => {
    const m = onnxProto.onnx.ModelProto.decode(handModel());
    const w = m.graph!.initializer!.find((t) => t.name === 'conv.weight')!;
    writeFileSync(path.join(dir, 'hand-ext.weights'), w.rawData!);
    w.externalData = [
      { key: 'location', value: 'hand-ext.weights' },
      { key: 'offset', value: '0' },
      { key: 'length', value: String(w.rawData!.length) },
    ];
    w.dataLocation = 1;
    w.rawData = new Uint8Array(0);
    const out = path.join(dir, 'hand-ext-int8.onnx');
    const report = await quantizeHand(out, {
      model: file('hand-ext.onnx', onnxProto.onnx.ModelProto.encode(m).finish()),
    });
    expect(report.validation.ok).toBe(true);
    expect(decoded(out).graph!.initializer!.every((t) => t.dataLocation !== 1)).toBe(true);
    expect((await logits(out))[0]![1]).toBeCloseTo(0.8912, 5);
    expect(report.accuracy.eval!.logitError.maxAbs).toBeCloseTo(0.00254, 4);
  });

  it('per-tensor weights on an opset-11 model; per-channel there is refused (no DequantizeLinear axis)', async () => {
    const model = file('hand-11.onnx', handModel(11));
    const err = await refusal({ model, recipe: plainRecipe(1) });
    expect(err.code).toBe('OPSET_UNSUPPORTED');
    expect(err.message).toMatch(/opset 11.*per-channel.*opset 13/);
    const report = await quantizeModel({
      model,
      calibration: images,
      recipe: plainRecipe(1),
      perChannel: false,
      out: path.join(dir, 'hand-11-int8.onnx'),
      speed: false,
      minAgreement: 0,
    });
    expect(report.validation.ok).toBe(true);
    expect(report.kernels.int8).toMatchObject({ QLinearConv: 1 });
    const m = decoded(path.join(dir, 'hand-11-int8.onnx'));
    const scale = m.graph!.initializer!.find((t) => t.name === 'conv.weight_scale')!;
    expect(scale.dims).toEqual([]); // one scale for the whole weight
  });
});

describe('quantizeModel graph handling', () => {
  it('folds BatchNormalization into the Conv first; the int8 model tracks the float one', async () => {
    const modelPath = file('bn.onnx', batchNormModel());
    const out = path.join(dir, 'bn-int8.onnx');
    const report = await quantizeModel({
      model: modelPath,
      calibration: images,
      eval: images,
      recipe: plainRecipe(4),
      out,
      speed: false,
      minAgreement: 0,
    });
    expect(report.graph.batchNormsFolded).toBe(1);
    expect(report.validation.ok).toBe(true);
    expect(decoded(out).graph!.node!.map((n) => n.opType)).not.toContain('BatchNormalization');
    expect(report.kernels.int8).toMatchObject({ QLinearConv: 1, QLinearGlobalAveragePool: 1, QGemm: 1 });
    const [f, q] = [await logits(modelPath, 4), await logits(out, 4)];
    const scale = Math.max(...f.flat().map(Math.abs));
    for (const [i, v] of q.flat().entries()) expect(Math.abs(v - f.flat()[i]!)).toBeLessThan(0.02 * scale);
  });

  it('a MatMul with a constant weight becomes QLinearMatMul (its output quantized, so no float Gemm fusion)', async () => {
    const modelPath = file('matmul.onnx', matMulModel());
    const out = path.join(dir, 'matmul-int8.onnx');
    const report = await quantizeModel({
      model: modelPath,
      calibration: images,
      recipe: plainRecipe(1),
      out,
      speed: false,
      minAgreement: 0,
    });
    expect(report.validation.ok).toBe(true);
    expect(report.graph.quantized).toEqual({ MatMul: 1 });
    expect(report.graph.skipped).toEqual([{ node: 'bias', opType: 'Add', reason: 'an input is a constant' }]);
    expect(report.kernels).toMatchObject({ int8: { QLinearMatMul: 1 }, floatCompute: {} });
    const [f, q] = [await logits(modelPath), await logits(out)];
    for (const [i, v] of q.flat().entries()) expect(Math.abs(v - f.flat()[i]!)).toBeLessThan(0.02);
  });

  it('--exclude keeps the named node float', async () => {
    const out = path.join(dir, 'bn-excluded.onnx');
    const report = await quantizeModel({
      model: file('bn2.onnx', batchNormModel()),
      calibration: images,
      recipe: plainRecipe(4),
      exclude: ['fc'],
      out,
      speed: false,
      minAgreement: 0,
    });
    expect(report.settings.exclude).toEqual(['fc']);
    expect(report.graph.quantized).not.toHaveProperty('Gemm');
    expect(report.kernels.int8).not.toHaveProperty('QGemm');
    const m = decoded(out);
    const gemm = m.graph!.node!.find((n) => n.opType === 'Gemm')!;
    expect(gemm.input![1]).toBe('fc.weight'); // the float initializer, no DequantizeLinear
    expect(report.validation.ok).toBe(true);
  });

  it('an excluded name that matches no node is an INVALID_OPTION naming real nodes', async () => {
    const err = await refusal({
      model: file('bn3.onnx', batchNormModel()),
      recipe: plainRecipe(4),
      exclude: ['fc', 'nope'],
    });
    expect(err.code).toBe('INVALID_OPTION');
    expect(err.message).toContain('"nope"');
    expect(err.message).toMatch(/node names look like conv/);
  });
});

describe('quantizeModel refusals', () => {
  it('an already quantized model (the shared int8 MobileNetV2) → ALREADY_QUANTIZED', async () => {
    const err = await refusal({ model: shared.int8Model });
    expect(err.code).toBe('ALREADY_QUANTIZED');
    expect(err.details).toMatchObject({ operators: { QuantizeLinear: 66, DequantizeLinear: 172 } });
  });

  it('float16 weights only → NO_FLOAT_WEIGHTS', async () => {
    const err = await refusal({ model: file('fp16.onnx', float16WeightsModel()), recipe: plainRecipe(1) });
    expect(err.code).toBe('NO_FLOAT_WEIGHTS');
    expect(err.message).toContain("Gemm 'fc': weight computed by Cast");
  });

  it('symbolic height/width, or a recipe of another size → SHAPE_UNSUPPORTED', async () => {
    const dynamic = await refusal({
      model: file('dynamic.onnx', batchNormModel(['batch', 3, 'height', 'width'])),
      recipe: plainRecipe(4),
    });
    expect(dynamic.code).toBe('SHAPE_UNSUPPORTED');
    expect(dynamic.message).toMatch(/symbolic height or width/);
    const channels = await refusal({
      model: file('channels.onnx', batchNormModel(['batch', 'c', 4, 4])),
      recipe: plainRecipe(4),
    });
    expect(channels.code).toBe('SHAPE_UNSUPPORTED');
    // The default recipe resize-224 cannot feed a 4×4 input.
    const size = await refusal({ model: file('bn4.onnx', batchNormModel()) });
    expect(size.code).toBe('SHAPE_UNSUPPORTED');
    expect(size.message).toContain('resize-224 makes 224x224 images');
  });

  it('bad options, unreadable inputs and calibration folders without images', async () => {
    const model = file('bn5.onnx', batchNormModel());
    expect((await refusal({ model, method: 'kl' as never })).message).toBe(
      'Expected one of minmax, percentile, entropy, mse for method but received "kl" of type string',
    );
    expect((await refusal({ model, speed: { runs: 0 } })).message).toBe(
      'Expected positive integer for speed.runs but received 0 of type number',
    );
    expect((await refusal({ model, out: model })).code).toBe('INVALID_OPTION');
    expect((await refusal({ model, folds: 1 })).message).toBe(
      'Expected integer ≥ 2, or false for folds but received 1 of type number',
    );
    expect((await refusal({ model, folds: 2, eval: images })).message).toContain('not both');
    // Three images cannot fill four folds: each needs an image to hold out and one to calibrate on.
    const tooFew = await refusal({ model, recipe: plainRecipe(4), folds: 4 });
    expect(tooFew.code).toBe('TOO_FEW_IMAGES');
    expect(tooFew.details).toEqual({ images: 3, folds: 4 });
    expect(tooFew.message).toContain('--no-folds');
    expect((await refusal({ model: path.join(dir, 'missing.onnx') })).code).toBe('MODEL_UNREADABLE');
    const notOnnx = file('not-onnx.onnx', new TextEncoder().encode('not an onnx model at all'));
    expect((await refusal({ model: notOnnx })).code).toBe('MODEL_UNREADABLE');
    const twoOutputs = file(
      'two-outputs.onnx',
      variant((m) => {
        m.graph.output!.push(valueInfo('pooled', ['batch', 3, 1, 1]));
      }),
    );
    const invalid = await refusal({ model: twoOutputs, recipe: plainRecipe(8) });
    expect(invalid.code).toBe('MODEL_INVALID');
    expect(invalid.details).toMatchObject({ errors: [{ code: 'OUTPUT_COUNT' }] });
    const empty = path.join(dir, 'empty-folder');
    await solidImages(empty, {});
    const noImages = await refusal({ model, recipe: plainRecipe(4), calibration: empty });
    expect(noImages.code).toBe('CALIBRATION_FAILED');
    const broken = file('broken.png', new TextEncoder().encode('not a png'));
    const unreadable = await refusal({
      model,
      recipe: plainRecipe(4),
      calibration: [broken],
      folds: false, // one image: no folds to cross-validate
    });
    expect(unreadable.code).toBe('CALIBRATION_FAILED');
    expect(unreadable.message).toContain('broken.png');
  });
});
