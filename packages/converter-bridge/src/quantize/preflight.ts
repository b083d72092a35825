/**
 * Preflight: refuse, with a typed error, a model the quantizer cannot or should not quantize — before any image is
 * read. Already quantized, not a valid image classifier, an input calibration images cannot feed, no float weights,
 * an opset without per-channel QuantizeLinear/DequantizeLinear.
 * @module
 */
import { ConverterError } from '../errors.js';
import { describeValue, elementTypeName, int64 } from '../validate/onnx-proto.js';
import { validateModelBytes } from '../validate/validate-model.js';
import { GraphIndex, type LoadedModel } from './graph.js';

/** What the quantizer needs to know about the model it was given. */
export interface ModelFacts {
  /** Name of the image input. */
  inputName: string;
  /** Name of the logits output. */
  outputName: string;
  /** Fixed batch size, or `'dynamic'`. */
  batch: number | 'dynamic';
  /** Input height. */
  height: number;
  /** Input width. */
  width: number;
  /** The ai.onnx opset the model imports. */
  opset: number;
}

/** Operators that only occur in models that are already quantized (ai.onnx and com.microsoft). */
const QUANTIZED_OPS = new Set([
  'QuantizeLinear',
  'DequantizeLinear',
  'DynamicQuantizeLinear',
  'ConvInteger',
  'MatMulInteger',
  'QGemm',
  'QAttention',
  'DynamicQuantizeMatMul',
  'DynamicQuantizeLSTM',
  'MatMulIntegerToFloat',
  'MatMulNBits',
  'QuantizeWithOrder',
  'DequantizeWithOrder',
]);

function isQuantizedOp(opType: string): boolean {
  return QUANTIZED_OPS.has(opType) || opType.startsWith('QLinear') || opType.startsWith('QOrdered');
}

/** Ops whose weights the quantizer turns into int8. */
const WEIGHT_OPS = new Set(['Conv', 'Gemm', 'MatMul']);

/**
 * Checks that `model` (decoded from `bytes`) is a float image classifier the quantizer can calibrate with images of
 * `imageSize`, and returns its interface.
 *
 * @param imageSize - The recipe's output size, or undefined when the recipe does not end in a fixed size.
 * @param recipeName - How to name the recipe in messages.
 * @throws {ConverterError} ALREADY_QUANTIZED | MODEL_INVALID | SHAPE_UNSUPPORTED | NO_FLOAT_WEIGHTS |
 *   OPSET_UNSUPPORTED.
 */
export function preflight(
  model: LoadedModel,
  bytes: Uint8Array,
  options: {
    imageSize: { width: number; height: number } | undefined;
    recipeName: string;
    perChannel: boolean;
    baseDir?: string;
  },
): ModelFacts {
  const quantized: Record<string, number> = {};
  for (const node of model.graph?.node ?? []) {
    const op = node.opType ?? '';
    if (isQuantizedOp(op)) quantized[op] = (quantized[op] ?? 0) + 1;
  }
  if (Object.keys(quantized).length > 0) {
    const list = Object.entries(quantized)
      .map(([op, n]) => `${n} ${op}`)
      .join(', ');
    throw new ConverterError(
      'ALREADY_QUANTIZED',
      `The model is already quantized (${list}); quantize its float original instead`,
      { details: { operators: quantized } },
    );
  }

  const report = validateModelBytes(bytes, options.baseDir ? { baseDir: options.baseDir } : {});
  if (!report.ok) {
    throw new ConverterError(
      'MODEL_INVALID',
      `The model is not a valid image classifier: ${report.errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`,
      { details: { errors: report.errors } },
    );
  }
  const graph = model.graph;
  const index = new GraphIndex(graph);
  const input = (graph.input ?? []).find((i) => index.inputs.has(i.name ?? ''))!;
  const summary = describeValue(input);
  const [batch, channels, height, width] = summary.shape!;
  const shown = `[${summary.shape!.map((d) => d ?? '?').join(', ')}]`;
  if (typeof channels !== 'number')
    throw new ConverterError(
      'SHAPE_UNSUPPORTED',
      `Input '${summary.name}' ${shown} has a symbolic channel dimension; calibration feeds RGB images (3 channels): export the model with a fixed input shape`,
      { details: { input: summary } },
    );
  if (typeof height !== 'number' || typeof width !== 'number')
    throw new ConverterError(
      'SHAPE_UNSUPPORTED',
      `Input '${summary.name}' ${shown} has a symbolic height or width; calibration must run the model at the size it is served at, and the classifier serves fixed sizes only: export the model with a fixed image size`,
      { details: { input: summary } },
    );
  if (!options.imageSize)
    throw new ConverterError(
      'SHAPE_UNSUPPORTED',
      `Recipe ${options.recipeName} does not end with a fixed size (resize or centerCrop), so it cannot feed input '${summary.name}' ${shown}`,
      { details: { input: summary } },
    );
  if (options.imageSize.width !== width || options.imageSize.height !== height)
    throw new ConverterError(
      'SHAPE_UNSUPPORTED',
      `Recipe ${options.recipeName} makes ${options.imageSize.width}x${options.imageSize.height} images but input '${summary.name}' ${shown} takes ${width}x${height}: give the recipe the model is served with (--recipe or --manifest)`,
      { details: { input: summary, imageSize: options.imageSize } },
    );

  const weightOps = (graph.node ?? []).filter((n) => WEIGHT_OPS.has(n.opType ?? '') && !n.domain);
  const floatWeights = weightOps.filter((n) =>
    (n.input ?? []).slice(0, 2).some((name, i) => {
      if (n.opType !== 'MatMul' && i !== 1) return false;
      return index.floatConstant(name) !== undefined;
    }),
  );
  if (floatWeights.length === 0) {
    const kinds = weightOps.map((n) => {
      const w = index.constants.get(n.input?.[1] ?? '');
      const from = w
        ? `${elementTypeName(w.dataType)} constant`
        : `computed by ${index.producer.get(n.input?.[1] ?? '')?.opType ?? 'a graph input'}`;
      return `${n.opType} '${n.name}': weight ${from}`;
    });
    throw new ConverterError(
      'NO_FLOAT_WEIGHTS',
      weightOps.length === 0
        ? 'The model has no Conv, Gemm or MatMul: nothing to quantize'
        : `No Conv, Gemm or MatMul of the model has float32 constant weights (${kinds.slice(0, 3).join('; ')}${kinds.length > 3 ? `; … ${kinds.length - 3} more` : ''}); quantize a float32 export`,
      { details: { weights: kinds } },
    );
  }

  const opset = int64(
    (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0,
  );
  if (opset < 10 || (options.perChannel && opset < 13))
    throw new ConverterError(
      'OPSET_UNSUPPORTED',
      opset < 10
        ? `The model imports ai.onnx opset ${opset}; QuantizeLinear/DequantizeLinear need opset 10 or later: re-export with opset 13+`
        : `The model imports ai.onnx opset ${opset}; per-channel weights need DequantizeLinear's axis (opset 13+): re-export with opset 13+ or quantize per tensor`,
      { details: { opset } },
    );

  const output = graph.output?.[0]?.name ?? '';
  return {
    inputName: summary.name,
    outputName: output,
    batch: typeof batch === 'number' ? batch : 'dynamic',
    height,
    width,
    opset,
  };
}
