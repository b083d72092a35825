/**
 * The human-readable form of a validation report (what `mtailor validate` prints without --json).
 * @module
 */
import type { ParityResult } from './parity.js';
import type { Dim } from './validate/public-types.js';
import type { ValidationReport } from './validate/validate-model.js';

const shape = (dims: Dim[] | null): string =>
  dims === null ? '(no shape)' : `[${dims.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;

const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;

/** 1e-5 rather than 0.00001; plain otherwise. */
const num = (x: number): string => (x !== 0 && Math.abs(x) < 0.01 ? x.toExponential() : String(x));

/**
 * Render a report (and optional parity result) as text, one finding per line with its code.
 *
 * @example
 * ```ts
 * console.log(formatValidationReport(await validateModel('model.onnx'), 'model.onnx'));
 * ```
 */
export function formatValidationReport(
  report: ValidationReport,
  name = 'model',
  parity?: ParityResult,
): string {
  const ok = report.ok && (parity?.ok ?? true);
  const counts = [
    report.errors.length ? `${report.errors.length} error${report.errors.length > 1 ? 's' : ''}` : '',
    report.warnings.length ? `${report.warnings.length} warning${report.warnings.length > 1 ? 's' : ''}` : '',
    parity && !parity.ok ? 'parity failed' : '',
  ].filter(Boolean);
  const lines = [`${name}: ${ok ? 'VALID' : 'INVALID'}${counts.length ? ` (${counts.join(', ')})` : ''}`];
  const m = report.model;
  if (m) {
    const opsets = m.opsets.map((o) => `${o.domain} ${o.version}`).join(', ') || 'none';
    const producer = `${m.producer.name || '?'} ${m.producer.version}`.trim();
    lines.push(`  IR ${m.irVersion} · opsets ${opsets} · producer ${producer}`);
    for (const i of m.inputs) lines.push(`  input  ${i.name} ${i.type} ${shape(i.shape)}`);
    for (const o of m.outputs) lines.push(`  output ${o.name} ${o.type} ${shape(o.shape)}`);
    lines.push(
      `  ${m.nodeCount} nodes · ${m.initializerCount} initializers (${megabytes(m.initializerBytes)}) · file ${megabytes(m.fileBytes)}`,
    );
    if (m.externalData.length)
      lines.push(`  external data ${m.externalData.join(', ')} (beside the model: deploy it with the model)`);
  }
  if (report.errors.length) {
    lines.push('errors:');
    for (const e of report.errors) lines.push(`  ✗ ${e.code}: ${e.message}`);
  }
  if (report.warnings.length) {
    lines.push('warnings:');
    for (const w of report.warnings) lines.push(`  ! ${w.code}: ${w.message}`);
  }
  if (parity) {
    const agree = parity.perSample.filter((s) => s.top1Agrees).length;
    const floored = parity.float32ErrorFactor > 0 && parity.torchFloat32Error !== undefined;
    const atol = floored
      ? `max(${num(parity.atol)}, ${parity.float32ErrorFactor}× PyTorch's float32 error)`
      : num(parity.atol);
    lines.push(
      `parity: ${parity.ok ? 'OK' : 'FAILED'} max |Δ| ${parity.maxAbsDiff.toExponential(2)}, ` +
        `max rel ${parity.maxRelDiff.toExponential(2)}, mean |Δ| ${parity.meanAbsDiff.toExponential(2)} ` +
        `(rule |Δ| ≤ ${atol} + ${num(parity.rtol)}·|torch|: ${parity.violations} outside), ` +
        `top-1 ${agree}/${parity.samples} agree, PyTorch logits up to ${parity.referenceScale.toPrecision(3)}`,
    );
    if (parity.torchFloat32Error !== undefined) {
      const raised = parity.perSample.filter((p) => p.atol > parity.atol).length;
      lines.push(
        `  PyTorch's own float32 error (max |float32 − float64| of its logits) up to ${parity.torchFloat32Error.toExponential(2)}` +
          (raised ? `: atol raised above ${num(parity.atol)} on ${raised} of ${parity.samples} samples` : ''),
      );
    }
    if (parity.batches.length)
      lines.push(
        `  dynamic batch: ${parity.batches
          .map(
            (b) =>
              `batch ${b.batchSize} ${b.ok ? 'OK' : 'FAILED'} (max |Δ| ${b.maxAbsDiff.toExponential(2)})`,
          )
          .join(', ')}, each row against PyTorch's logits for its sample`,
      );
    const w = parity.worst;
    if (w)
      lines.push(
        `  worst logit: sample ${w.sample} class ${w.index}: torch ${w.torch.toPrecision(8)} onnx ${w.onnx.toPrecision(8)} ` +
          `|Δ| ${w.absDiff.toExponential(2)} (rel ${w.relDiff.toExponential(2)}), allowed ${w.allowed.toExponential(2)}`,
      );
    if (parity.referenceScale < 1e-3)
      lines.push(
        "  ! PyTorch's logits are all near 0, so this parity check proves little: use trained weights or " +
          '--calibration-images',
      );
  }
  return lines.join('\n');
}
