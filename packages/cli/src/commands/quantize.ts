/**
 * `mtailor quantize <float.onnx> --calibration <images> --out <int8.onnx>` — static int8 quantization with
 * calibration on images preprocessed as served, and an accuracy report. Exit 0 ok, 1 quantization refused or failed
 * or agreement below --min-agreement, 2 usage error or unreadable input.
 */
import { parseArgs } from 'node:util';
import {
  type CalibrationMethod,
  ConverterError,
  DEFAULT_FOLDS,
  DEFAULT_MIN_AGREEMENT,
  DEFAULT_PERCENTILE,
  formatQuantizationReport,
  type QuantizeOptions,
  quantizeModel,
} from '@mtailor/converter-bridge';
import { EXIT_USAGE, nonNegativeNumber, parseOrReportUsage, positiveInt, UsageError } from '../args.js';
import type { Command } from '../command.js';

const METHODS = ['percentile', 'minmax', 'entropy', 'mse'] as const;

const usage = `Usage: mtailor quantize <float.onnx> --calibration <folder or images…> --out <int8.onnx> [options]

Quantizes a float ONNX image classifier to static int8 (QDQ: QuantizeLinear/DequantizeLinear pairs that
onnxruntime fuses into int8 kernels): int8 weights per output channel, int32 biases, uint8 activations whose
ranges come from running the float model on the calibration images, preprocessed exactly as the model is served.
Then validates the result, checks which kernels onnxruntime runs, and compares it with the float model.

Options:
  --calibration <path>      calibration images: a folder (searched recursively) or image files (repeatable)
  --out <file.onnx>         the quantized model; <out minus .onnx>.manifest.json too when the input has a manifest
  --manifest <file.json>    the input model's manifest (recipe, labels); default <float minus .onnx>.manifest.json
  --recipe <preset>         preprocessing preset without a manifest: resize-224 (default) or imagenet-eval
  --method <m>              activation ranges: percentile (default), minmax, entropy (KL, as TensorRT) or mse
  --percentile <p>          percentile of --method percentile (default ${DEFAULT_PERCENTILE})
  --per-channel             one weight scale per output channel (the default)
  --per-tensor              one weight scale per weight tensor
  --activations uint8|int8  quantized activation type (default uint8: faster with onnxruntime here)
  --symmetric-activations   activation zero point 0 (Relu/Clip then stay float between int8 nodes: slower)
  --calibration-size <n>    use n calibration images, spread evenly over the sorted list (default: all)
  --exclude <node names>    keep these nodes float (comma-separated or repeated), e.g. the first Conv
  --no-bias-correction      do not correct biases for the mean shift of the rounded weights
  --no-reduce-range         8-bit weights in [-127, 127] instead of 7-bit [-64, 64]: a little more precise, but
                            on x86 CPUs without VNNI served on the exact, slower U8U8 kernels
  --eval <path>             held-out images to measure agreement on (folder or files, repeatable)
  --folds <n>               without --eval: held-out agreement by n-fold cross-validation over the calibration
                            images (default ${DEFAULT_FOLDS}, n ≥ 2): image i of the sorted list is held out by fold
                            i mod n and measured on a model calibrated on the other folds; the model written is
                            calibrated on all of them
  --no-folds                no cross-validation: agreement judged on the calibration images themselves (in-sample)
  --min-agreement <x>       exit 1 below this top-1 agreement with the float model (default ${DEFAULT_MIN_AGREEMENT}),
                            judged on --eval when given, else on the cross-validated held-out agreement
  --speed-runs <n>          timed runs of each model for the speed ratio (default 40)
  --speed-threads <n>       onnxruntime threads while timing (default 1)
  --no-speed                skip the speed measurement
  --no-auto-orient          ignore EXIF orientation (as torchvision does); default: as the server, upright
  --json                    print the report as JSON (progress still goes to stderr)

Exit codes: 0 quantized, valid and agreeing; 1 refused (already quantized, no float weights, input shape the
calibration cannot feed, …), failed, invalid output or agreement below --min-agreement; 2 usage error or
unreadable model / manifest.`;

function list(values: string[] | undefined): string[] | undefined {
  if (!values) return undefined;
  return values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

interface QuantizeArgs {
  options: QuantizeOptions;
  json: boolean;
}

function parse(args: string[]): QuantizeArgs {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      calibration: { type: 'string', multiple: true },
      out: { type: 'string' },
      manifest: { type: 'string' },
      recipe: { type: 'string' },
      method: { type: 'string' },
      percentile: { type: 'string' },
      'per-channel': { type: 'boolean', default: false },
      'per-tensor': { type: 'boolean', default: false },
      activations: { type: 'string' },
      'symmetric-activations': { type: 'boolean', default: false },
      'calibration-size': { type: 'string' },
      exclude: { type: 'string', multiple: true },
      'no-bias-correction': { type: 'boolean', default: false },
      'no-reduce-range': { type: 'boolean', default: false },
      eval: { type: 'string', multiple: true },
      folds: { type: 'string' },
      'no-folds': { type: 'boolean', default: false },
      'min-agreement': { type: 'string' },
      'speed-runs': { type: 'string' },
      'speed-threads': { type: 'string' },
      'no-speed': { type: 'boolean', default: false },
      'no-auto-orient': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 1) throw new UsageError(`expected one model file, got ${positionals.join(' ')}`);
  if (positionals.length === 0 && values.manifest === undefined)
    throw new UsageError('no model given: pass <float.onnx> (or --manifest naming it)');
  if (!values.calibration?.length) throw new UsageError('--calibration <folder or images> is required');
  if (values.out === undefined) throw new UsageError('--out <int8.onnx> is required');
  if (values.manifest !== undefined && values.recipe !== undefined)
    throw new UsageError('give --manifest or --recipe, not both (the manifest holds the recipe)');
  if (values['per-channel'] && values['per-tensor'])
    throw new UsageError('give --per-channel or --per-tensor, not both');
  if (values.recipe !== undefined && values.recipe !== 'resize-224' && values.recipe !== 'imagenet-eval')
    throw new UsageError(`--recipe expects resize-224 or imagenet-eval, got '${values.recipe}'`);
  const method = values.method;
  if (method !== undefined && !(METHODS as readonly string[]).includes(method))
    throw new UsageError(`--method expects one of ${METHODS.join(', ')}, got '${method}'`);
  const percentile = nonNegativeNumber('percentile', values.percentile);
  if (percentile !== undefined && (percentile <= 50 || percentile > 100))
    throw new UsageError(`--percentile expects a number in (50, 100], got '${values.percentile}'`);
  if (percentile !== undefined && (method ?? 'percentile') !== 'percentile')
    throw new UsageError('--percentile applies to --method percentile only');
  const activations = values.activations;
  if (activations !== undefined && activations !== 'uint8' && activations !== 'int8')
    throw new UsageError(`--activations expects uint8 or int8, got '${activations}'`);
  const minAgreement = nonNegativeNumber('min-agreement', values['min-agreement']);
  if (minAgreement !== undefined && minAgreement > 1)
    throw new UsageError(`--min-agreement expects a fraction in [0, 1], got '${values['min-agreement']}'`);
  const folds = positiveInt('folds', values.folds);
  if (folds !== undefined && folds < 2)
    throw new UsageError(`--folds expects an integer ≥ 2, got '${values.folds}'`);
  if ((folds !== undefined || values['no-folds']) && values.eval?.length)
    throw new UsageError(
      '--folds and --no-folds apply without --eval (the --eval images are the held-out set)',
    );
  if (folds !== undefined && values['no-folds']) throw new UsageError('give --folds or --no-folds, not both');
  const speedRuns = positiveInt('speed-runs', values['speed-runs']);
  const speedThreads = positiveInt('speed-threads', values['speed-threads']);
  if (values['no-speed'] && (speedRuns !== undefined || speedThreads !== undefined))
    throw new UsageError('--no-speed cannot be combined with --speed-runs or --speed-threads');
  const calibration = values.calibration;
  const evalImages = values.eval;
  const options: QuantizeOptions = {
    calibration: calibration.length === 1 ? calibration[0]! : calibration,
    out: values.out,
    perChannel: !values['per-tensor'],
    biasCorrection: !values['no-bias-correction'],
    reduceRange: !values['no-reduce-range'],
    autoOrient: !values['no-auto-orient'],
    symmetricActivations: values['symmetric-activations'] ?? false,
    speed: values['no-speed']
      ? false
      : {
          ...(speedRuns === undefined ? {} : { runs: speedRuns }),
          ...(speedThreads === undefined ? {} : { threads: speedThreads }),
        },
  };
  if (positionals[0] !== undefined) options.model = positionals[0];
  if (values.manifest !== undefined) options.manifest = values.manifest;
  if (values.recipe !== undefined) options.recipe = values.recipe as 'resize-224' | 'imagenet-eval';
  if (method !== undefined) options.method = method as CalibrationMethod;
  if (percentile !== undefined) options.percentile = percentile;
  if (activations !== undefined) options.activations = activations;
  const calibrationSize = positiveInt('calibration-size', values['calibration-size']);
  if (calibrationSize !== undefined) options.calibrationSize = calibrationSize;
  const exclude = list(values.exclude);
  if (exclude) options.exclude = exclude;
  if (evalImages?.length) options.eval = evalImages.length === 1 ? evalImages[0]! : evalImages;
  if (minAgreement !== undefined) options.minAgreement = minAgreement;
  if (folds !== undefined) options.folds = folds;
  if (values['no-folds']) options.folds = false;
  return { options, json: values.json ?? false };
}

/** Errors that mean "the command line points at something unusable" rather than "this model cannot be quantized". */
const USAGE_CODES = new Set(['INVALID_OPTION', 'MODEL_UNREADABLE', 'MANIFEST_INVALID']);

/** `mtailor quantize`. */
export const command: Command = {
  summary:
    'quantize a float ONNX classifier to static int8 (QDQ) with calibration images and an accuracy report',
  usage,
  async run(args) {
    const parsed = parseOrReportUsage('quantize', usage, () => parse(args));
    if (parsed === undefined) return EXIT_USAGE;
    let lastStage = '';
    const options: QuantizeOptions = {
      ...parsed.options,
      onProgress: (p) => {
        // One line per stage and per uncounted step (a cross-validation fold): the image counts would flood a log.
        if (p.stage === lastStage && p.done !== undefined) return;
        lastStage = p.stage;
        process.stderr.write(`[${p.stage}] ${p.message}\n`);
      },
    };
    try {
      const report = await quantizeModel(options);
      process.stdout.write(
        parsed.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatQuantizationReport(report)}\n`,
      );
      return report.ok ? 0 : 1;
    } catch (err) {
      if (!(err instanceof ConverterError)) throw err;
      process.stderr.write(`mtailor quantize: ${err.code}: ${err.message}\n`);
      if (parsed.json)
        process.stdout.write(
          `${JSON.stringify({ ok: false, error: { code: err.code, message: err.message, details: err.details ?? null } }, null, 2)}\n`,
        );
      return USAGE_CODES.has(err.code) ? EXIT_USAGE : 1;
    }
  },
};
