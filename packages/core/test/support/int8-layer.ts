/**
 * One quantized layer as a tiny ONNX classifier (QDQ: input → Flatten → Quantize/Dequantize uint8 → MatMul with
 * int8 weights → logits), written byte by byte with core's protobuf writer, and its exact integer answer computed
 * here in TypeScript. Its weights and inputs can be chosen so that two products of uint8 × int8 leave int16: the
 * case x86 CPUs without VNNI get wrong in onnxruntime's U8S8 kernels.
 */
import { pbInitializer, pbModel, pbNode, pbValueInfo, TensorType } from '@mtailor/core/internal';

/** Input [N, 3, 4, 4] → 48 features. */
export const FEATURES = 48;
export const CLASSES = 8;
/** Powers of two, so that acc · sx · sw is exact in float32 and the reference has no float rounding to argue about. */
export const INPUT_SCALE = 2 ** -6;
export const WEIGHT_SCALE = 2 ** -7;
export const WEIGHT_ZERO_POINT = 5;

export interface Int8Layer {
  /** Stored int8 weights, [FEATURES, CLASSES] row-major. */
  weights: Int8Array;
  /** The model's bytes. */
  model: Uint8Array;
}

function float32(value: number): Uint8Array {
  return new Uint8Array(new Float32Array([value]).buffer);
}

/** The tiny classifier around `weights` ([48, 8] int8, zero point {@link WEIGHT_ZERO_POINT}). */
export function buildInt8Layer(weights: Int8Array): Int8Layer {
  const model = pbModel([
    pbNode('Flatten', ['input'], ['flat']),
    pbNode('QuantizeLinear', ['flat', 'x_scale', 'x_zero'], ['x_q']),
    pbNode('DequantizeLinear', ['x_q', 'x_scale', 'x_zero'], ['x_dq']),
    pbNode('DequantizeLinear', ['w_q', 'w_scale', 'w_zero'], ['w_dq']),
    pbNode('MatMul', ['x_dq', 'w_dq'], ['logits']),
    pbInitializer('x_scale', TensorType.float, [], float32(INPUT_SCALE)),
    pbInitializer('x_zero', TensorType.uint8, [], new Uint8Array([0])),
    pbInitializer('w_q', TensorType.int8, [FEATURES, CLASSES], new Uint8Array(weights.buffer.slice(0))),
    pbInitializer('w_scale', TensorType.float, [], float32(WEIGHT_SCALE)),
    pbInitializer('w_zero', TensorType.int8, [], new Uint8Array([WEIGHT_ZERO_POINT])),
    pbValueInfo(11, 'input', TensorType.float, ['batch', 3, 4, 4]),
    pbValueInfo(12, 'logits', TensorType.float, ['batch', CLASSES]),
  ]);
  return { weights, model };
}

/** Weights whose first two columns saturate with a bright input: every row -128 and 127; the rest spread. */
export function saturatingWeights(): Int8Array {
  const w = new Int8Array(FEATURES * CLASSES);
  for (let k = 0; k < FEATURES; k++)
    for (let c = 0; c < CLASSES; c++)
      w[k * CLASSES + c] = c === 0 ? -128 : c === 1 ? 127 : ((k * 37 + c * 101) % 256) - 128;
  return w;
}

/** Two images: all features at the top of the uint8 range (saturates), and a ramp (does not saturate much). */
export function testInputs(): Float32Array {
  const x = new Float32Array(2 * FEATURES);
  for (let k = 0; k < FEATURES; k++) {
    x[k] = 255 * INPUT_SCALE;
    x[FEATURES + k] = ((k * 29) % 256) * INPUT_SCALE;
  }
  return x;
}

/** Round half to even, as onnxruntime's QuantizeLinear does. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The layer's exact integer arithmetic: q = clamp(round(x / sx), 0, 255); acc = Σ q · (w − zw) in integers;
 * logit = acc · sx · sw.
 */
export function int8LayerReference(weights: Int8Array, inputs: Float32Array): Float32Array {
  const n = inputs.length / FEATURES;
  const out = new Float32Array(n * CLASSES);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < CLASSES; c++) {
      let acc = 0;
      for (let k = 0; k < FEATURES; k++) {
        const q = Math.min(255, Math.max(0, roundHalfEven(inputs[i * FEATURES + k]! / INPUT_SCALE)));
        acc += q * (weights[k * CLASSES + c]! - WEIGHT_ZERO_POINT);
      }
      out[i * CLASSES + c] = acc * INPUT_SCALE * WEIGHT_SCALE;
    }
  return out;
}
