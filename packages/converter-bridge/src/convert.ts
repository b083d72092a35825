/**
 * PyTorch checkpoint → ONNX, by running `python/export_onnx.py` and reading its JSON-lines protocol.
 * @module
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ConverterError, type ConverterErrorCode, invalidOption } from './errors.js';
import { exportScriptPath, resolvePython } from './python.js';

/** Options of {@link convertCheckpoint}. */
export interface ConvertOptions {
  /** `seed-resnet18`, a torchvision.models builder (`resnet18`, `mobilenet_v2`, …) or `module.path:ClassName`. */
  arch: string;
  /** The checkpoint: a state_dict file (`{'state_dict': …}` / `{'model': …}` wrappers and `module.` prefixes are handled). */
  weights: string;
  /** Where to write the `.onnx` file; parity files go beside it (`<out>.parity.json`, `<out>.parity.bin`). */
  out: string;
  /** ONNX opset. Default: the highest both the installed torch exports and onnxruntime 1.30 runs (17 with torch 1.13). */
  opset?: number;
  /** Input height = width in pixels. Default 224. */
  inputSize?: number;
  /** Fix the batch axis to 1 instead of a dynamic `batch` dimension. Default false. */
  staticBatch?: boolean;
  /** Passed to the architecture as `num_classes` (e.g. a fine-tuned 10-class head). Default: the architecture's own. */
  numClasses?: number;
  /** Extra constructor keyword arguments (JSON-serialisable). */
  archKwargs?: Record<string, unknown>;
  /** Folders added to Python's `sys.path` to import `module.path:ClassName`. */
  modulePaths?: string[];
  /** Python interpreter. Default: `MTAILOR_PYTHON`, else `/usr/bin/python3` if it exists, else `python3`. */
  python?: string;
  /** Images for the parity vectors (torchvision preprocessing). Default: seeded random inputs. */
  calibrationImages?: string[];
  /** Number of random parity inputs when no calibration images are given. Default 4. */
  paritySamples?: number;
  /** Seed of the random parity inputs. Default 0. */
  seed?: number;
  /** Skip the parity vectors. Default false. */
  noParity?: boolean;
  /**
   * Load the checkpoint with full pickle instead of `weights_only=True`. Unpickling runs code from the file: only
   * for checkpoints you trust (e.g. holding optimizer state or a whole nn.Module). Default false.
   */
  allowPickle?: boolean;
  /** Called for every progress line of the export script. */
  onProgress?: (progress: ConvertProgress) => void;
  /** Cancels the conversion (the Python process is killed; the error has code ABORTED). */
  signal?: AbortSignal;
}

/** One progress line of the export script. */
export interface ConvertProgress {
  /** Machine-readable stage: import, build, weights, probe, export, check, parity. */
  stage: string;
  /** 1-based step number. */
  step: number;
  /** Number of steps. */
  total: number;
  /** Human-readable description. */
  message: string;
}

/** What {@link convertCheckpoint} produced. */
export interface ConvertResult {
  /** Absolute path of the written ONNX model. */
  modelPath: string;
  /** Absolute path of `<out>.parity.json` (undefined with `noParity`). */
  parityFile: string | undefined;
  /** Absolute path of `<out>.parity.bin` (undefined with `noParity`). */
  parityBinary: string | undefined;
  /** The architecture as given. */
  arch: string;
  /** ai.onnx opset of the export. */
  opset: number;
  /** IR version of the written model (null when the `onnx` Python package is not installed). */
  irVersion: number | null;
  /** `['batch', 3, S, S]`, or `[1, 3, S, S]` with a static batch. */
  inputShape: (number | string)[];
  /** `['batch', classes]`, or `[1, classes]` with a static batch. */
  outputShape: (number | string)[];
  /** Number of classes of the logits. */
  numClasses: number;
  /** Whether the batch axis is dynamic. */
  dynamicBatch: boolean;
  /** Size of the ONNX file in bytes. */
  fileBytes: number;
  /** `weights_only` (safe) or `pickle` (with allowPickle). */
  weightsLoad: 'weights_only' | 'pickle';
  /** Version of the torch that exported the model. */
  torchVersion: string;
  /** Version of torchvision (null when not installed). */
  torchvisionVersion: string | null;
  /** Version of the `onnx` Python package that checked the model (null when not installed). */
  onnxVersion: string | null;
  /** Result of `onnx.checker.check_model` ("passed" or why it was skipped). */
  onnxChecker: string;
  /** Interpreter that ran the export. */
  python: string;
  /** Wall time of the Python side in seconds. */
  seconds: number;
}

const SCRIPT_CODES: readonly ConverterErrorCode[] = [
  'TORCH_MISSING',
  'TORCHVISION_MISSING',
  'UNKNOWN_ARCH',
  'ARCH_INIT_FAILED',
  'WEIGHTS_NOT_FOUND',
  'WEIGHTS_UNREADABLE',
  'WEIGHTS_MISMATCH',
  'EXPORT_FAILED',
  'CALIBRATION_FAILED',
  'OUTPUT_NOT_WRITABLE',
  'OPSET_UNSUPPORTED',
];

/**
 * Convert a PyTorch image-classifier checkpoint to ONNX (input `input` [batch,3,S,S], output `logits`
 * [batch,classes]) and write parity vectors beside it. Runs `python/export_onnx.py`; nothing is downloaded.
 *
 * @throws {ConverterError} PYTHON_NOT_FOUND, TORCH_MISSING, UNKNOWN_ARCH, WEIGHTS_MISMATCH, EXPORT_FAILED, … .
 *
 * @example
 * ```ts
 * import { convertCheckpoint, validateModel, checkParity } from '@mtailor/converter-bridge';
 * const result = await convertCheckpoint({
 *   arch: 'mobilenet_v2',
 *   weights: '../shared/models/mobilenet_v2_imagenet.pth',
 *   out: 'tmp/mobilenet_v2.onnx',
 *   onProgress: (p) => console.log(`[${p.step}/${p.total}] ${p.message}`),
 * });
 * const report = await validateModel(result.modelPath, { numClasses: 1000 });
 * const parity = await checkParity(result.modelPath, result.parityFile!);
 * console.log(report.ok, parity.maxAbsDiff, parity.top1Agreement);
 * ```
 */
export async function convertCheckpoint(options: ConvertOptions): Promise<ConvertResult> {
  const args = scriptArguments(options);
  const python = resolvePython(options.python);
  return runExportScript(python, args, options.onProgress, options.signal);
}

function scriptArguments(o: ConvertOptions): string[] {
  if (typeof o !== 'object' || o === null) throw invalidOption('options', 'object', o);
  const args: string[] = [];
  const text = (name: keyof ConvertOptions, flag: string): void => {
    const v = o[name];
    if (typeof v !== 'string' || v.length === 0) throw invalidOption(name, 'non-empty string', v);
    args.push(`${flag}=${v}`); // `=` keeps a value starting with '-' from being read as a flag
  };
  const count = (name: keyof ConvertOptions, flag: string, min: number): void => {
    const v = o[name];
    if (v === undefined) return;
    if (!Number.isInteger(v) || (v as number) < min)
      throw invalidOption(name, min === 0 ? 'non-negative integer' : 'positive integer', v);
    args.push(flag, String(v));
  };
  const flag = (name: keyof ConvertOptions, cli: string): void => {
    const v = o[name];
    if (v === undefined) return;
    if (typeof v !== 'boolean') throw invalidOption(name, 'boolean', v);
    if (v) args.push(cli);
  };
  const texts = (name: keyof ConvertOptions): string[] | undefined => {
    const v = o[name];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s.length === 0))
      throw invalidOption(name, 'array of non-empty strings', v);
    return v as string[];
  };
  text('arch', '--arch');
  text('weights', '--weights');
  text('out', '--out');
  if (o.python !== undefined && (typeof o.python !== 'string' || o.python.length === 0))
    throw invalidOption('python', 'non-empty string', o.python);
  count('opset', '--opset', 1);
  count('inputSize', '--input-size', 1);
  count('numClasses', '--num-classes', 1);
  count('paritySamples', '--parity-samples', 1);
  count('seed', '--seed', 0);
  flag('staticBatch', '--static-batch');
  flag('noParity', '--no-parity');
  flag('allowPickle', '--allow-pickle');
  if (o.archKwargs !== undefined) {
    if (typeof o.archKwargs !== 'object' || o.archKwargs === null || Array.isArray(o.archKwargs))
      throw invalidOption('archKwargs', 'plain object', o.archKwargs);
    args.push('--arch-kwargs', JSON.stringify(o.archKwargs));
  }
  for (const folder of texts('modulePaths') ?? []) args.push(`--module-path=${folder}`);
  const images = texts('calibrationImages');
  if (images !== undefined) {
    if (images.length === 0) throw invalidOption('calibrationImages', 'non-empty array', images);
    args.push('--calibration-images', ...images.map((image) => path.resolve(image))); // absolute: never read as a flag
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function')
    throw invalidOption('onProgress', 'function', o.onProgress);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    throw invalidOption('signal', 'AbortSignal', o.signal);
  return args;
}

interface ScriptLine {
  event?: unknown;
  [key: string]: unknown;
}

function runExportScript(
  python: string,
  args: string[],
  onProgress: ((p: ConvertProgress) => void) | undefined,
  signal: AbortSignal | undefined,
): Promise<ConvertResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ConverterError('ABORTED', 'Conversion aborted before it started'));
      return;
    }
    const child = spawn(python, ['-u', exportScriptPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    let stderrTail = '';
    let result: ConvertResult | undefined;
    let failure: Error | undefined;
    let spawnError: NodeJS.ErrnoException | undefined;
    const onAbort = (): void => {
      failure = new ConverterError('ABORTED', 'Conversion aborted');
      child.kill('SIGTERM');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-8000); // enough for a Python traceback, bounded
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = parseLine(line);
      if (!msg) return;
      if (msg.event === 'progress') {
        try {
          onProgress?.(msg as unknown as ConvertProgress);
        } catch (err) {
          // The caller's callback failed: stop the export and hand its error back instead of crashing the process.
          failure ??= err instanceof Error ? err : new Error(String(err));
          child.kill('SIGTERM');
        }
      } else if (msg.event === 'done') result = toResult(msg);
      else if (msg.event === 'error') failure ??= scriptError(msg);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError = err;
    });
    child.on('close', (exitCode, exitSignal) => {
      signal?.removeEventListener('abort', onAbort);
      if (spawnError) {
        reject(
          new ConverterError(
            'PYTHON_NOT_FOUND',
            `Cannot start Python interpreter '${python}' (${spawnError.code ?? spawnError.message}). ` +
              'Pass python / --python, or set MTAILOR_PYTHON to an interpreter with torch installed.',
            { cause: spawnError, details: { python } },
          ),
        );
      } else if (failure) reject(failure);
      else if (result && exitCode === 0) resolve(result);
      else
        reject(
          new ConverterError(
            'PYTHON_FAILED',
            `The export script (${python}) ended with ${exitSignal ? `signal ${exitSignal}` : `exit code ${exitCode}`} ` +
              `and no result.${stderrTail ? `\n${stderrTail.trim()}` : ''}`,
            { details: { python, exitCode, signal: exitSignal, stderr: stderrTail } },
          ),
        );
    });
  });
}

function parseLine(line: string): ScriptLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null ? (v as ScriptLine) : undefined;
  } catch {
    return undefined;
  }
}

function scriptError(msg: ScriptLine): ConverterError {
  const code = SCRIPT_CODES.includes(msg.code as ConverterErrorCode)
    ? (msg.code as ConverterErrorCode)
    : 'PYTHON_FAILED';
  const details = typeof msg.details === 'object' && msg.details !== null ? msg.details : undefined;
  return new ConverterError(code, String(msg.message ?? 'export failed'), {
    details: details as Record<string, unknown> | undefined,
  });
}

function toResult(msg: ScriptLine): ConvertResult {
  const parity = msg.parity as { json: string; bin: string } | null;
  return {
    modelPath: String(msg.out),
    parityFile: parity?.json,
    parityBinary: parity?.bin,
    arch: String(msg.arch),
    opset: Number(msg.opset),
    irVersion: typeof msg.irVersion === 'number' ? msg.irVersion : null,
    inputShape: msg.inputShape as (number | string)[],
    outputShape: msg.outputShape as (number | string)[],
    numClasses: Number(msg.numClasses),
    dynamicBatch: Boolean(msg.dynamicBatch),
    fileBytes: Number(msg.fileBytes),
    weightsLoad: msg.weightsLoad === 'pickle' ? 'pickle' : 'weights_only',
    torchVersion: String(msg.torchVersion),
    torchvisionVersion: typeof msg.torchvisionVersion === 'string' ? msg.torchvisionVersion : null,
    onnxVersion: typeof msg.onnxVersion === 'string' ? msg.onnxVersion : null,
    onnxChecker: String(msg.onnxChecker),
    python: String(msg.python),
    seconds: Number(msg.seconds),
  };
}
