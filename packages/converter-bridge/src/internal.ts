/**
 * `@mtailor/converter-bridge/internal`: the machinery behind the public API that the other `@mtailor` packages (the
 * CLI) and this package's tests and scripts use. Not part of the public API: no stability promise.
 * @module
 */
export {
  describeHubTransform,
  recipeFromHub,
  recipeFromTimm,
  recipeFromTransformers,
} from './hub-recipes.js';
export { recipeFromTorchvision, recipeSquareSize, type TorchvisionEvalTransform } from './manifest.js';
export { compareLogits } from './parity.js';
export { exportScriptPath } from './python.js';
export {
  type ActivationType,
  activationParams,
  crossValidationFolds,
  entropyThreshold,
  type Fold,
  HISTOGRAM_BINS,
  type QuantParams,
  quantizeWeights,
  type Range,
} from './quantize/index.js';
export { ONNX_OP_TABLE, OP_TABLE_MAX_OPSET, OP_TABLE_ONNX_VERSION } from './validate/onnx-op-table.js';
