/**
 * Every finding the validator can report: a stable code, its severity, and what it means. The README's table is
 * this list.
 * @module
 */

/** Meaning and default severity of every validation code. */
export const VALIDATION_CHECKS = {
  PARSE_FAILED: {
    severity: 'error',
    meaning: 'The bytes are not a protobuf-encoded ONNX ModelProto (truncated, corrupt, not ONNX).',
  },
  IR_VERSION_MISSING: { severity: 'error', meaning: 'ir_version is absent or 0.' },
  IR_VERSION_UNSUPPORTED: {
    severity: 'error',
    meaning: 'ir_version is newer than the bundled onnxruntime 1.30 loads (max 13).',
  },
  OPSET_MISSING: {
    severity: 'error',
    meaning: 'No opset_import, or none for the default domain (ai.onnx) while nodes use it.',
  },
  OPSET_OUT_OF_RANGE: {
    severity: 'error',
    meaning:
      'The ai.onnx opset is outside the expected range (default 7..26, what onnxruntime 1.30 runs; or --opset-min/--opset-max).',
  },
  OPSET_LEGACY: {
    severity: 'warning',
    meaning: 'The ai.onnx opset is below 7: onnxruntime only has legacy support for it.',
  },
  OPSET_BEYOND_TABLE: {
    severity: 'warning',
    meaning:
      'The ai.onnx opset is newer than the op table (onnx 1.23.1, opset 26, what onnxruntime 1.30 runs): operators added later cannot be verified.',
  },
  DOMAIN_NOT_IMPORTED: {
    severity: 'error',
    meaning: 'A node uses an operator domain that opset_import does not declare.',
  },
  CUSTOM_DOMAIN: {
    severity: 'warning',
    meaning: 'Nodes use non-default operator domains (listed); the validator cannot check their operators.',
  },
  GRAPH_MISSING: { severity: 'error', meaning: 'The model has no graph.' },
  GRAPH_EMPTY: { severity: 'error', meaning: 'The graph has no nodes.' },
  INPUT_COUNT: {
    severity: 'error',
    meaning: 'Graph inputs minus initializers are not exactly one image input.',
  },
  INPUT_TYPE: { severity: 'error', meaning: 'The image input is not a float32 tensor.' },
  INPUT_RANK: { severity: 'error', meaning: 'The image input has no shape or is not rank 4 (NCHW).' },
  INPUT_CHANNELS: {
    severity: 'error',
    meaning: 'The image input does not have 3 channels (dimension 1), or the expected channel count.',
  },
  INPUT_SIZE: {
    severity: 'error',
    meaning: 'The image input height/width is fixed and differs from the expected size.',
  },
  INPUT_BATCH: {
    severity: 'error',
    meaning: 'The batch dimension is fixed and differs from the expected batch size.',
  },
  BATCH_FIXED: {
    severity: 'warning',
    meaning:
      'The input or output batch dimension is a fixed number: the model cannot run batches of other sizes.',
  },
  OUTPUT_COUNT: { severity: 'error', meaning: 'The graph does not have exactly one output.' },
  OUTPUT_TYPE: { severity: 'error', meaning: 'The output is not a float32 tensor.' },
  OUTPUT_SHAPE: {
    severity: 'error',
    meaning: 'The output has no shape or is not rank 2 ([batch, classes]).',
  },
  OUTPUT_CLASSES: { severity: 'error', meaning: 'The number of classes differs from --num-classes.' },
  OUTPUT_CLASSES_SYMBOLIC: {
    severity: 'warning',
    meaning: 'The class dimension is symbolic, so --num-classes cannot be verified statically.',
  },
  OUTPUT_UNDEFINED: {
    severity: 'error',
    meaning: 'A graph output is not produced by any node, input or initializer.',
  },
  DANGLING_INPUT: {
    severity: 'error',
    meaning: 'A node reads a tensor that nothing defines (no graph input, initializer or node output).',
  },
  NODE_ORDER: {
    severity: 'error',
    meaning: 'A node reads a tensor produced only by a later node: the nodes are not in topological order.',
  },
  DUPLICATE_OUTPUT: {
    severity: 'error',
    meaning: 'A tensor name is produced twice (by two nodes, or by a node and a graph input/initializer).',
  },
  DUPLICATE_INITIALIZER: { severity: 'error', meaning: 'Two initializers have the same name.' },
  UNUSED_INITIALIZER: {
    severity: 'warning',
    meaning: 'An initializer is read by no node and is no graph output (dead weight in the file).',
  },
  UNKNOWN_OP: {
    severity: 'error',
    meaning: 'An ai.onnx operator type does not exist (op table of onnx 1.23.1, opsets ≤ 26).',
  },
  OP_NOT_IN_OPSET: {
    severity: 'error',
    meaning: 'An ai.onnx operator exists but not at the model opset (introduced later, or removed).',
  },
  INITIALIZER_DATA_SIZE: {
    severity: 'error',
    meaning: 'An embedded initializer holds fewer or more bytes than its dims and type require.',
  },
  EXTERNAL_DATA_MISSING: {
    severity: 'error',
    meaning: 'A tensor stored as external data names a file that does not exist (or has no location).',
  },
  EXTERNAL_DATA_SIZE: {
    severity: 'error',
    meaning: 'An external-data file is shorter than offset + length, or length does not fit the tensor.',
  },
  EXTERNAL_DATA_PATH: {
    severity: 'error',
    meaning: 'An external-data location is absolute or leaves the model folder (unsafe).',
  },
  EXTERNAL_DATA_UNCHECKED: {
    severity: 'warning',
    meaning:
      'The model uses external data but was given as bytes without baseDir, so the files were not checked.',
  },
  ORT_LOAD_FAILED: {
    severity: 'error',
    meaning:
      'The static checks pass but onnxruntime-node 1.30 refuses to load the model (load check: on by default in `mtailor validate`, `load: true` in the API).',
  },
} as const satisfies Record<string, { severity: 'error' | 'warning'; meaning: string }>;

/** A stable validation code. */
export type ValidationCode = keyof typeof VALIDATION_CHECKS;

/** One finding of the validator. */
export interface ValidationIssue {
  /** Stable code (see {@link VALIDATION_CHECKS}). */
  code: ValidationCode;
  /** What is wrong, naming the tensor/node/value concerned. */
  message: string;
}
