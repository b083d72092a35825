/**
 * Typed errors of `@mtailor/core`. Every error has a stable machine-readable `code` (never changes between
 * releases) and a message written for a person. Catch by class or switch on `code`.
 * @module
 */

/** Stable codes of every error `@mtailor/core` throws. */
export type MtailorErrorCode =
  | 'INVALID_OPTION'
  | 'UNSUPPORTED_IMAGE'
  | 'INVALID_IMAGE'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_READ_FAILED'
  | 'MODEL_LOAD_FAILED'
  | 'EXTERNAL_DATA_MISSING'
  | 'EXTERNAL_DATA_PATH'
  | 'MODEL_SHAPE'
  | 'INVALID_MANIFEST'
  | 'INFERENCE_FAILED'
  | 'INVALID_INPUT'
  | 'OVERLOADED'
  | 'NOT_READY'
  | 'SHUTTING_DOWN'
  | 'DISPOSED';

/**
 * Base class of all `@mtailor/core` errors.
 *
 * @example
 * ```ts
 * try { await classifier.classify(bytes); }
 * catch (err) { if (err instanceof MtailorError) console.error(err.code, err.message); }
 * ```
 */
export class MtailorError extends Error {
  /** Stable machine-readable code. */
  readonly code: MtailorErrorCode;
  constructor(code: MtailorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An option has the wrong type or is out of range ("Expected positive integer for topK but received -1 of type number"). */
export class InvalidOptionError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_OPTION', message, options);
  }
}

/** The input is not an image format we decode (e.g. a text file, a PDF, an SVG). */
export class UnsupportedImageError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNSUPPORTED_IMAGE', message, options);
  }
}

/** The input claims to be a supported image format but cannot be decoded (truncated, corrupt, empty). */
export class InvalidImageError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_IMAGE', message, options);
  }
}

/** The input exceeds the configured byte or pixel limit. */
export class ImageTooLargeError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('IMAGE_TOO_LARGE', message, options);
  }
}

/**
 * The image bytes could not be read: a missing or unreadable file, a path that is not a regular file, or a stream
 * that failed. The `cause` holds the underlying error (e.g. `ENOENT`).
 */
export class ImageReadError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('IMAGE_READ_FAILED', message, options);
  }
}

/** The model file cannot be read or onnxruntime refuses it. */
export class ModelLoadError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MODEL_LOAD_FAILED', message, options);
  }
}

/**
 * The model stores weights as external data (a file beside the model, e.g. `model.onnx.data`, as torch ≥ 2.9 exports
 * by default) and that file is missing, unreadable or shorter than the model says. The message names the file.
 */
export class ExternalDataMissingError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EXTERNAL_DATA_MISSING', message, options);
  }
}

/**
 * The model names an external-data file outside its own folder (an absolute path or one with `..`): it is not read,
 * so a model file can never make the process read arbitrary files.
 */
export class ExternalDataPathError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EXTERNAL_DATA_PATH', message, options);
  }
}

/** The model loads but is not an image classifier we can drive (inputs/outputs of the wrong kind or shape). */
export class ModelShapeError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MODEL_SHAPE', message, options);
  }
}

/** A model manifest (or a labels file it names) is malformed or inconsistent with the model. */
export class ManifestError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_MANIFEST', message, options);
  }
}

/** onnxruntime failed while running the model. */
export class InferenceError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INFERENCE_FAILED', message, options);
  }
}

/**
 * The input is malformed before it is an image: base64 that is not base64, an empty input, a tensor of the wrong
 * length. (A well-formed input whose bytes are not an image we decode is an {@link UnsupportedImageError}.)
 */
export class InvalidInputError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_INPUT', message, options);
  }
}

/**
 * Back-pressure: the classifier already holds `maxQueue` images (waiting, decoding, queued or running). Nothing
 * was done with this one; retry later.
 */
export class OverloadedError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OVERLOADED', message, options);
  }
}

/** The classifier cannot take work yet (still starting) or any more (its inference thread died). */
export class NotReadyError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_READY', message, options);
  }
}

/**
 * The classifier is draining or closed: `close()` was called, so new work is refused, and work still unfinished
 * when the drain timeout ran out is dropped with this error.
 */
export class ShuttingDownError extends MtailorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SHUTTING_DOWN', message, options);
  }
}

/** The object was used after `dispose()`. */
export class DisposedError extends MtailorError {
  constructor(what: string) {
    super('DISPOSED', `${what} was used after dispose()`);
  }
}
