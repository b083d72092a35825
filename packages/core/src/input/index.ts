/**
 * The input side of `@mtailor/core`: bytes (buffer, file, stream) → decode (sharp, PIL-identical) → preprocess
 * (`@mtailor/preprocess` recipe) → tensor. See `README.md` in this folder for how decoding matches PIL.
 * @module
 */
export {
  type DecodedImage,
  decodeImage,
  decodeImagePixels,
  type ImageSourceInfo,
} from './decode-image.js';
export { FAST_ENGINE_KERNELS } from './fast-resize.js';
export { detectImageFormat, type ImageFormat, SUPPORTED_IMAGE_FORMATS } from './image-format.js';
export {
  DEFAULT_MAX_INPUT_BYTES,
  DEFAULT_MAX_PIXELS,
  ImagePreprocessor,
  type ImagePreprocessorOptions,
  type PreprocessedImage,
  type ResizeEngine,
} from './image-preprocessor.js';
export { type ImageInput, readImageBytes } from './read-image-bytes.js';
export type { SharpDecodeSettings } from './sharp-input.js';
