/**
 * PyTorch checkpoint → ONNX, by running `python/export_onnx.py` and reading its JSON-lines protocol.
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { PreprocessRecipe } from '@mtailor/preprocess';
import { ConverterError, type ConverterErrorCode, invalidOption } from './errors.js';
import { describeHubTransform, type HubTransform, recipeFromHub } from './hub-recipes.js';
import {
  defaultManifestPath,
  loadRecipe,
  recipeFromTorchvision,
  recipeSquareSize,
  relativeToManifest,
  seedRecipe,
  type TorchvisionEvalTransform,
  type WrittenManifest,
  writeManifest,
} from './manifest.js';
import { exportScriptPath, resolvePython } from './python.js';

/** Options of {@link convertCheckpoint}. */
export interface ConvertOptions {
  /**
   * `seed-resnet18`, a torchvision.models builder (`resnet18`, `mobilenet_v2`, …), `timm:<model>[.<tag>]` (e.g.
   * `timm:convnext_tiny.in12k_ft_in1k`: built with `timm.create_model(name, pretrained=False)`, the tag selects its
   * pretrained config) or `module.path:ClassName`. Not with `hf`.
   */
  arch?: string;
  /**
   * The checkpoint: a state_dict file (`{'state_dict': …}` / `{'model': …}` wrappers and `module.` prefixes are
   * handled); for `timm:` also a `.safetensors` file or a timm Hugging Face-format folder (`config.json` with
   * `pretrained_cfg` + `model.safetensors`). Not with `hf`.
   */
  weights?: string;
  /**
   * A Hugging Face transformers `save_pretrained` folder (`config.json` with `id2label`, the weights,
   * `preprocessor_config.json`) of an `AutoModelForImageClassification` model, instead of `arch` + `weights`. The
   * ONNX model returns its logits; the manifest's labels come from `id2label` and its recipe from the image processor.
   */
  hf?: string;
  /**
   * With `hf`: which of transformers' image processor classes the manifest's recipe reproduces — `'pil'`
   * (`XImageProcessorPil`) or `'torchvision'` (`XImageProcessor`). Default: the one `AutoImageProcessor` picks in
   * the installed transformers (torchvision in 5.x). The manifest's description records it.
   */
  hfBackend?: 'pil' | 'torchvision';
  /** Where to write the `.onnx` file; parity files go beside it (`<out>.parity.json`, `<out>.parity.bin`). */
  out: string;
  /**
   * ONNX opset. Default: the highest both the exporter and onnxruntime 1.30 run (17 with torch 1.13; with torch
   * 2.14, 23 for the new exporter and 20 for the TorchScript one).
   */
  opset?: number;
  /**
   * Which torch exporter: `'dynamo'` (torch's new exporter, `torch.onnx.export(dynamo=True)`: torch.export +
   * onnxscript, needs torch ≥ 2.5 and the onnxscript package) or `'torchscript'` (the TorchScript one). Default:
   * `'dynamo'` on torch ≥ 2.9, where it is torch's own default, `'torchscript'` before.
   */
  exporter?: 'dynamo' | 'torchscript';
  /**
   * Store the weights in `<out>.data` beside the model. Default false: one self-contained `.onnx` file (what
   * Cerebrium, KServe and browsers deploy), unless the model is too large for one protobuf (2 GB), where the data
   * file is needed anyway. A data file must travel with its model; the manifest names it.
   */
  externalData?: boolean;
  /**
   * Input height = width in pixels. Default: the crop size of the torchvision weights' evaluation transform
   * (299 for inception_v3, 518 for vit_h_14, …), else the size `recipe` produces, else 224.
   */
  inputSize?: number;
  /**
   * torchvision builders only: the weights entry the checkpoint follows — `'DEFAULT'` (default), an entry name
   * such as `'IMAGENET1K_V1'`, or `'none'`. The model is built with the constructor arguments the builder uses
   * for those weights (e.g. `transform_input=True` for inception_v3 / googlenet, `image_size` for the ViTs), and
   * the manifest's recipe is their evaluation transform. Only metadata is read; nothing is downloaded. `'none'`
   * builds as `weights=None` and needs `recipe` for a manifest.
   */
  torchvisionWeights?: string;
  /**
   * The manifest's preprocessing: a `@mtailor/preprocess` preset name (`'resize-224'`, `'imagenet-eval'`), a
   * recipe object, or the path of a JSON recipe file. Default: the torchvision weights' evaluation transform;
   * `'resize-224'` for `seed-resnet18`; none for `module:Class` (then no manifest is written).
   */
  recipe?: string | PreprocessRecipe;
  /**
   * The manifest's labels: `'imagenet1k'`, the path of a labels file (one per line or a JSON array) or the labels.
   * Default: `'imagenet1k'` for 1000-class ImageNet weights of torchvision and for `seed-resnet18`; otherwise
   * none (then no manifest is written).
   */
  labels?: string | string[];
  /**
   * Where to write the manifest (default `<out minus .onnx>.manifest.json`), or `false` for none. The manifest
   * holds the model file, the recipe, the labels and the class count, as `@mtailor/core` reads it.
   */
  manifest?: string | false;
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
   * Also run the parity inputs through the model in float64 and record, per sample, how far PyTorch's own float32
   * logits are from those: `checkParity` then never asks an export to be more exact than float32 arithmetic is in
   * this network (see `float32ErrorFactor`). Costs one float64 pass over the parity inputs. Default true.
   */
  float64Reference?: boolean;
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
  /** The torch exporter used: `'dynamo'` (the new one) or `'torchscript'`. */
  exporter: 'dynamo' | 'torchscript';
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
  /** `weights_only` (safe), `pickle` (with allowPickle) or `safetensors` (timm and Hugging Face weights). */
  weightsLoad: 'weights_only' | 'pickle' | 'safetensors';
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
  /** Wall time of `torch.onnx.export` alone, in seconds. */
  exportSeconds: number;
  /** Number of nodes of the exported graph (null when the `onnx` Python package is not installed). */
  nodeCount: number | null;
  /**
   * Name of the external-data file beside the model (`<out>.data`: with `externalData`, or for a model over 2 GB),
   * null when the model is one self-contained file.
   */
  externalData: string | null;
  /** The torchvision weights entry whose metadata was used (e.g. `MobileNet_V2_Weights.IMAGENET1K_V2`), or null. */
  torchvisionWeights: string | null;
  /** Constructor arguments the model was built with (the weights' implied ones and `archKwargs`). */
  builderKwargs: Record<string, unknown>;
  /** The torchvision weights' evaluation transform, or null. */
  evalTransform: TorchvisionEvalTransform | null;
  /** timm's evaluation transform or the transformers image processor of a hub model, or null. */
  hubTransform: HubTransform | null;
  /** Absolute path of the written manifest, or undefined when none was written (see `manifestSkipped`). */
  manifestPath: string | undefined;
  /** The manifest as written. */
  manifest: WrittenManifest | undefined;
  /** Why no manifest was written (`manifest: false`, or the recipe or labels are unknown). */
  manifestSkipped: string | undefined;
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
  'EXPORTER_UNSUPPORTED',
  'CALIBRATION_FAILED',
  'OUTPUT_NOT_WRITABLE',
  'OPSET_UNSUPPORTED',
  'ARCH_UNSUPPORTED',
  'RECIPE_UNSUPPORTED',
  'TORCHVISION_WEIGHTS_UNKNOWN',
  'TIMM_MISSING',
  'TRANSFORMERS_MISSING',
  'HF_FOLDER_INVALID',
  'HF_PREPROCESSOR_MISSING',
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
  const plan = manifestPlan(options);
  if (plan.recipe !== undefined || plan.manifestPath === undefined) args.push('--recipe-given');
  if (options.inputSize === undefined && plan.recipe !== undefined) {
    const size = recipeSquareSize(plan.recipe);
    if (size !== undefined) args.push('--input-size', String(size));
  }
  const python = resolvePython(options.python);
  // A hub model's own preprocessing is turned into a recipe as soon as the script reports it, before the export:
  // one that cannot be reproduced exactly stops the conversion (unless the caller gives the recipe or no manifest).
  let hubRecipe: PreprocessRecipe | undefined;
  const onTransform = (t: HubTransform): void => {
    if (plan.recipe !== undefined || plan.manifestPath === undefined) return;
    hubRecipe = recipeFromHub(t);
  };
  const script = await runExportScript(python, args, options.onProgress, options.signal, onTransform);
  return finishManifest(script, options, plan, hubRecipe);
}

interface ManifestPlan {
  /** Where to write, or undefined for `manifest: false`. */
  manifestPath: string | undefined;
  /** The caller's recipe, loaded and validated. */
  recipe: string | PreprocessRecipe | undefined;
  /** The caller's labels. */
  labels: string | string[] | undefined;
}

/** Everything about the manifest that can be checked before Python starts. */
function manifestPlan(o: ConvertOptions): ManifestPlan {
  if (o.manifest !== undefined && o.manifest !== false && (typeof o.manifest !== 'string' || !o.manifest))
    throw invalidOption('manifest', 'non-empty string or false', o.manifest);
  const manifestPath =
    o.manifest === false
      ? undefined
      : path.resolve(o.manifest === undefined ? defaultManifestPath(path.resolve(o.out)) : o.manifest);
  if (manifestPath !== undefined && manifestPath === path.resolve(o.out))
    throw invalidOption('manifest', 'a path other than the model', o.manifest);
  const recipe = o.recipe === undefined ? undefined : loadRecipe(o.recipe);
  if (recipe !== undefined && o.inputSize !== undefined) {
    const size = recipeSquareSize(recipe);
    if (size !== o.inputSize)
      throw new ConverterError(
        'INVALID_OPTION',
        `The recipe makes ${size === undefined ? 'images whose size is not fixed and square' : `${size}×${size} images`} but inputSize is ${o.inputSize}`,
      );
  } else if (recipe !== undefined && recipeSquareSize(recipe) === undefined)
    throw new ConverterError(
      'INVALID_OPTION',
      'The recipe must end with a square resize or center crop: its output size is the model input size',
    );
  const labels = o.labels;
  if (labels !== undefined) {
    if (Array.isArray(labels)) {
      if (labels.length === 0 || labels.some((l) => typeof l !== 'string'))
        throw invalidOption('labels', 'non-empty array of strings', labels);
    } else if (typeof labels !== 'string' || labels.length === 0)
      throw invalidOption('labels', "'imagenet1k', a labels file or an array of strings", labels);
    else if (labels !== 'imagenet1k' && !(existsSync(labels) && statSync(labels).isFile()))
      throw new ConverterError('INVALID_OPTION', `Labels file not found: ${path.resolve(labels)}`);
  }
  if (
    o.torchvisionWeights !== undefined &&
    (typeof o.torchvisionWeights !== 'string' || !o.torchvisionWeights)
  )
    throw invalidOption('torchvisionWeights', 'non-empty string', o.torchvisionWeights);
  if (
    o.torchvisionWeights !== undefined &&
    (o.arch === undefined || o.arch === 'seed-resnet18' || o.arch.includes(':'))
  )
    throw new ConverterError(
      'INVALID_OPTION',
      `torchvisionWeights applies to torchvision builders, not to ${o.arch}: give recipe (and labels) instead`,
    );
  return { manifestPath, recipe, labels };
}

async function finishManifest(
  script: ScriptResult,
  o: ConvertOptions,
  plan: ManifestPlan,
  hubRecipe: PreprocessRecipe | undefined,
): Promise<ConvertResult> {
  const { result, archKind, labels: scriptLabels } = script;
  const size = result.inputShape[2] as number;
  let recipe = plan.recipe;
  let recipeFrom = recipe === undefined ? '' : 'given';
  if (recipe === undefined && hubRecipe !== undefined && result.hubTransform) {
    recipe = hubRecipe;
    recipeFrom = describeHubTransform(result.hubTransform);
  } else if (recipe === undefined && result.evalTransform) {
    recipe = recipeFromTorchvision(result.evalTransform);
    recipeFrom = `the evaluation transform of torchvision ${result.evalTransform.weights}`;
  } else if (recipe === undefined && archKind === 'seed') {
    recipe = seedRecipe(size);
    recipeFrom = "the seed Classifier's own preprocessing";
  }
  let labels: string | string[] | undefined = plan.labels;
  if (typeof labels === 'string' && labels !== 'imagenet1k') labels = path.resolve(labels);
  labels ??= scriptLabels ?? script.labelNames ?? undefined;
  // A hub model's head without names (e.g. timm's in12k / in22k heads): its class indices.
  if (labels === undefined && result.hubTransform)
    labels = Array.from({ length: result.numClasses }, (_, i) => String(i));
  let skipped: string | undefined;
  if (plan.manifestPath === undefined) skipped = 'no manifest requested (manifest: false)';
  else if (recipe === undefined)
    skipped = `no preprocessing known for ${result.arch}: pass recipe (--recipe <preset|file.json>)`;
  else if (labels === undefined)
    skipped = `no labels known for ${result.numClasses} classes: pass labels (--labels imagenet1k|<file>)`;
  if (
    skipped !== undefined ||
    plan.manifestPath === undefined ||
    recipe === undefined ||
    labels === undefined
  )
    return { ...result, manifestPath: undefined, manifest: undefined, manifestSkipped: skipped };
  if (typeof labels === 'string' && labels !== 'imagenet1k')
    labels = relativeToManifest(plan.manifestPath, labels);
  const description =
    `${result.arch} converted by mtailor from ${path.basename(o.hf ?? o.weights ?? '')} (torch ${result.torchVersion}, ${result.exporter} exporter, opset ${result.opset}); ` +
    `preprocessing: ${recipeFrom}${result.evalTransform && recipeFrom !== 'given' ? ` (${describeTransform(result.evalTransform)})` : ''}`;
  const manifest = await writeManifest(plan.manifestPath, {
    modelPath: result.modelPath,
    recipe,
    labels,
    numClasses: result.numClasses,
    outputKind: 'logits',
    description,
    ...(result.externalData
      ? {
          externalData: relativeToManifest(
            plan.manifestPath,
            path.join(path.dirname(result.modelPath), result.externalData),
          ),
        }
      : {}),
    export: {
      exporter: result.exporter,
      opset: result.opset,
      irVersion: result.irVersion,
      torch: result.torchVersion,
      torchvision: result.torchvisionVersion,
      onnx: result.onnxVersion,
    },
  });
  return { ...result, manifestPath: plan.manifestPath, manifest, manifestSkipped: undefined };
}

function describeTransform(t: TorchvisionEvalTransform): string {
  const resize =
    t.resizeSize.length === 1 ? `shorter side ${t.resizeSize[0]}` : `${t.resizeSize[1]}×${t.resizeSize[0]}`;
  return `resize ${resize} ${t.interpolation}, center crop ${t.cropSize[0]}, mean [${t.mean}], std [${t.std}]`;
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
  if (o.hf !== undefined) {
    text('hf', '--hf');
    if (o.arch !== undefined || o.weights !== undefined)
      throw new ConverterError(
        'INVALID_OPTION',
        'hf takes the model from its folder: give no arch or weights',
      );
    if (o.hfBackend !== undefined) {
      if (o.hfBackend !== 'pil' && o.hfBackend !== 'torchvision')
        throw invalidOption('hfBackend', "'pil' or 'torchvision'", o.hfBackend);
      args.push('--hf-backend', o.hfBackend);
    }
  } else {
    if (o.hfBackend !== undefined) throw new ConverterError('INVALID_OPTION', 'hfBackend applies to hf only');
    text('arch', '--arch');
    text('weights', '--weights');
  }
  text('out', '--out');
  if (o.torchvisionWeights !== undefined) text('torchvisionWeights', '--torchvision-weights');
  if (o.python !== undefined && (typeof o.python !== 'string' || o.python.length === 0))
    throw invalidOption('python', 'non-empty string', o.python);
  count('opset', '--opset', 1);
  count('inputSize', '--input-size', 1);
  count('numClasses', '--num-classes', 1);
  count('paritySamples', '--parity-samples', 1);
  count('seed', '--seed', 0);
  flag('staticBatch', '--static-batch');
  flag('externalData', '--external-data');
  if (o.exporter !== undefined) {
    if (o.exporter !== 'dynamo' && o.exporter !== 'torchscript')
      throw invalidOption('exporter', "'dynamo' or 'torchscript'", o.exporter);
    args.push('--exporter', o.exporter);
  }
  flag('noParity', '--no-parity');
  if (o.float64Reference !== undefined && typeof o.float64Reference !== 'boolean')
    throw invalidOption('float64Reference', 'boolean', o.float64Reference);
  if (o.float64Reference === false) args.push('--no-float64');
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

/** What the export script reports, before the manifest. */
interface ScriptResult {
  result: Omit<ConvertResult, 'manifestPath' | 'manifest' | 'manifestSkipped'>;
  /** 'seed', 'user' or 'torchvision'. */
  archKind: string;
  /** 'imagenet1k' when the script knows the classes are ImageNet's, else null. */
  labels: string | null;
  /** The model's own class names (Hugging Face id2label, a timm folder's label_names), when they fit its head. */
  labelNames: string[] | undefined;
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
  onTransform: (t: HubTransform) => void,
): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ConverterError('ABORTED', 'Conversion aborted before it started'));
      return;
    }
    const child = spawn(python, ['-u', exportScriptPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' },
    });
    let stderrTail = '';
    let result: ScriptResult | undefined;
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
      if (msg.event === 'progress' || msg.event === 'transform') {
        try {
          if (msg.event === 'progress') onProgress?.(msg as unknown as ConvertProgress);
          else onTransform(msg as unknown as HubTransform);
        } catch (err) {
          // The caller's callback failed, or the hub model's preprocessing cannot be reproduced: stop the export
          // and hand that error back instead of crashing the process.
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

function toResult(msg: ScriptLine): ScriptResult {
  const parity = msg.parity as { json: string; bin: string } | null;
  const result: ScriptResult['result'] = {
    modelPath: String(msg.out),
    parityFile: parity?.json,
    parityBinary: parity?.bin,
    arch: String(msg.arch),
    opset: Number(msg.opset),
    exporter: msg.exporter === 'dynamo' ? 'dynamo' : 'torchscript',
    irVersion: typeof msg.irVersion === 'number' ? msg.irVersion : null,
    inputShape: msg.inputShape as (number | string)[],
    outputShape: msg.outputShape as (number | string)[],
    numClasses: Number(msg.numClasses),
    dynamicBatch: Boolean(msg.dynamicBatch),
    fileBytes: Number(msg.fileBytes),
    weightsLoad:
      msg.weightsLoad === 'pickle' || msg.weightsLoad === 'safetensors' ? msg.weightsLoad : 'weights_only',
    torchVersion: String(msg.torchVersion),
    torchvisionVersion: typeof msg.torchvisionVersion === 'string' ? msg.torchvisionVersion : null,
    onnxVersion: typeof msg.onnxVersion === 'string' ? msg.onnxVersion : null,
    onnxChecker: String(msg.onnxChecker),
    python: String(msg.python),
    seconds: Number(msg.seconds),
    exportSeconds: Number(msg.exportSeconds),
    nodeCount: typeof msg.nodeCount === 'number' ? msg.nodeCount : null,
    externalData: typeof msg.externalData === 'string' ? msg.externalData : null,
    torchvisionWeights: typeof msg.torchvisionWeights === 'string' ? msg.torchvisionWeights : null,
    builderKwargs:
      typeof msg.builderKwargs === 'object' && msg.builderKwargs !== null
        ? (msg.builderKwargs as Record<string, unknown>)
        : {},
    evalTransform:
      typeof msg.evalTransform === 'object' && msg.evalTransform !== null
        ? (msg.evalTransform as TorchvisionEvalTransform)
        : null,
    hubTransform:
      typeof msg.hubTransform === 'object' && msg.hubTransform !== null
        ? (msg.hubTransform as HubTransform)
        : null,
  };
  return {
    result,
    archKind: String(msg.archKind),
    labels: typeof msg.labels === 'string' ? msg.labels : null,
    labelNames: Array.isArray(msg.labelNames) ? msg.labelNames.map(String) : undefined,
  };
}
