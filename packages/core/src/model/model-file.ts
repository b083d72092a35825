/**
 * Reading an ONNX model file for onnxruntime, wherever the process runs: the model's bytes with its external data
 * (weights stored in files beside the model, as torch ≥ 2.9's exporter writes them) read from the model's own
 * folder and inlined. Given bytes, onnxruntime looks for external data beside the process's working directory,
 * not beside the model; inlined, the model needs nothing but its bytes.
 *
 * The rewrite works on the protobuf wire format directly (no protobuf library in core): it walks the messages
 * that can hold tensors (model → graph / function → node → attribute → subgraph, initializers, sparse tensors)
 * and replaces each external tensor's `external_data` + `data_location` by `raw_data`. Everything else is copied
 * byte for byte.
 * @module
 */
import { open, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { ExternalDataMissingError, ExternalDataPathError, ModelLoadError } from '../errors.js';

/**
 * protobuf's limit on one serialized message (2 GB − 1). A model whose weights would take it past this is handed
 * to onnxruntime by path instead, which reads the data files beside it itself.
 */
export const MAX_INLINE_MODEL_BYTES = 2 ** 31 - 1;

/** A model file as onnxruntime should be given it. */
export interface ModelFile {
  /**
   * Self-contained model bytes (external data inlined), or the model's absolute path when inlining would pass
   * {@link MAX_INLINE_MODEL_BYTES} (the external-data files have been checked to exist inside the model's folder).
   */
  model: Uint8Array | string;
  /** Absolute paths of the external-data files the model names, in first-use order (empty: self-contained). */
  externalDataFiles: string[];
}

/**
 * Reads `file` and inlines its external data from the model's own folder.
 *
 * @throws {@link ModelLoadError} when the model file cannot be read.
 * @throws {@link ExternalDataMissingError} when an external-data file is missing, unreadable or too short.
 * @throws {@link ExternalDataPathError} when an external-data location is absolute or leaves the model's folder.
 *
 * @example
 * ```ts
 * import { readModelFile } from '@mtailor/core/internal';
 * // For torch's new exporter's `mnv2.onnx` + `mnv2.onnx.data`, `model` is one self-contained model and
 * // `externalDataFiles` names the data file, from any working directory; this model has no external data.
 * const { model, externalDataFiles } = await readModelFile('../shared/models/mobilenet_v2_float.onnx');
 * console.log(externalDataFiles.length); // 0
 * console.log(model instanceof Uint8Array); // true
 * ```
 */
export async function readModelFile(file: string): Promise<ModelFile> {
  const absolute = path.resolve(file);
  let bytes: Uint8Array;
  try {
    const info = await stat(absolute);
    if (!info.isFile()) throw new Error('not a regular file');
    bytes = await readWhole(absolute);
  } catch (err) {
    throw new ModelLoadError(`Cannot read model file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return inlineExternalData(bytes, absolute);
}

/**
 * `bytes` (the model read from `modelPath`) with every external tensor's data read from beside `modelPath` and
 * stored in the model itself; `bytes` unchanged when the model has no external data.
 *
 * @throws {@link ExternalDataMissingError}, {@link ExternalDataPathError} as {@link readModelFile}.
 */
export async function inlineExternalData(bytes: Uint8Array, modelPath: string): Promise<ModelFile> {
  const refs = collectExternal(bytes, modelPath);
  if (refs.length === 0) return { model: bytes, externalDataFiles: [] };
  const dir = path.dirname(path.resolve(modelPath));
  const files = new Map<string, { path: string; size: number; data?: Uint8Array }>();
  let total = bytes.byteLength;
  let realDir: string | undefined;
  for (const ref of refs) {
    const dataPath = resolveLocation(ref, dir, modelPath);
    let entry = files.get(dataPath);
    if (!entry) {
      realDir ??= await realpath(dir);
      await refuseSymlinkOutside(dataPath, realDir, ref, modelPath);
      entry = { path: dataPath, size: await dataFileSize(dataPath, ref, modelPath) };
      files.set(dataPath, entry);
    }
    const length = ref.length ?? entry.size - ref.offset;
    if (ref.offset < 0 || length < 0 || ref.offset + length > entry.size)
      throw new ExternalDataMissingError(
        `${modelPath}: tensor "${ref.name}" needs bytes ${ref.offset}..${ref.offset + length} of ${dataPath}, which has only ${entry.size} bytes`,
      );
    ref.resolved = dataPath;
    ref.byteLength = length;
    total += length + 16;
  }
  const externalDataFiles = [...files.keys()];
  if (total > MAX_INLINE_MODEL_BYTES) return { model: path.resolve(modelPath), externalDataFiles };
  for (const entry of files.values()) {
    try {
      entry.data = await readWhole(entry.path);
    } catch (err) {
      throw new ExternalDataMissingError(
        `${modelPath}: cannot read its external data file ${entry.path}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  const dataFor = (ref: ExternalRef): Uint8Array => {
    const data = files.get(ref.resolved as string)?.data as Uint8Array;
    return data.subarray(ref.offset, ref.offset + (ref.byteLength as number));
  };
  const chunks = rewrite(bytes, 0, bytes.byteLength, MODEL, refs.values(), dataFor);
  return { model: chunks ? concat(chunks) : bytes, externalDataFiles };
}

/** One tensor stored as external data, in the order the walk meets them. */
interface ExternalRef {
  name: string;
  location: string | undefined;
  offset: number;
  length: number | undefined;
  resolved?: string;
  byteLength?: number;
}

function resolveLocation(ref: ExternalRef, dir: string, modelPath: string): string {
  const location = ref.location;
  if (!location)
    throw new ExternalDataMissingError(
      `${modelPath}: tensor "${ref.name}" is marked as external data but names no file`,
    );
  const normalized = path.normalize(location);
  if (
    path.isAbsolute(location) ||
    path.win32.isAbsolute(location) ||
    normalized === '..' ||
    normalized.startsWith(`..${path.sep}`) ||
    normalized.split(/[\\/]/).includes('..')
  )
    throw new ExternalDataPathError(
      `${modelPath}: tensor "${ref.name}" names external data '${location}', outside the model's folder ${dir}; it is not read`,
    );
  return path.join(dir, normalized);
}

/**
 * A location inside the model's folder by name can still lead out of it through a symlink (the file or a folder on
 * the way): what counts is where the real path is. A missing file is left to {@link dataFileSize} to report.
 */
async function refuseSymlinkOutside(
  dataPath: string,
  realDir: string,
  ref: ExternalRef,
  modelPath: string,
): Promise<void> {
  let real: string;
  try {
    real = await realpath(dataPath);
  } catch {
    return;
  }
  const relative = path.relative(realDir, real);
  if (
    relative === '' ||
    relative === '..' ||
    relative.startsWith(`..${path.sep}`) ||
    path.isAbsolute(relative)
  )
    throw new ExternalDataPathError(
      `${modelPath}: tensor "${ref.name}" names external data '${ref.location}', a symlink to ${real}, outside the model's folder ${realDir}; it is not read`,
    );
}

async function dataFileSize(dataPath: string, ref: ExternalRef, modelPath: string): Promise<number> {
  try {
    const info = await stat(dataPath);
    if (!info.isFile()) throw new Error('not a regular file');
    return info.size;
  } catch (err) {
    throw new ExternalDataMissingError(
      `${modelPath}: tensor "${ref.name}" is stored in ${dataPath}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); keep the data file beside the model`,
      { cause: err },
    );
  }
}

/** Reads a whole file into one buffer (readFile refuses files over 2 GB; the >2 GB case never comes here). */
async function readWhole(file: string): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const out = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(out, done, size - done, done);
      if (bytesRead === 0) throw new Error(`file shrank while being read (${done} of ${size} bytes)`);
      done += bytesRead;
    }
    return out;
  } finally {
    await handle.close();
  }
}

// ---- the protobuf wire format, for the messages of onnx.proto that can hold tensors ----

/** Which length-delimited fields of a message hold which message (field numbers of onnx.proto). */
type Schema = Readonly<Record<number, string>>;
const SCHEMAS: Readonly<Record<string, Schema>> = {
  model: { 7: 'graph', 25: 'function' }, // ModelProto.graph, .functions
  function: { 7: 'node' }, // FunctionProto.node
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' }, // GraphProto.node, .initializer, .sparse_initializer
  node: { 5: 'attribute' }, // NodeProto.attribute
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' }, // t g tensors graphs sparse_tensor(s)
  sparse: { 1: 'tensor', 2: 'tensor' }, // SparseTensorProto.values, .indices
};
const MODEL = 'model';
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const DATA_LOCATION_EXTERNAL = 1;

interface Field {
  number: number;
  wireType: number;
  /** Start of the tag. */
  start: number;
  /** Start of the payload (after the length for length-delimited fields). */
  payload: number;
  end: number;
  /** The varint value (wire type 0). */
  value: number;
}

function malformed(at: number): ModelLoadError {
  return new ModelLoadError(`The model is not a valid ONNX protobuf (malformed field at byte ${at})`);
}

function readVarint(buf: Uint8Array, at: number, end: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < end && i < at + 10; i++) {
    const b = buf[i] as number;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) return [value, i + 1];
  }
  throw malformed(at);
}

function* fieldsOf(buf: Uint8Array, start: number, end: number): Generator<Field> {
  let at = start;
  while (at < end) {
    const [tag, afterTag] = readVarint(buf, at, end);
    const wireType = tag % 8;
    const number = Math.floor(tag / 8);
    let payload = afterTag;
    let fieldEnd: number;
    let value = 0;
    if (wireType === 0) [value, fieldEnd] = readVarint(buf, afterTag, end);
    else if (wireType === 1) fieldEnd = afterTag + 8;
    else if (wireType === 5) fieldEnd = afterTag + 4;
    else if (wireType === 2) {
      const [length, afterLength] = readVarint(buf, afterTag, end);
      payload = afterLength;
      fieldEnd = afterLength + length;
    } else throw malformed(at);
    if (fieldEnd > end || number === 0) throw malformed(at);
    yield { number, wireType, start: at, payload, end: fieldEnd, value };
    at = fieldEnd;
  }
}

const decoder = new TextDecoder();

/** Every tensor with `data_location: EXTERNAL` in the message, depth first. */
function collectExternal(buf: Uint8Array, modelPath: string): ExternalRef[] {
  const refs: ExternalRef[] = [];
  const walk = (start: number, end: number, kind: string): void => {
    if (kind === 'tensor') {
      const ref = externalRef(buf, start, end, modelPath);
      if (ref) refs.push(ref);
      return;
    }
    const schema = SCHEMAS[kind] as Schema;
    for (const f of fieldsOf(buf, start, end)) {
      const child = f.wireType === 2 ? schema[f.number] : undefined;
      if (child) walk(f.payload, f.end, child);
    }
  };
  walk(0, buf.byteLength, MODEL);
  return refs;
}

function externalRef(
  buf: Uint8Array,
  start: number,
  end: number,
  modelPath: string,
): ExternalRef | undefined {
  if (!isExternalTensor(buf, start, end)) return undefined;
  let name = '';
  const entries = new Map<string, string>();
  for (const f of fieldsOf(buf, start, end)) {
    if (f.number === TENSOR_NAME && f.wireType === 2) name = decoder.decode(buf.subarray(f.payload, f.end));
    else if (f.number === TENSOR_EXTERNAL_DATA && f.wireType === 2) {
      let key = '';
      let value = '';
      for (const e of fieldsOf(buf, f.payload, f.end)) {
        const text = e.wireType === 2 ? decoder.decode(buf.subarray(e.payload, e.end)) : '';
        if (e.number === 1) key = text;
        else if (e.number === 2) value = text;
      }
      entries.set(key, value);
    }
  }
  const number = (key: string): number | undefined => {
    const text = entries.get(key);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new ExternalDataMissingError(
        `${modelPath}: tensor "${name}" has an invalid external-data ${key} '${text}'`,
      );
    return n;
  };
  return { name, location: entries.get('location'), offset: number('offset') ?? 0, length: number('length') };
}

/**
 * The message's bytes as chunks with every external tensor inlined (refs consumed in {@link collectExternal}'s
 * order), or undefined when nothing in it changed (the caller then keeps the original bytes).
 */
function rewrite(
  buf: Uint8Array,
  start: number,
  end: number,
  kind: string,
  refs: Iterator<ExternalRef>,
  dataFor: (ref: ExternalRef) => Uint8Array,
): Uint8Array[] | undefined {
  if (kind === 'tensor') {
    if (!isExternalTensor(buf, start, end)) return undefined;
    const ref = refs.next().value as ExternalRef;
    const out: Uint8Array[] = [];
    for (const f of fieldsOf(buf, start, end))
      if (
        f.number !== TENSOR_EXTERNAL_DATA &&
        f.number !== TENSOR_DATA_LOCATION &&
        f.number !== TENSOR_RAW_DATA
      )
        out.push(buf.subarray(f.start, f.end));
    const data = dataFor(ref);
    out.push(lengthDelimitedHeader(TENSOR_RAW_DATA, data.byteLength), data);
    return out;
  }
  const schema = SCHEMAS[kind] as Schema;
  let out: Uint8Array[] | undefined;
  let copiedTo = start;
  for (const f of fieldsOf(buf, start, end)) {
    const child = f.wireType === 2 ? schema[f.number] : undefined;
    if (!child) continue;
    const inner = rewrite(buf, f.payload, f.end, child, refs, dataFor);
    if (!inner) continue;
    out ??= [];
    if (f.start > copiedTo) out.push(buf.subarray(copiedTo, f.start));
    out.push(lengthDelimitedHeader(f.number, byteLength(inner)), ...inner);
    copiedTo = f.end;
  }
  if (!out) return undefined;
  if (end > copiedTo) out.push(buf.subarray(copiedTo, end));
  return out;
}

/** `data_location` is EXTERNAL (the last occurrence wins, as protobuf parsers read a repeated scalar). */
function isExternalTensor(buf: Uint8Array, start: number, end: number): boolean {
  let external = false;
  for (const f of fieldsOf(buf, start, end))
    if (f.number === TENSOR_DATA_LOCATION && f.wireType === 0) external = f.value === DATA_LOCATION_EXTERNAL;
  return external;
}

function lengthDelimitedHeader(field: number, length: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = field * 8 + 2; ; v = Math.floor(v / 128)) {
    if (v < 128) {
      bytes.push(v);
      break;
    }
    bytes.push((v % 128) | 0x80);
  }
  for (let v = length; ; v = Math.floor(v / 128)) {
    if (v < 128) {
      bytes.push(v);
      break;
    }
    bytes.push((v % 128) | 0x80);
  }
  return Uint8Array.from(bytes);
}

function byteLength(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  return n;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = Buffer.allocUnsafe(byteLength(chunks));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
