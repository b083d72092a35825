/**
 * `mtailor validate model.onnx` — check an ONNX image classifier before deploying it (and, with --parity, that
 * onnxruntime reproduces PyTorch's logits). Exit 0 valid, 1 invalid, 2 unreadable or usage error.
 */
import { parseArgs } from 'node:util';
import {
  ConverterError,
  checkParity,
  DEFAULT_FLOAT32_ERROR_FACTOR,
  DEFAULT_PARITY_ATOL,
  DEFAULT_PARITY_RTOL,
  formatValidationReport,
  type ModelExpectations,
  type ParityResult,
  type ParityTolerance,
  type ValidationReport,
  validateModel,
} from '@mtailor/converter-bridge';
import { recipeSquareSize } from '@mtailor/converter-bridge/internal';
import { type Manifest, ManifestError, readManifest } from '@mtailor/core';
import { EXIT_USAGE, parityToleranceArgs, parseOrReportUsage, positiveInt, UsageError } from '../args.js';
import type { Command } from '../main.js';

const usage = `Usage: mtailor validate <model.onnx> [options]
       mtailor validate --manifest <model.manifest.json> [options]

Checks that an ONNX file is a deployable image classifier: it parses; IR version and ai.onnx opset fit
onnxruntime 1.30; one float32 [batch,3,H,W] input and one float32 [batch,classes] output; dynamic batch;
nodes in topological order with no dangling or duplicate tensor names; known operators; external data present;
and, when all that passes, the bundled onnxruntime loads it.

Options:
  --json                  print the report as JSON { ok, errors[], warnings[], model, parity? }
  --input-shape N,C,H,W   expected input shape; '?' for any, e.g. ?,3,224,224
  --num-classes K         expected number of classes
  --opset-min N           lowest acceptable ai.onnx opset (default 7)
  --opset-max M           highest acceptable ai.onnx opset (default 26, onnxruntime 1.30's maximum)
  --manifest <file.json>  a model manifest (written by mtailor convert): checks it (recipe, labels, class count)
                          and validates its model against it (class count, the input size its recipe makes)
  --parity <file>         parity vectors (<model>.parity.json written by mtailor convert): run the model with
                          onnxruntime and compare with PyTorch's logits
  --rtol X, --atol Y      parity rule |onnx − torch| ≤ Y + X·|torch| for every logit, plus the same top-1 on
                          every sample (default rtol ${DEFAULT_PARITY_RTOL}, atol ${DEFAULT_PARITY_ATOL})
  --float32-error-factor K  a sample's atol is at least K × PyTorch's own float32 error on it, when the parity
                          file records it (default ${DEFAULT_FLOAT32_ERROR_FACTOR}, 0 = off)
  --tolerance X           the old absolute rule: |onnx − torch| ≤ X (atol X, rtol 0)
  --no-load               skip the final check that the bundled onnxruntime loads the model (done by default
                          when the static checks pass)

Exit codes: 0 valid, 1 invalid (or parity failed), 2 unreadable model or usage error.`;

function parseShape(text: string | undefined): (number | null)[] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length !== 4)
    throw new UsageError(`--input-shape expects 4 comma-separated dims N,C,H,W, got '${text}'`);
  return parts.map((p) => {
    if (p === '?' || p === '-1' || /^[A-Za-z_]\w*$/.test(p)) return null;
    return positiveInt('input-shape', p) ?? null;
  });
}

interface ValidateArgs {
  model: string | undefined;
  manifest: string | undefined;
  json: boolean;
  expectations: ModelExpectations;
  parity: string | undefined;
  tolerance: ParityTolerance;
}

function parse(args: string[]): ValidateArgs {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      'input-shape': { type: 'string' },
      'num-classes': { type: 'string' },
      'opset-min': { type: 'string' },
      'opset-max': { type: 'string' },
      parity: { type: 'string' },
      manifest: { type: 'string' },
      tolerance: { type: 'string' },
      rtol: { type: 'string' },
      atol: { type: 'string' },
      'float32-error-factor': { type: 'string' },
      'no-load': { type: 'boolean', default: false },
    },
  });
  if (values.manifest !== undefined ? positionals.length > 1 : positionals.length !== 1)
    throw new UsageError(
      `expected exactly one model file${values.manifest !== undefined ? ' (or none with --manifest)' : ''}, got ${positionals.length ? positionals.join(' ') : 'none'}`,
    );
  const tolerance = parityToleranceArgs(values);
  if (Object.keys(tolerance).length > 0 && values.parity === undefined)
    throw new UsageError(
      '--tolerance/--rtol/--atol/--float32-error-factor apply to the parity check: give --parity <file> too',
    );
  const expectations: ModelExpectations = { load: !values['no-load'] };
  const inputShape = parseShape(values['input-shape']);
  if (inputShape) expectations.inputShape = inputShape;
  const numClasses = positiveInt('num-classes', values['num-classes']);
  if (numClasses !== undefined) expectations.numClasses = numClasses;
  const opsetMin = positiveInt('opset-min', values['opset-min']);
  if (opsetMin !== undefined) expectations.opsetMin = opsetMin;
  const opsetMax = positiveInt('opset-max', values['opset-max']);
  if (opsetMax !== undefined) expectations.opsetMax = opsetMax;
  if (opsetMin !== undefined && opsetMax !== undefined && opsetMin > opsetMax)
    throw new UsageError(`--opset-min ${opsetMin} is above --opset-max ${opsetMax}`);
  return {
    model: positionals[0],
    manifest: values.manifest,
    json: values.json ?? false,
    expectations,
    parity: values.parity,
    tolerance,
  };
}

/** `mtailor validate`. */
export const command: Command = {
  summary: 'check an ONNX classifier (IR/opset, input/output, graph, ops) and PyTorch parity',
  usage,
  async run(args) {
    const parsed = parseOrReportUsage('validate', usage, () => parse(args));
    if (parsed === undefined) return EXIT_USAGE;
    let manifest: Manifest | undefined;
    if (parsed.manifest !== undefined) {
      try {
        manifest = await readManifest(parsed.manifest);
      } catch (err) {
        if (!(err instanceof ManifestError)) throw err;
        process.stderr.write(`mtailor validate: ${err.code}: ${err.message}\n`);
        return 2;
      }
      Object.assign(parsed.expectations, manifestExpectations(manifest, parsed.expectations));
    }
    const modelPath = parsed.model ?? manifest!.modelPath;
    let report: ValidationReport;
    let parity: ParityResult | undefined;
    let parityError: ConverterError | undefined;
    try {
      report = await validateModel(modelPath, parsed.expectations);
      if (parsed.parity && report.ok) {
        try {
          parity = await checkParity(modelPath, parsed.parity, parsed.tolerance);
        } catch (err) {
          if (!(err instanceof ConverterError)) throw err;
          parityError = err;
        }
      }
    } catch (err) {
      if (err instanceof ConverterError) {
        process.stderr.write(`mtailor validate: ${err.code}: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    const unreadable =
      report.errors.some((e) => e.code === 'PARSE_FAILED') || parityError?.code === 'PARITY_FILE_INVALID';
    const ok = report.ok && !parityError && (parity?.ok ?? true);
    if (parsed.json) {
      const out: Record<string, unknown> = {
        ok,
        errors: report.errors,
        warnings: report.warnings,
        model: report.model,
      };
      if (manifest)
        out.manifest = {
          path: manifest.path,
          model: manifest.modelPath,
          numClasses: manifest.numClasses,
          recipe: typeof manifest.recipe === 'string' ? manifest.recipe : (manifest.recipe.name ?? 'custom'),
          labels: manifest.labels.length,
        };
      if (parity) out.parity = parity;
      if (parityError)
        out.parity = { ok: false, error: { code: parityError.code, message: parityError.message } };
      else if (parsed.parity && !report.ok)
        out.parity = { ok: false, skipped: 'the model is invalid; parity was not run' };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      if (manifest)
        process.stdout.write(
          `manifest ${manifest.path}: ${manifest.numClasses} classes, recipe ${typeof manifest.recipe === 'string' ? manifest.recipe : (manifest.recipe.name ?? 'custom')}, ${manifest.labels.length} labels\n`,
        );
      process.stdout.write(`${formatValidationReport(report, modelPath, parity)}\n`);
      if (parityError) process.stdout.write(`parity: ${parityError.code}: ${parityError.message}\n`);
      else if (parsed.parity && !report.ok) process.stdout.write('parity: not run (the model is invalid)\n');
    }
    return unreadable ? 2 : ok ? 0 : 1;
  },
};

/**
 * What a manifest says the model must be: its class count, and the input size its recipe makes (square, fixed).
 * Explicit --num-classes / --input-shape win.
 */
function manifestExpectations(manifest: Manifest, given: ModelExpectations): ModelExpectations {
  const out: ModelExpectations = {};
  if (given.numClasses === undefined) out.numClasses = manifest.numClasses;
  if (given.inputShape === undefined) {
    const size = recipeSquareSize(manifest.recipe);
    if (size !== undefined) out.inputShape = [null, 3, size, size];
  }
  return out;
}
