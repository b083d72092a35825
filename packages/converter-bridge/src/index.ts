/**
 * `@mtailor/converter-bridge`: PyTorch checkpoint → ONNX (via the bundled Python export script), ONNX validation
 * in TypeScript (no Python), and PyTorch-vs-onnxruntime parity.
 *
 * @example
 * ```ts
 * import { convertCheckpoint, validateModel, checkParity } from '@mtailor/converter-bridge';
 * const { modelPath, parityFile } = await convertCheckpoint({ arch: 'resnet18', weights: 'r18.pth', out: 'r18.onnx' });
 * const report = await validateModel(modelPath, { numClasses: 1000 });
 * const parity = await checkParity(modelPath, parityFile!);
 * ```
 *
 * The surface is what users call — convert, validate, parity, quantize, the manifest, report formatting, errors and
 * their option and result types. The machinery behind them (op table, quantization maths, the export script's
 * location) is in `@mtailor/converter-bridge/internal`, for the other `@mtailor` packages.
 * @module
 */
export {
  type ConvertOptions,
  type ConvertProgress,
  type ConvertResult,
  convertCheckpoint,
} from './convert.js';
export { ConverterError, type ConverterErrorCode } from './errors.js';
export type { HubTransform, TimmEvalTransform, TransformersProcessor } from './hub-recipes.js';
export {
  defaultManifestPath,
  type WrittenManifest,
} from './manifest.js';
export {
  checkParity,
  DEFAULT_FLOAT32_ERROR_FACTOR,
  DEFAULT_PARITY_ATOL,
  DEFAULT_PARITY_RTOL,
  DEFAULT_PARITY_TOLERANCE,
  DYNAMIC_BATCH_SIZES,
  type ParityBatch,
  type ParityElement,
  type ParityResult,
  type ParitySample,
  type ParityTolerance,
  type ParityVectors,
  readParityVectors,
} from './parity.js';
export { resolvePython } from './python.js';
export {
  type AccuracyReport,
  type CalibrationMethod,
  type ClassError,
  type CompareOptions,
  type CrossValidationReport,
  compareModels,
  DEFAULT_FOLDS,
  DEFAULT_MIN_AGREEMENT,
  DEFAULT_PERCENTILE,
  type Disagreement,
  formatQuantizationReport,
  type KernelReport,
  type QuantizationReport,
  type QuantizeOptions,
  type QuantizeProgress,
  quantizeModel,
  type SpeedOptions,
  type SpeedReport,
  type Timing,
} from './quantize/index.js';
export { formatValidationReport } from './report.js';
export { VALIDATION_CHECKS, type ValidationCode, type ValidationIssue } from './validate/codes.js';
export {
  type Dim,
  type OpsetImport,
  ORT_MAX_IR_VERSION,
  ORT_MAX_OPSET,
  ORT_MIN_OPSET,
  type TensorSummary,
} from './validate/public-types.js';
export {
  type ModelExpectations,
  type ModelSummary,
  type ValidationReport,
  validateModel,
  validateModelBytes,
} from './validate/validate-model.js';
