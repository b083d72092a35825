/**
 * Typed errors of `@mtailor/converter-bridge`. Every error carries a stable machine-readable `code` (never changes
 * between releases), a message written for a person, and, where useful, structured `details` (e.g. the mismatched
 * checkpoint keys). Validation findings are NOT errors: {@link validateModel} returns them in its report.
 * @module
 */

/** Stable codes of every error this package throws. */
export type ConverterErrorCode =
  /** An option has the wrong type or is out of range. */
  | 'INVALID_OPTION'
  /** The Python interpreter cannot be started (not installed, not executable). */
  | 'PYTHON_NOT_FOUND'
  /** Python ran but the export script ended without a result (crash, killed, garbled output). */
  | 'PYTHON_FAILED'
  /** PyTorch is not importable by the chosen interpreter. */
  | 'TORCH_MISSING'
  /** torchvision is needed (torchvision architecture or calibration images) but not importable. */
  | 'TORCHVISION_MISSING'
  /** The architecture name is neither seed-resnet18, a torchvision builder nor an importable module:Class. */
  | 'UNKNOWN_ARCH'
  /** The architecture's constructor raised. */
  | 'ARCH_INIT_FAILED'
  /** The weights file does not exist. */
  | 'WEIGHTS_NOT_FOUND'
  /** The weights file cannot be read as a PyTorch checkpoint holding a state_dict. */
  | 'WEIGHTS_UNREADABLE'
  /** The checkpoint's keys or shapes do not fit the architecture (see `details`). */
  | 'WEIGHTS_MISMATCH'
  /** The model cannot be run or exported (e.g. output not a [batch, classes] tensor, unsupported op). */
  | 'EXPORT_FAILED'
  /** The requested torch exporter is not available (the new one needs torch ≥ 2.5 and onnxscript). */
  | 'EXPORTER_UNSUPPORTED'
  /** A calibration image cannot be read. */
  | 'CALIBRATION_FAILED'
  /** The output folder cannot be created or written. */
  | 'OUTPUT_NOT_WRITABLE'
  /** The requested opset is outside what the installed torch exports and onnxruntime 1.30 runs. */
  | 'OPSET_UNSUPPORTED'
  /** A torchvision builder this converter refuses before exporting (the message says why). */
  | 'ARCH_UNSUPPORTED'
  /**
   * The weights' evaluation transform cannot be reproduced exactly by `@mtailor/preprocess` (an interpolation it
   * lacks, a non-square crop, an input size other than the crop): pass a recipe instead.
   */
  | 'RECIPE_UNSUPPORTED'
  /** The torchvision weights entry named by `torchvisionWeights` does not exist for the builder. */
  | 'TORCHVISION_WEIGHTS_UNKNOWN'
  /** timm is needed (`timm:` architecture) but not importable by the export's Python. */
  | 'TIMM_MISSING'
  /** transformers is needed (`hf` folder) but not importable by the export's Python. */
  | 'TRANSFORMERS_MISSING'
  /** The `hf` path is not a save_pretrained model folder (not a folder, no config.json, an unreadable config). */
  | 'HF_FOLDER_INVALID'
  /** The `hf` folder has no (loadable) preprocessor_config.json, so its preprocessing is unknown. */
  | 'HF_PREPROCESSOR_MISSING'
  /** The conversion was cancelled through its AbortSignal. */
  | 'ABORTED'
  /** The model file cannot be read from disk (missing, a directory, no permission). */
  | 'MODEL_UNREADABLE'
  /** The model's external-data file (e.g. `model.onnx.data` beside it) is missing, unreadable or too short. */
  | 'EXTERNAL_DATA_MISSING'
  /** The model names an external-data file outside its own folder (absolute or `..`): not read. */
  | 'EXTERNAL_DATA_PATH'
  /** The parity files are missing, malformed or inconsistent with their binary. */
  | 'PARITY_FILE_INVALID'
  /** onnxruntime cannot load the model or run it on the parity inputs. */
  | 'PARITY_RUN_FAILED'
  /** quantize: fewer calibration images than cross-validation folds (give eval images, fewer folds, or no folds). */
  | 'TOO_FEW_IMAGES'
  /** quantize: the input already holds quantized operators (QuantizeLinear/DequantizeLinear, QLinear*, *Integer). */
  | 'ALREADY_QUANTIZED'
  /** quantize: no Conv, Gemm or MatMul of the model has float32 weights to quantize. */
  | 'NO_FLOAT_WEIGHTS'
  /** quantize: calibration images cannot feed the model's input (symbolic or other size, channels, rank). */
  | 'SHAPE_UNSUPPORTED'
  /** quantize: the input is not a valid image classifier (the validator's errors are in `details`). */
  | 'MODEL_INVALID'
  /** quantize: the model manifest cannot be read or is invalid. */
  | 'MANIFEST_INVALID'
  /** quantize: onnxruntime cannot load or run the float or the quantized model. */
  | 'QUANTIZE_RUN_FAILED';

/**
 * The one error class of this package; switch on `code`.
 *
 * @example
 * ```ts
 * try { await convertCheckpoint({ arch: 'resnet18', weights: 'w.pth', out: 'model.onnx' }); }
 * catch (err) {
 *   if (err instanceof ConverterError && err.code === 'WEIGHTS_MISMATCH') console.error(err.details);
 *   else throw err;
 * }
 * ```
 */
export class ConverterError extends Error {
  /** Stable machine-readable code. */
  readonly code: ConverterErrorCode;
  /** Structured facts about the failure (e.g. `{ missing, unexpected, shapeMismatch }` for WEIGHTS_MISMATCH). */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  constructor(
    code: ConverterErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
    this.name = 'ConverterError';
  }
}

/** "Expected positive integer for opset but received -1 of type number" (the message form used across @mtailor). */
export function invalidOption(name: string, expected: string, actual: unknown): ConverterError {
  const shown = typeof actual === 'string' ? JSON.stringify(actual) : String(actual);
  return new ConverterError(
    'INVALID_OPTION',
    `Expected ${expected} for ${name} but received ${shown} of type ${typeof actual}`,
  );
}
