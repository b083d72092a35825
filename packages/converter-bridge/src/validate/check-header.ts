/**
 * Model-level checks: IR version, opset imports, operator domains.
 * @module
 */
import type { Findings } from './findings.js';
import { OP_TABLE_MAX_OPSET } from './onnx-op-table.js';
import { int64, type ModelProto } from './onnx-proto.js';
import { type OpsetImport, ORT_MAX_OPSET, ORT_MIN_OPSET } from './public-types.js';

// Re-exported for the checks that import them from here; the package's index imports them from public-types.ts.
export { type OpsetImport, ORT_MAX_IR_VERSION, ORT_MAX_OPSET, ORT_MIN_OPSET } from './public-types.js';

/** Normalise a domain name: "" and "ai.onnx" are the same default domain. */
export const domainName = (domain: string | null | undefined): string =>
  !domain || domain === 'ai.onnx' ? 'ai.onnx' : domain;

/** Check ir_version and opset_import; return the imports and the default-domain opset (undefined if absent). */
export function checkHeader(
  model: ModelProto,
  findings: Findings,
  limits: { maxIrVersion: number; opsetMin: number | undefined; opsetMax: number | undefined },
): { opsets: OpsetImport[]; defaultOpset: number | undefined } {
  const ir = int64(model.irVersion);
  if (ir <= 0) findings.add('IR_VERSION_MISSING', 'The model has no ir_version.');
  else if (ir > limits.maxIrVersion)
    findings.add(
      'IR_VERSION_UNSUPPORTED',
      `IR version ${ir} is newer than onnxruntime 1.30 loads (max ${limits.maxIrVersion}). Re-export with an older ` +
        `onnx, or lower it: m = onnx.load(p); m.ir_version = ${limits.maxIrVersion}; onnx.save(m, p).`,
    );

  const opsets = (model.opsetImport ?? []).map((o) => ({
    domain: domainName(o.domain),
    version: int64(o.version),
  }));
  const defaultOpset = opsets.find((o) => o.domain === 'ai.onnx')?.version;
  if (opsets.length === 0)
    findings.add(
      'OPSET_MISSING',
      'The model has no opset_import: runtimes cannot tell which operator versions it uses.',
    );
  else if (defaultOpset === undefined)
    findings.add('OPSET_MISSING', 'opset_import has no entry for the default domain (ai.onnx).');
  else {
    const min = limits.opsetMin ?? ORT_MIN_OPSET;
    const max = limits.opsetMax ?? ORT_MAX_OPSET;
    const explicitMin = limits.opsetMin !== undefined;
    if (defaultOpset > max)
      findings.add(
        'OPSET_OUT_OF_RANGE',
        `ai.onnx opset ${defaultOpset} is above ${max}` +
          (limits.opsetMax === undefined ? ' (the highest onnxruntime 1.30 runs)' : ' (--opset-max)'),
      );
    else if (defaultOpset < min && explicitMin)
      findings.add('OPSET_OUT_OF_RANGE', `ai.onnx opset ${defaultOpset} is below ${min} (--opset-min)`);
    else if (defaultOpset < ORT_MIN_OPSET)
      findings.add(
        'OPSET_LEGACY',
        `ai.onnx opset ${defaultOpset} is below ${ORT_MIN_OPSET}: onnxruntime only has legacy support for it`,
      );
    if (defaultOpset > OP_TABLE_MAX_OPSET && defaultOpset <= max)
      findings.add(
        'OPSET_BEYOND_TABLE',
        `ai.onnx opset ${defaultOpset} is newer than the op table (opset ${OP_TABLE_MAX_OPSET}); ` +
          'operators added after it are not verified.',
      );
  }
  return { opsets, defaultOpset };
}
