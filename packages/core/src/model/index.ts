/**
 * Tensor → session → logits: {@link ONNXModel} and its options and signature types.
 * @module
 */
export { ONNXModel } from './onnx-model.js';
export type {
  ExecutionProviderName,
  GraphOptimizationLevel,
  ModelOptions,
  ResolvedModelOptions,
} from './session-options.js';
export type { ClassifierSignature, Dim, InputLayout, TensorInfo } from './signature.js';
export { formatShape } from './signature.js';
