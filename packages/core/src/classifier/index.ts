/**
 * Logits → predictions: softmax, top-k, the image classifier and the pipelined stream classifier.
 * @module
 */
export {
  type ClassifyOptions,
  type ClassifyOutcome,
  ImageClassifier,
  type ImageClassifierOptions,
  type PreprocessorSettings,
} from './image-classifier.js';
export { classifyStream, type PipelineInput, type PipelineItem, type PipelineOptions } from './pipeline.js';
export {
  type ClassifyResult,
  type ClassifyTimings,
  type Prediction,
  type SoftmaxMode,
  toPredictions,
} from './predictions.js';
export { looksLikeProbabilities, softmax, topK } from './softmax.js';
