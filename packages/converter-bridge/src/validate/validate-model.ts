/**
 * `validateModel`: ONNX bytes → decode → header, interface, graph, operator and weight checks → a report.
 * Pure TypeScript (onnx-proto + protobufjs); no Python, no onnxruntime.
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConverterError, invalidOption } from '../errors.js';
import { checkOperators, checkTopology, checkUnusedInitializers } from './check-graph.js';
import { checkHeader } from './check-header.js';
import { checkInitializers } from './check-initializers.js';
import { checkInterface } from './check-io.js';
import type { ValidationIssue } from './codes.js';
import { Findings } from './findings.js';
import { checkOnnxruntimeLoads } from './load-check.js';
import { decodeModelProto, externalDataEntries, int64, isExternal, type ModelProto } from './onnx-proto.js';
import { type OpsetImport, ORT_MAX_IR_VERSION, type TensorSummary } from './public-types.js';

/** What the model must satisfy beyond being a valid image classifier (all optional). */
export interface ModelExpectations {
  /** Expected input [batch, channels, height, width]; `null` entries are not checked. Default: 3 channels, any size. */
  inputShape?: readonly (number | null)[];
  /** Expected number of classes. Default: not checked. */
  numClasses?: number;
  /** Lowest acceptable ai.onnx opset. Default 7 (below: a warning, onnxruntime's legacy support). */
  opsetMin?: number;
  /** Highest acceptable ai.onnx opset. Default 26 (onnxruntime 1.30's maximum). */
  opsetMax?: number;
  /** Highest acceptable IR version. Default 13 (onnxruntime 1.30's maximum). */
  maxIrVersion?: number;
  /** Folder external-data locations are relative to. Default: the model file's folder (none for bytes). */
  baseDir?: string;
  /**
   * Also load the model with the bundled onnxruntime-node when the static checks pass (ORT_LOAD_FAILED otherwise).
   * Default false: validateModel stays a pure protobuf check unless asked.
   */
  load?: boolean;
}

/** Facts about the model, reported whether or not it is valid. */
export interface ModelSummary {
  /** IR version (0 when absent). */
  irVersion: number;
  /** Imported operator sets; the default domain is reported as `ai.onnx`. */
  opsets: OpsetImport[];
  /** Producer name and version (e.g. `pytorch` `1.13.0`). */
  producer: { name: string; version: string };
  /** Graph inputs that are not initializers. */
  inputs: TensorSummary[];
  /** Graph outputs. */
  outputs: TensorSummary[];
  /** Number of top-level nodes. */
  nodeCount: number;
  /** Nodes per operator type (including subgraphs; other domains as `domain::Op`). */
  opTypes: Record<string, number>;
  /** Number of initializers (weights). */
  initializerCount: number;
  /** Bytes of all initializers (dims × element size). */
  initializerBytes: number;
  /** Size of the model file (or byte array). */
  fileBytes: number;
  /**
   * The external-data files its tensors name (locations relative to the model's folder, in first-use order); empty
   * when every weight is inside the model. These files must travel with the model.
   */
  externalData: string[];
}

/** The validator's verdict. */
export interface ValidationReport {
  /** True when there are no errors (warnings allowed). */
  ok: boolean;
  /** Findings that make the model unfit to deploy. */
  errors: ValidationIssue[];
  /** Findings worth knowing that do not block deployment. */
  warnings: ValidationIssue[];
  /** Model facts; null when the bytes do not parse. */
  model: ModelSummary | null;
}

/**
 * Validate an ONNX image classifier: protobuf parses; IR version and opsets fit onnxruntime 1.30; exactly one
 * float32 NCHW 3-channel input and one float32 [batch, classes] output; dynamic batch; data flow in topological
 * order with no dangling or duplicate names; known operators; external data present. Every finding has a stable
 * code (see `VALIDATION_CHECKS`).
 *
 * @param source Path of the `.onnx` file, or its bytes.
 * @throws {ConverterError} MODEL_UNREADABLE when the path cannot be read; INVALID_OPTION for bad expectations.
 *   Content problems (including unparseable bytes) are reported, not thrown.
 *
 * @example
 * ```ts
 * import { validateModel } from '@mtailor/converter-bridge';
 * const report = await validateModel('model.onnx', { inputShape: [1, 3, 224, 224], numClasses: 1000 });
 * if (!report.ok) for (const e of report.errors) console.error(`${e.code}: ${e.message}`);
 * ```
 */
export async function validateModel(
  source: string | Uint8Array,
  expectations: ModelExpectations = {},
): Promise<ValidationReport> {
  if (typeof source === 'string') {
    let bytes: Uint8Array;
    try {
      const info = await stat(source);
      if (!info.isFile()) throw new Error('not a regular file');
      bytes = await readFile(source);
    } catch (err) {
      throw new ConverterError('MODEL_UNREADABLE', `Cannot read model ${source}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const report = validateModelBytes(bytes, {
      baseDir: path.dirname(path.resolve(source)),
      ...expectations,
    });
    return expectations.load ? withLoadCheck(report, source) : report;
  }
  if (!(source instanceof Uint8Array)) throw invalidOption('source', 'path string or Uint8Array', source);
  const report = validateModelBytes(source, expectations);
  return expectations.load ? withLoadCheck(report, source) : report;
}

/** Only a model that passed the static checks is loaded: otherwise onnxruntime would repeat their findings. */
async function withLoadCheck(
  report: ValidationReport,
  source: string | Uint8Array,
): Promise<ValidationReport> {
  if (!report.ok) return report;
  const issue = await checkOnnxruntimeLoads(source);
  return issue ? { ...report, ok: false, errors: [...report.errors, issue] } : report;
}

/** Synchronous core of {@link validateModel} for bytes already in memory. */
export function validateModelBytes(
  bytes: Uint8Array,
  expectations: ModelExpectations = {},
): ValidationReport {
  checkExpectations(expectations);
  const findings = new Findings();
  const model = decode(bytes, findings);
  if (!model) return { ok: false, errors: findings.errors, warnings: findings.warnings, model: null };

  const { opsets, defaultOpset } = checkHeader(model, findings, {
    maxIrVersion: expectations.maxIrVersion ?? ORT_MAX_IR_VERSION,
    opsetMin: expectations.opsetMin,
    opsetMax: expectations.opsetMax,
  });
  const graph = model.graph;
  let summary = {
    inputs: [] as TensorSummary[],
    outputs: [] as TensorSummary[],
    opTypes: {},
    initializerBytes: 0,
  };
  if (!graph) findings.add('GRAPH_MISSING', 'The model has no graph');
  else {
    if (!graph.node?.length) findings.add('GRAPH_EMPTY', 'The graph has no nodes');
    const io = checkInterface(graph, findings, expectations);
    const read = checkTopology(graph, findings);
    checkUnusedInitializers(graph, read, findings);
    const opTypes = checkOperators(graph, opsets, defaultOpset, findings);
    const initializerBytes = checkInitializers(graph, findings, expectations.baseDir);
    summary = { ...io, opTypes, initializerBytes };
  }
  findings.finish();
  return {
    ok: findings.errors.length === 0,
    errors: findings.errors,
    warnings: findings.warnings,
    model: {
      irVersion: int64(model.irVersion),
      opsets,
      producer: { name: model.producerName ?? '', version: model.producerVersion ?? '' },
      inputs: summary.inputs,
      outputs: summary.outputs,
      nodeCount: graph?.node?.length ?? 0,
      opTypes: summary.opTypes,
      initializerCount: graph?.initializer?.length ?? 0,
      initializerBytes: summary.initializerBytes,
      fileBytes: bytes.byteLength,
      externalData: externalDataLocations(model),
    },
  };
}

function externalDataLocations(model: ModelProto): string[] {
  const locations = new Set<string>();
  for (const t of model.graph?.initializer ?? [])
    if (isExternal(t)) locations.add(externalDataEntries(t).get('location') ?? '');
  return [...locations];
}

function decode(bytes: Uint8Array, findings: Findings): ModelProto | undefined {
  if (bytes.byteLength === 0) {
    findings.add('PARSE_FAILED', 'The model is empty (0 bytes)');
    return undefined;
  }
  let model: ModelProto;
  try {
    model = decodeModelProto(bytes);
  } catch (err) {
    findings.add(
      'PARSE_FAILED',
      `Not a valid ONNX protobuf (${(err as Error).message}): truncated or not an ONNX file`,
    );
    return undefined;
  }
  // Protobuf is permissive: arbitrary bytes can decode into an empty message made only of unknown fields.
  if (int64(model.irVersion) === 0 && !model.graph && !model.opsetImport?.length) {
    findings.add('PARSE_FAILED', 'The bytes decode to no ONNX model (no ir_version, opset_import or graph)');
    return undefined;
  }
  return model;
}

function checkExpectations(e: ModelExpectations): void {
  if (typeof e !== 'object' || e === null) throw invalidOption('expectations', 'object', e);
  const positive = (name: keyof ModelExpectations): void => {
    const v = e[name];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 1))
      throw invalidOption(name, 'positive integer', v);
  };
  positive('numClasses');
  positive('opsetMin');
  positive('opsetMax');
  positive('maxIrVersion');
  if (e.inputShape !== undefined) {
    const ok =
      Array.isArray(e.inputShape) &&
      e.inputShape.length === 4 &&
      e.inputShape.every((d) => d === null || (Number.isInteger(d) && d >= 1));
    if (!ok) throw invalidOption('inputShape', 'array of 4 positive integers or nulls', e.inputShape);
  }
  if (e.load !== undefined && typeof e.load !== 'boolean') throw invalidOption('load', 'boolean', e.load);
  if (e.baseDir !== undefined && (typeof e.baseDir !== 'string' || e.baseDir.length === 0))
    throw invalidOption('baseDir', 'non-empty string', e.baseDir);
}
