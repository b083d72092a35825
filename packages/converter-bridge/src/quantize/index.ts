/**
 * Static int8 quantization of float ONNX image classifiers (QDQ format), with calibration on served-exactly
 * preprocessed images and an accuracy report. One file per stage: preflight, fold-batchnorm, plan, calibrate,
 * ranges, rewrite, evaluate, cross-validate, report; `quantize.ts` runs them in order.
 * @module
 */

export { crossValidationFolds, DEFAULT_FOLDS, type Fold } from './folds.js';
export {
  type CompareOptions,
  compareModels,
  DEFAULT_MIN_AGREEMENT,
  type QuantizationReport,
  type QuantizeOptions,
  type QuantizeProgress,
  quantizeModel,
} from './quantize.js';
export {
  type ActivationType,
  activationParams,
  type CalibrationMethod,
  DEFAULT_PERCENTILE,
  entropyThreshold,
  HISTOGRAM_BINS,
  type QuantParams,
  quantizeWeights,
  type Range,
} from './ranges.js';
export { formatQuantizationReport } from './report.js';
export type {
  AccuracyReport,
  ClassError,
  CrossValidationReport,
  Disagreement,
  KernelReport,
  SpeedOptions,
  SpeedReport,
  Timing,
} from './summary.js';
