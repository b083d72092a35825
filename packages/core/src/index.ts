/**
 * `@mtailor/core`: image classification on ONNX models with PyTorch-identical answers.
 *
 * The data path, one folder per stage: `input/` (bytes → decode → preprocess → tensor), `model/` (tensor → session →
 * logits), `engine/` (worker threads, micro-batching, back-pressure, drain), `classifier/` (logits → predictions,
 * labels, the self-test), `manifest/` and `labels/` (what travels with a model), `health/`.
 *
 * @example
 * ```ts
 * import { ImageClassifier } from '@mtailor/core';
 * const classifier = await ImageClassifier.create({ model: 'mobilenet_v2_int8_qdq.onnx' });
 * const { predictions } = await classifier.classify('n01440764_tench.JPEG');
 * await classifier.close();
 * ```
 * @module
 */
export {
  type ClassifierInput,
  type ClassifierStatus,
  type ClassifyOptions,
  type ClassifyOutcome,
  type ClassifyResult,
  type ClassifyTimings,
  ImageClassifier,
  type ImageClassifierOptions,
  type StreamItem,
  type StreamOptions,
} from './classifier/image-classifier.js';
export type { Prediction, SoftmaxMode } from './classifier/predictions.js';
export type { SelfTestImage, SelfTestResult, TestImage } from './classifier/self-test.js';
export { CLASSIFIER_DEFAULTS } from './defaults.js';
export type { TensorImage } from './engine/engine.js';
export type { Base64Image, ModelInfo } from './engine/executors.js';
export type { InferenceThread } from './engine/start-engine.js';
export {
  DisposedError,
  ExternalDataMissingError,
  ExternalDataPathError,
  ImageReadError,
  ImageTooLargeError,
  InferenceError,
  InvalidImageError,
  InvalidInputError,
  InvalidOptionError,
  ManifestError,
  ModelLoadError,
  ModelShapeError,
  MtailorError,
  type MtailorErrorCode,
  NotReadyError,
  OverloadedError,
  ShuttingDownError,
  UnsupportedImageError,
} from './errors.js';
export { type HealthReport, health } from './health/health.js';
export type { DecodedImage, ImageSourceInfo } from './input/decode-image.js';
export type { ImageFormat } from './input/image-format.js';
export {
  ImagePreprocessor,
  type ImagePreprocessorOptions,
  type PreprocessedImage,
  type ResizeEngine,
} from './input/image-preprocessor.js';
export type { ImageInput } from './input/read-image-bytes.js';
export { IMAGENET1K_LABELS } from './labels/imagenet1k.js';
export type { LabelsSource } from './labels/load-labels.js';
export { type Manifest, type ManifestJson, type OutputKind, readManifest } from './manifest/manifest.js';
export type { CpuInt8Info, Int8Kernels, Int8KernelsReport } from './model/int8-kernels.js';
export { ONNXModel } from './model/onnx-model.js';
export type { ExecutionProviderName, GraphOptimizationLevel, ModelOptions } from './model/session-options.js';
export type { InputLayout, TensorInfo } from './model/signature.js';
