/**
 * {@link ONNXModel}: one onnxruntime session for an image classifier — tensor → session → logits.
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';
import {
  DisposedError,
  InferenceError,
  InvalidOptionError,
  ModelLoadError,
  ModelShapeError,
} from '../errors.js';
import * as is from '../is.js';
import { readModelFile } from './model-file.js';
import {
  type ExecutionProviderName,
  type ModelOptions,
  optionsKey,
  type ResolvedModelOptions,
  resolveModelOptions,
  toSessionOptions,
} from './session-options.js';
import {
  type ClassifierSignature,
  classifierSignature,
  describeTensors,
  type InputLayout,
  type TensorInfo,
} from './signature.js';

/** The process-wide state of one loaded model: the session and what we read from it. */
interface SharedSession {
  key: string;
  session: ort.InferenceSession;
  source: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  signature: ClassifierSignature & { numClasses: number };
  options: ResolvedModelOptions;
  provider: ExecutionProviderName;
  fallbackMessage: string | undefined;
  handles: number;
}

/**
 * Sessions by model identity (resolved path, or SHA-256 of the bytes) and options. A model is loaded once per
 * process: every {@link ONNXModel.load} of the same model with the same options shares one session, which is
 * released when the last handle is disposed. Loading in progress is shared too, so concurrent loads do not race.
 */
const sessions = new Map<string, Promise<SharedSession>>();

/**
 * An ONNX image classifier on onnxruntime-node: loads the model, checks it is a classifier, runs batches.
 *
 * Each `load` returns its own handle on a process-wide shared session (one session per model and options for
 * the life of the process); `dispose()` releases this handle, and the session goes when the last handle does.
 * Files are keyed by their real path: a model file replaced on disk is read again only once every handle on the
 * old session is disposed.
 *
 * @example
 * ```ts
 * import { ONNXModel } from '@mtailor/core';
 * const model = await ONNXModel.load('../shared/models/mobilenet_v2_int8_qdq.onnx');
 * console.log(model.inputLayout, model.inputSize, model.batchDim, model.numClasses); // NCHW {224×224} dynamic 1000
 * const logits = await model.run(new Float32Array(3 * 224 * 224), 1); // Float32Array(1000)
 * model.dispose();
 * ```
 */
export class ONNXModel {
  readonly #shared: SharedSession;
  #disposed = false;

  private constructor(shared: SharedSession) {
    this.#shared = shared;
  }

  /**
   * Loads a model from a file path or its bytes, or returns a new handle on the session already loaded for it.
   *
   * A model file with external data (weights in a file beside it, e.g. `model.onnx.data`) is read with that data
   * from the model's own folder, whatever the working directory; bytes are handed to onnxruntime as they are.
   *
   * @throws {@link ModelLoadError} when the file cannot be read or onnxruntime refuses it.
   * @throws {@link ExternalDataMissingError} when its external-data file is missing, unreadable or too short.
   * @throws {@link ExternalDataPathError} when it names external data outside its own folder.
   * @throws {@link ModelShapeError} when the model is not an image classifier (the message says what is wrong).
   * @throws {@link InvalidOptionError} for a bad option.
   */
  static async load(model: string | Uint8Array, options: ModelOptions = {}): Promise<ONNXModel> {
    const resolved = resolveModelOptions(options);
    let identity: string;
    if (typeof model === 'string') {
      if (!is.nonEmptyString(model)) throw is.invalidParameterError('model', 'path or bytes', model);
      try {
        identity = `path:${await realpath(model)}`;
      } catch (err) {
        throw new ModelLoadError(`Cannot read model file ${model}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    } else if (model instanceof Uint8Array) {
      if (model.byteLength === 0) throw new ModelLoadError('Cannot load a model from 0 bytes');
      identity = `sha256:${createHash('sha256').update(model).digest('hex')}`;
    } else {
      throw is.invalidParameterError('model', 'path or Uint8Array', model);
    }
    const key = `${identity}|${optionsKey(resolved)}`;
    let pending = sessions.get(key);
    if (!pending) {
      pending = createShared(key, model, resolved);
      sessions.set(key, pending);
      pending.catch(() => sessions.delete(key));
    }
    const shared = await pending;
    shared.handles += 1;
    return new ONNXModel(shared);
  }

  /** The model file's path, or `'<bytes>'` for a model loaded from memory. */
  get source(): string {
    return this.#shared.source;
  }
  /** All inputs as onnxruntime reports them (names, element types, shapes with symbolic dims as names). */
  get inputs(): readonly TensorInfo[] {
    return this.#shared.inputs;
  }
  /** All outputs as onnxruntime reports them. */
  get outputs(): readonly TensorInfo[] {
    return this.#shared.outputs;
  }
  /** Name of the image input. */
  get inputName(): string {
    return this.#shared.signature.input.name;
  }
  /** Name of the `[N, C]` output. */
  get outputName(): string {
    return this.#shared.signature.output.name;
  }
  /** `'NCHW'` or `'NHWC'`. */
  get inputLayout(): InputLayout {
    return this.#shared.signature.inputLayout;
  }
  /** Image size the model takes. */
  get inputSize(): { readonly width: number; readonly height: number } {
    return this.#shared.signature.inputSize;
  }
  /** The fixed batch size, or `'dynamic'`. */
  get batchDim(): number | 'dynamic' {
    return this.#shared.signature.batchDim;
  }
  /** Number of classes (the output's C). */
  get numClasses(): number {
    return this.#shared.signature.numClasses;
  }
  /** Floats per image in the input tensor (3 · H · W). */
  get inputElementsPerImage(): number {
    const { width, height } = this.#shared.signature.inputSize;
    return 3 * width * height;
  }
  /** The options in effect, defaults filled in. */
  get options(): Readonly<ResolvedModelOptions> {
    return this.#shared.options;
  }
  /** The execution provider actually running the model. */
  get executionProvider(): ExecutionProviderName {
    return this.#shared.provider;
  }
  /** Why a requested provider (CUDA) is not used, or `undefined` when everything asked for is in use. */
  get fallbackMessage(): string | undefined {
    return this.#shared.fallbackMessage;
  }
  /** True after {@link ONNXModel.dispose}. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * Runs `batchSize` images and returns their scores, `batchSize × numClasses` floats, image after image.
   * With a fixed batch dim the batch is split into runs of that size.
   *
   * @param batch - `batchSize` images in the model's layout, `batchSize × 3 × H × W` floats.
   * @throws {@link InvalidOptionError} when the tensor length does not match `batchSize`.
   * @throws {@link InferenceError} when onnxruntime fails.
   * @throws {@link DisposedError} after `dispose()`.
   */
  async run(batch: Float32Array, batchSize: number): Promise<Float32Array> {
    if (this.#disposed) throw new DisposedError('ONNXModel');
    if (!(batch instanceof Float32Array)) throw is.invalidParameterError('batch', 'Float32Array', batch);
    if (!is.positiveInteger(batchSize))
      throw is.invalidParameterError('batchSize', 'positive integer', batchSize);
    const perImage = this.inputElementsPerImage;
    if (batch.length !== batchSize * perImage)
      throw new InvalidOptionError(
        `Expected ${batchSize} × ${perImage} = ${batchSize * perImage} floats for batch but received ${batch.length}`,
      );
    const fixed = this.batchDim;
    if (fixed === 'dynamic') return runSession(this.#shared, batch, batchSize);
    if (batchSize % fixed !== 0)
      throw new InvalidOptionError(
        `Expected a multiple of the model's fixed batch size ${fixed} for batchSize but received ${batchSize} of type number`,
      );
    if (batchSize === fixed) return runSession(this.#shared, batch, batchSize);
    const out = new Float32Array(batchSize * this.numClasses);
    for (let start = 0; start < batchSize; start += fixed) {
      const part = batch.subarray(start * perImage, (start + fixed) * perImage);
      out.set(await runSession(this.#shared, part, fixed), start * this.numClasses);
    }
    return out;
  }

  /**
   * Runs a blank batch `runs` times so that the first real request does not pay for onnxruntime's lazy
   * initialisation (memory arenas, kernel selection, pre-packed weights).
   */
  async warmup(runs = 1): Promise<void> {
    if (!is.positiveInteger(runs)) throw is.invalidParameterError('runs', 'positive integer', runs);
    const n = this.batchDim === 'dynamic' ? 1 : this.batchDim;
    const blank = new Float32Array(n * this.inputElementsPerImage);
    for (let i = 0; i < runs; i++) await this.run(blank, n);
  }

  /** Releases this handle; the session itself is released when the last handle on it is disposed. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const shared = this.#shared;
    shared.handles -= 1;
    if (shared.handles === 0) {
      sessions.delete(shared.key);
      void shared.session.release().catch(() => {});
    }
  }

  /** Versions of onnxruntime-node and its native runtime. */
  static get runtimeVersion(): string {
    return ort.env.versions.node ?? ort.env.versions.common;
  }
}

async function runSession(
  shared: SharedSession,
  batch: Float32Array,
  batchSize: number,
): Promise<Float32Array> {
  const { signature } = shared;
  const { width, height } = signature.inputSize;
  const dims =
    signature.inputLayout === 'NCHW' ? [batchSize, 3, height, width] : [batchSize, height, width, 3];
  let result: ort.InferenceSession.OnnxValueMapType;
  try {
    result = await shared.session.run({ [signature.input.name]: new ort.Tensor('float32', batch, dims) });
  } catch (err) {
    throw new InferenceError(`onnxruntime failed on ${shared.source}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const output = result[signature.output.name] as ort.Tensor | undefined;
  const expected = batchSize * signature.numClasses;
  if (!output || !(output.data instanceof Float32Array) || output.data.length !== expected)
    throw new InferenceError(
      `${shared.source}: output "${signature.output.name}" has ${output ? `dims [${output.dims.join(', ')}]` : 'no value'}; expected [${batchSize}, ${signature.numClasses}] float32`,
    );
  return output.data;
}

function firstLine(message: string): string {
  // onnxruntime's messages embed ANSI colours, timestamps and source paths; keep the part a person needs.
  const plain = message.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
  const lib = /Failed to load library (\S+)/.exec(plain);
  return lib ? `cannot load ${lib[1]}` : (plain.split('\n')[0] ?? plain);
}

async function createSession(
  model: string | Uint8Array,
  options: ResolvedModelOptions,
  providers: readonly ExecutionProviderName[],
): Promise<ort.InferenceSession> {
  const sessionOptions = toSessionOptions(options, providers);
  return typeof model === 'string'
    ? ort.InferenceSession.create(model, sessionOptions)
    : ort.InferenceSession.create(model, sessionOptions);
}

async function createShared(
  key: string,
  model: string | Uint8Array,
  options: ResolvedModelOptions,
): Promise<SharedSession> {
  const source = typeof model === 'string' ? model : '<bytes>';
  // A file is read with its external data (beside the model, from any working directory) inlined.
  const bytes = typeof model === 'string' ? (await readModelFile(model)).model : model;
  let providers = options.executionProviders;
  let fallbackMessage: string | undefined;
  const fallBackToCpu = (reason: string): void => {
    fallbackMessage = `CUDA execution provider unavailable (${reason}); running ${source} on CPU`;
    providers = providers.filter((p) => p !== 'cuda');
    if (providers.length === 0) providers = ['cpu'];
    process.emitWarning(fallbackMessage, { code: 'MTAILOR_CUDA_FALLBACK' });
  };
  const cudaLibrary = providers.includes('cuda') ? missingCudaProvider() : undefined;
  if (cudaLibrary) fallBackToCpu(`${cudaLibrary} is not installed; onnxruntime-node ships a CPU-only build`);
  let session: ort.InferenceSession;
  try {
    session = await createSession(bytes, options, providers);
  } catch (err) {
    if (!providers.includes('cuda')) throw loadError(source, err);
    fallBackToCpu(firstLine((err as Error).message));
    try {
      session = await createSession(bytes, options, providers);
    } catch (err2) {
      throw loadError(source, err2);
    }
  }
  try {
    const inputs = describeTensors(session.inputMetadata);
    const outputs = describeTensors(session.outputMetadata);
    const signature = classifierSignature(source, inputs, outputs);
    const shared: SharedSession = {
      key,
      session,
      source,
      inputs,
      outputs,
      signature: { ...signature, numClasses: signature.numClasses ?? 0 },
      options,
      provider: providers[0] ?? 'cpu',
      fallbackMessage,
      handles: 0,
    };
    if (signature.numClasses === undefined) shared.signature.numClasses = await probeNumClasses(shared);
    return shared;
  } catch (err) {
    await session.release().catch(() => {});
    throw err;
  }
}

/** Learns a symbolic class dim by running one blank image. */
async function probeNumClasses(shared: SharedSession): Promise<number> {
  const { signature } = shared;
  const n = signature.batchDim === 'dynamic' ? 1 : signature.batchDim;
  const { width, height } = signature.inputSize;
  const dims = signature.inputLayout === 'NCHW' ? [n, 3, height, width] : [n, height, width, 3];
  const result = await shared.session.run({
    [signature.input.name]: new ort.Tensor('float32', new Float32Array(n * 3 * width * height), dims),
  });
  const out = result[signature.output.name] as ort.Tensor | undefined;
  const c = out?.dims[1];
  if (out?.dims.length !== 2 || c === undefined || c < 1)
    throw new ModelShapeError(
      `${shared.source}: output "${signature.output.name}" produced dims [${out?.dims.join(', ') ?? ''}]; expected [N, C]`,
    );
  return c;
}

/**
 * The CUDA provider library's path when it is missing beside onnxruntime-node's binding (the default npm
 * install is CPU-only), else `undefined`. Checking first avoids onnxruntime's own multi-line load-failure log.
 */
function missingCudaProvider(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    const dir = path.join(path.dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
    const lib = path.join(
      dir,
      process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so',
    );
    return existsSync(lib) ? undefined : lib;
  } catch {
    return undefined;
  }
}

function loadError(source: string, err: unknown): ModelLoadError {
  return new ModelLoadError(`onnxruntime cannot load ${source}: ${firstLine((err as Error).message)}`, {
    cause: err,
  });
}
