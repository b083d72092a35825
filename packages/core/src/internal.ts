/**
 * `@mtailor/core/internal`: pieces the other `@mtailor` packages share with core (the server's base64 handling and
 * CPU count, the CLI's input checks, the converter's model-file reader). Not part of the public API: no stability promise.
 * @module
 */

export { toPredictions } from './classifier/predictions.js';
export { looksLikeProbabilities, softmax, topK } from './classifier/softmax.js';
export { availableCpus, cgroupCpuQuota } from './engine/available-cpus.js';
export { toMtailorError } from './engine/error-transfer.js';
export { runtimeVersions } from './health/versions.js';
export { base64HeadIsInvalid, decodeBase64Image, maxBase64Length } from './input/base64.js';
export { decodeImage, decodeImagePixels } from './input/decode-image.js';
export { FAST_ENGINE_KERNELS } from './input/fast-resize.js';
export { detectImageFormat, SUPPORTED_IMAGE_FORMATS } from './input/image-format.js';
export { DEFAULT_MAX_INPUT_BYTES, DEFAULT_MAX_PIXELS } from './input/image-preprocessor.js';
export { decodeJpegNatively, nativeJpegAvailable } from './input/native-jpeg.js';
export { readImageBytes } from './input/read-image-bytes.js';
export { IMAGENET1K_WNIDS } from './labels/imagenet1k.js';
export { loadLabels, parseLabels } from './labels/load-labels.js';
export { checkManifestAgainstModel } from './manifest/manifest.js';
export {
  analyzeInt8Weights,
  buildDepthwiseProbeModel,
  buildSaturationProbeModel,
  detectCpuInt8Flags,
  INT8_KERNELS,
  prepareInt8Kernels,
  rewriteInt8AsUint8,
  u8s8DepthwiseKernelsAreExact,
  u8s8KernelsAreExact,
} from './model/int8-kernels.js';
export {
  inlineExternalData,
  MAX_INLINE_MODEL_BYTES,
  type ModelFile,
  readModelFile,
} from './model/model-file.js';
export {
  pbBytes,
  pbInitializer,
  pbModel,
  pbNode,
  pbValueInfo,
  pbVarint,
  readOnnxGraph,
  TensorType,
} from './model/onnx-protobuf.js';
export { formatShape } from './model/signature.js';
