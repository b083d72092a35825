/**
 * `mtailor convert` — PyTorch checkpoint → ONNX (+ parity vectors), then validate the result and prove parity
 * with onnxruntime. Exit 0 converted and verified, 1 conversion or verification failed, 2 usage error.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  ConverterError,
  type ConvertOptions,
  type ConvertResult,
  checkParity,
  convertCheckpoint,
  DEFAULT_FLOAT32_ERROR_FACTOR,
  DEFAULT_PARITY_ATOL,
  DEFAULT_PARITY_RTOL,
  formatValidationReport,
  type ParityResult,
  type ParityTolerance,
  type ValidationReport,
  validateModel,
} from '@mtailor/converter-bridge';
import { EXIT_USAGE, parityToleranceArgs, parseOrReportUsage, positiveInt, UsageError } from '../args.js';
import type { Command } from '../command.js';

const usage = `Usage: mtailor convert --arch <name> --weights <file.pth> --out <model.onnx> [options]
       mtailor convert --hf <save_pretrained folder> [--hf-backend pil|torchvision] --out <model.onnx> [options]

Exports a PyTorch image classifier to ONNX (input 'input' [batch,3,S,S], output 'logits' [batch,classes]),
writes parity vectors beside it (<out>.parity.json + .parity.bin) and a manifest (<out minus .onnx>.manifest.json:
model file, preprocessing recipe, labels, class count), then validates the model and checks that onnxruntime
reproduces PyTorch's logits. Nothing is downloaded.

  --arch <name>                 seed-resnet18 (the seed's ResNet-18 Classifier), a torchvision.models builder
                                (resnet18, mobilenet_v2, vit_b_16, …), timm:<model>[.<tag>] (e.g.
                                timm:convnext_tiny.in12k_ft_in1k; recipe = timm's eval transform for it) or
                                module.path:ClassName
  --weights <file.pth>          state_dict checkpoint ({'state_dict': …} wrappers, 'module.' prefixes handled);
                                timm: also .safetensors or a timm Hugging Face-format folder
  --hf <folder>                 a Hugging Face transformers save_pretrained image classifier (config.json,
                                weights, preprocessor_config.json) instead of --arch/--weights: exports its logits,
                                labels from id2label, recipe from its image processor
  --hf-backend <pil|torchvision> which transformers image processor class the recipe reproduces (default: the
                                installed transformers' default, torchvision in 5.x)
  --out <model.onnx>            output path
  --torchvision-weights <entry> torchvision builders: the weights entry the checkpoint follows (default DEFAULT;
                                e.g. IMAGENET1K_V1, or none for weights=None). Its metadata gives the constructor
                                arguments, the input size and the manifest's recipe (its evaluation transform)
  --recipe <preset|file.json>   the manifest's preprocessing instead (resize-224, imagenet-eval or a recipe file)
  --labels <imagenet1k|file>    the manifest's labels (default imagenet1k for ImageNet weights and seed-resnet18)
  --manifest <file.json>        where to write the manifest (default <out minus .onnx>.manifest.json)
  --no-manifest                 do not write a manifest
  --opset N                     ai.onnx opset (default: highest the installed torch exports and onnxruntime 1.30 runs)
  --input-size S                input height = width (default: the weights' crop size, else the recipe's, else 224)
  --static-batch                fix the batch axis to 1 (default: dynamic)
  --exporter <dynamo|torchscript>
                                torch's exporter (default: the new one, dynamo, on torch ≥ 2.9; TorchScript before)
  --external-data               weights in <out>.data beside the model (default: one self-contained file unless
                                the model is over 2 GB)
  --num-classes K               num_classes for the architecture (default: its own, 1000 for ImageNet)
  --arch-kwargs <json>          more constructor arguments as a JSON object, e.g. '{"aux_logits": false}'
  --module-path <dir>           folder to import module.path:ClassName from (repeatable)
  --calibration-images <files…> images for the parity vectors (default: seeded random inputs)
  --python <interpreter>        Python with torch (default: $MTAILOR_PYTHON, else /usr/bin/python3, else python3)
  --allow-pickle                load the checkpoint with full pickle (runs code from the file: trusted files only)
  --no-verify                   skip validation and parity after the export
  --rtol X, --atol Y            parity rule |onnx − torch| ≤ Y + X·|torch| for every logit, plus the same top-1
                                on every sample (default rtol ${DEFAULT_PARITY_RTOL}, atol ${DEFAULT_PARITY_ATOL})
  --float32-error-factor K      a sample's atol is at least K × PyTorch's own float32 error on it (max |float32 −
                                float64|, recorded at export time; default ${DEFAULT_FLOAT32_ERROR_FACTOR}, 0 = off)
  --no-float64                  do not record PyTorch's float32-vs-float64 error (skips a float64 pass)
  --tolerance X                 the old absolute rule: |onnx − torch| ≤ X (atol X, rtol 0)
  --json                        print { conversion, validation, parity } as JSON instead of text

Exit codes: 0 converted and verified, 1 conversion or verification failed, 2 usage error.`;

/** `--calibration-images a.jpg b.jpg` → repeated `--calibration-images` flags for util.parseArgs. */
function expandListFlag(args: string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg !== flag) {
      out.push(arg);
      continue;
    }
    let taken = 0;
    while (i + 1 < args.length && !args[i + 1]!.startsWith('--')) {
      out.push(flag, args[++i]!);
      taken++;
    }
    if (taken === 0) throw new UsageError(`${flag} expects at least one file`);
  }
  return out;
}

interface ConvertArgs {
  options: ConvertOptions;
  verify: boolean;
  json: boolean;
  tolerance: ParityTolerance;
}

function parse(args: string[]): ConvertArgs {
  const { values, positionals } = parseArgs({
    args: expandListFlag(args, '--calibration-images'),
    allowPositionals: true,
    strict: true,
    options: {
      arch: { type: 'string' },
      weights: { type: 'string' },
      hf: { type: 'string' },
      'hf-backend': { type: 'string' },
      out: { type: 'string' },
      opset: { type: 'string' },
      'input-size': { type: 'string' },
      'static-batch': { type: 'boolean', default: false },
      exporter: { type: 'string' },
      'external-data': { type: 'boolean', default: false },
      'num-classes': { type: 'string' },
      'arch-kwargs': { type: 'string' },
      'module-path': { type: 'string', multiple: true },
      'calibration-images': { type: 'string', multiple: true },
      python: { type: 'string' },
      'allow-pickle': { type: 'boolean', default: false },
      'no-verify': { type: 'boolean', default: false },
      'torchvision-weights': { type: 'string' },
      recipe: { type: 'string' },
      labels: { type: 'string' },
      manifest: { type: 'string' },
      'no-manifest': { type: 'boolean', default: false },
      'no-float64': { type: 'boolean', default: false },
      tolerance: { type: 'string' },
      rtol: { type: 'string' },
      atol: { type: 'string' },
      'float32-error-factor': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (!values.out) throw new UsageError('--out is required');
  const options: ConvertOptions = { out: values.out };
  if (values.hf !== undefined) {
    if (values.arch !== undefined || values.weights !== undefined)
      throw new UsageError('--hf takes the model from the folder: give no --arch or --weights');
    if (!values.hf) throw new UsageError('--hf expects a folder');
    options.hf = values.hf;
    const backend = values['hf-backend'];
    if (backend !== undefined) {
      if (backend !== 'pil' && backend !== 'torchvision')
        throw new UsageError(`--hf-backend expects pil or torchvision, got '${backend}'`);
      options.hfBackend = backend;
    }
  } else {
    if (values['hf-backend'] !== undefined) throw new UsageError('--hf-backend applies to --hf only');
    for (const required of ['arch', 'weights'] as const)
      if (!values[required]) throw new UsageError(`--${required} is required (or --hf <folder>)`);
    options.arch = values.arch!;
    options.weights = values.weights!;
  }
  const opset = positiveInt('opset', values.opset);
  if (opset !== undefined) options.opset = opset;
  const inputSize = positiveInt('input-size', values['input-size']);
  if (inputSize !== undefined) options.inputSize = inputSize;
  const numClasses = positiveInt('num-classes', values['num-classes']);
  if (numClasses !== undefined) options.numClasses = numClasses;
  if (values['static-batch']) options.staticBatch = true;
  if (values['external-data']) options.externalData = true;
  if (values.exporter !== undefined) {
    if (values.exporter !== 'dynamo' && values.exporter !== 'torchscript')
      throw new UsageError(`--exporter must be dynamo or torchscript, got '${values.exporter}'`);
    options.exporter = values.exporter;
  }
  if (values['allow-pickle']) options.allowPickle = true;
  if (values.python) options.python = values.python;
  if (values['arch-kwargs'] !== undefined) {
    let kwargs: unknown;
    try {
      kwargs = JSON.parse(values['arch-kwargs']);
    } catch {
      kwargs = undefined;
    }
    if (typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs))
      throw new UsageError(`--arch-kwargs expects a JSON object, got '${values['arch-kwargs']}'`);
    options.archKwargs = kwargs as Record<string, unknown>;
  }
  if (values['module-path']) options.modulePaths = values['module-path'];
  if (values['calibration-images']) options.calibrationImages = values['calibration-images'];
  if (values['torchvision-weights'] !== undefined) {
    if (!values['torchvision-weights']) throw new UsageError('--torchvision-weights expects an entry name');
    options.torchvisionWeights = values['torchvision-weights'];
  }
  if (values.recipe !== undefined) options.recipe = values.recipe;
  if (values.labels !== undefined) options.labels = values.labels;
  if (values['no-manifest'] && values.manifest !== undefined)
    throw new UsageError('give --manifest <file> or --no-manifest, not both');
  if (values['no-float64']) options.float64Reference = false;
  if (values['no-manifest']) options.manifest = false;
  else if (values.manifest !== undefined) options.manifest = values.manifest;
  const tolerance = parityToleranceArgs(values);
  if (Object.keys(tolerance).length > 0 && values['no-verify'])
    throw new UsageError(
      '--rtol/--atol/--tolerance/--float32-error-factor apply to the parity check, which --no-verify skips',
    );
  return { options, verify: !values['no-verify'], json: values.json ?? false, tolerance };
}

/** `mtailor convert`. */
export const command: Command = {
  summary: 'export a PyTorch checkpoint to ONNX, then validate it and prove parity with PyTorch',
  usage,
  async run(args) {
    const parsed = parseOrReportUsage('convert', usage, () => parse(args));
    if (parsed === undefined) return EXIT_USAGE;
    const log = (line: string): void => {
      if (!parsed.json) process.stderr.write(`${line}\n`);
    };
    let conversion: ConvertResult;
    try {
      conversion = await convertCheckpoint({
        ...parsed.options,
        onProgress: (p) => log(`[${p.step}/${p.total}] ${p.message}`),
      });
    } catch (err) {
      if (!(err instanceof ConverterError)) throw err;
      if (parsed.json)
        process.stdout.write(
          `${JSON.stringify({ ok: false, error: { code: err.code, message: err.message, details: err.details } }, null, 2)}\n`,
        );
      else process.stderr.write(`mtailor convert: ${err.code}: ${err.message}\n`);
      return err.code === 'INVALID_OPTION' ? 2 : 1;
    }
    log(
      `wrote ${conversion.modelPath} (${(conversion.fileBytes / 1e6).toFixed(2)} MB, opset ${conversion.opset}, ` +
        `IR ${conversion.irVersion ?? '?'}, input [${conversion.inputShape.join(', ')}], ` +
        `torch ${conversion.torchVersion} ${conversion.exporter} exporter, ${conversion.seconds.toFixed(1)} s)`,
    );
    if (conversion.externalData)
      log(
        `  its weights are in ${path.join(path.dirname(conversion.modelPath), conversion.externalData)}: deploy that file beside the model`,
      );
    if (conversion.manifestPath) {
      const recipe = conversion.manifest!.recipe;
      log(
        `wrote ${conversion.manifestPath} (recipe ${typeof recipe === 'string' ? recipe : (recipe.name ?? 'custom')}, ` +
          `labels ${Array.isArray(conversion.manifest!.labels) ? 'inline' : conversion.manifest!.labels}, ${conversion.numClasses} classes)`,
      );
    } else log(`no manifest written: ${conversion.manifestSkipped}`);
    if (!parsed.verify) {
      if (parsed.json) process.stdout.write(`${JSON.stringify({ ok: true, conversion }, null, 2)}\n`);
      return 0;
    }
    const validation: ValidationReport = await validateModel(conversion.modelPath, {
      inputShape: [null, 3, conversion.inputShape[2] as number, conversion.inputShape[3] as number],
      numClasses: conversion.numClasses,
    });
    let parity: ParityResult | undefined;
    if (validation.ok && conversion.parityFile) {
      try {
        parity = await checkParity(conversion.modelPath, conversion.parityFile, parsed.tolerance);
      } catch (err) {
        if (!(err instanceof ConverterError)) throw err;
        log(`parity: ${err.code}: ${err.message}`);
      }
    }
    const ok = validation.ok && (conversion.parityFile === undefined || parity?.ok === true);
    if (parsed.json)
      process.stdout.write(`${JSON.stringify({ ok, conversion, validation, parity }, null, 2)}\n`);
    else process.stdout.write(`${formatValidationReport(validation, conversion.modelPath, parity)}\n`);
    return ok ? 0 : 1;
  },
};
