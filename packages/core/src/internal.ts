/**
 * `@mtailor/core/internal`: pieces the other `@mtailor` packages share with core (the server's base64 handling and
 * CPU count, the CLI's input checks). Not part of the public API: no stability promise.
 * @module
 */
export { availableCpus, cgroupCpuQuota } from './engine/available-cpus.js';
export { toMtailorError } from './engine/error-transfer.js';
export { base64HeadIsInvalid, decodeBase64Image, maxBase64Length } from './input/base64.js';
export { DEFAULT_MAX_INPUT_BYTES, DEFAULT_MAX_PIXELS } from './input/image-preprocessor.js';
export { SUPPORTED_IMAGE_FORMATS } from './input/image-format.js';
export { IMAGENET1K_WNIDS } from './labels/imagenet1k.js';
export { looksLikeProbabilities, softmax, topK } from './classifier/softmax.js';
export { runtimeVersions } from './health/versions.js';
