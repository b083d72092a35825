/**
 * The human-readable form of a quantization report (what `mtailor quantize` prints without --json).
 * @module
 */
import path from 'node:path';
import type { Int8KernelsReport } from '@mtailor/core';
import type { QuantizationReport } from './quantize.js';
import type { AccuracyReport, Timing } from './summary.js';

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;
const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
const counts = (record: Record<string, number>): string =>
  Object.entries(record)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([op, n]) => `${n} ${op}`)
    .join(', ') || 'none';
const ms = (t: Timing): string => `${t.median.toFixed(2)} ms (${t.p25.toFixed(2)}–${t.p75.toFixed(2)})`;

function accuracyLines(name: string, a: AccuracyReport): string[] {
  const worst = a.perClass.worst
    .slice(0, 3)
    .map((c) => `${c.index}${c.label ? ` ${c.label}` : ''} ${c.meanAbs.toFixed(3)}`)
    .join(', ');
  const lines = [
    `  ${name} (${a.images} images): top-1 ${pct(a.top1Agreement)} (${a.top1Agree}/${a.images}) · float top-1 in int8 top-5 ${pct(a.top5Agreement)} · top-5 overlap ${pct(a.top5Overlap)}`,
    `    logit |Δ| mean ${a.logitError.meanAbs.toFixed(3)}, rms ${a.logitError.rms.toFixed(3)}, max ${a.logitError.maxAbs.toFixed(2)} (float logits up to ${a.logitError.floatScale.toFixed(1)})`,
    `    per class mean |Δ|: median ${a.perClass.median.toFixed(3)} [${a.perClass.min.toFixed(3)}–${a.perClass.max.toFixed(3)}]; worst ${worst}`,
  ];
  const shown = 8;
  for (const d of a.disagreements.slice(0, shown)) {
    const [f, q] = d.labels ? [` ${d.labels.float}`, ` ${d.labels.int8}`] : ['', ''];
    lines.push(
      `    differs: ${path.basename(d.file)} float ${d.float}${f} (margin ${d.floatMargin.toFixed(2)}) → int8 ${d.int8}${q}`,
    );
  }
  if (a.disagreements.length > shown) lines.push(`    … and ${a.disagreements.length - shown} more`);
  return lines;
}

/** The int8 path on this machine, why, and the CPU it ran on. */
function describeInt8Kernels(r: Int8KernelsReport): string {
  const probe = r.cpu.u8s8Exact === undefined ? '' : r.cpu.u8s8Exact ? 'U8S8 exact' : 'U8S8 saturates';
  return (
    `${r.kernels} (${r.reason}); CPU ${r.cpu.arch} [${r.cpu.flags.join(' ') || 'no int8 flags'}]` +
    (probe ? `, saturation probe: ${probe}` : '')
  );
}

/**
 * Render a {@link QuantizationReport} as text.
 *
 * @example
 * ```ts
 * const report = await quantizeModel({ model: 'float.onnx', calibration: 'images/', out: 'int8.onnx' });
 * console.log(formatQuantizationReport(report));
 * ```
 */
export function formatQuantizationReport(report: QuantizationReport): string {
  const { settings: s, graph: g, kernels: k } = report;
  const lines = [
    `wrote ${report.files.int8} (${mb(report.bytes.int8)}; float ${mb(report.bytes.float)}): ${report.validation.ok ? 'VALID' : 'INVALID'}`,
  ];
  if (report.files.manifest) lines.push(`wrote ${report.files.manifest}`);
  for (const e of report.validation.errors) lines.push(`  ✗ ${e.code}: ${e.message}`);
  for (const w of report.validation.warnings) lines.push(`  ! ${w.code}: ${w.message}`);
  lines.push(
    `  calibration: ${s.calibrationImages} images, recipe ${s.recipe}, ${s.method}${s.percentile === null ? '' : ` ${s.percentile}`}; ` +
      `weights int8 ${s.perChannel ? 'per channel' : 'per tensor'} in ${s.reduceRange ? '[−64, 64] (7-bit; depthwise, first and last layer [−127, 127])' : '[−127, 127]'}, activations ${s.activations}${s.symmetricActivations ? ' symmetric' : ''}, biases int32`,
    `  quantized: ${counts(g.quantized)}; ${g.activationsFolded} Relu/Clip folded into the quantization` +
      (g.batchNormsFolded ? `; ${g.batchNormsFolded} BatchNormalization folded` : '') +
      (s.exclude.length ? `; excluded ${s.exclude.join(', ')}` : ''),
  );
  for (const sk of g.skipped) lines.push(`  kept float: ${sk.opType} ${sk.node}: ${sk.reason}`);
  if (g.biasAdjustedChannels)
    lines.push(`  ${g.biasAdjustedChannels} weight channel scales widened so their int32 bias fits`);
  lines.push(
    `  onnxruntime kernels: ${counts(k.int8)}; float Conv/Gemm/MatMul left: ${counts(k.floatCompute)}`,
    `int8 kernels here: ${describeInt8Kernels(report.int8Kernels)}`,
    'agreement with the float model (the exact integer arithmetic, as @mtailor/core serves the model):',
  );
  const { crossValidated: cv } = report.accuracy;
  if (cv) {
    const folds = cv.perFold
      .map((f, i) => `fold ${i + 1} ${f.top1Agree}/${f.heldOutImages} (calibrated on ${f.calibrationImages})`)
      .join(', ');
    const [head, ...rest] = accuracyLines(
      `held-out, ${cv.folds}-fold cross-validation over the calibration images`,
      cv.heldOut,
    );
    lines.push(head!, `    each image measured on a model calibrated without it: ${folds}`, ...rest);
  }
  lines.push(
    ...accuracyLines(
      'in-sample, the written model on its own calibration images',
      report.accuracy.calibration,
    ),
  );
  if (report.accuracy.eval) lines.push(...accuracyLines('evaluation images', report.accuracy.eval));
  if (report.speed) {
    const sp = report.speed;
    lines.push(
      `speed (onnxruntime, ${sp.threads} thread${sp.threads > 1 ? 's' : ''}, batch ${sp.batch}, ${sp.runs} interleaved runs each): ` +
        `float ${ms(sp.floatMs)}, int8 ${ms(sp.int8Ms)}: int8 ${sp.speedup.toFixed(2)}× as fast`,
    );
  }
  const [judged, where] =
    report.judgedOn === 'eval'
      ? [report.accuracy.eval!, 'on the evaluation images']
      : report.judgedOn === 'cross-validation'
        ? [cv!.heldOut, `held out (${cv!.folds}-fold cross-validation)`]
        : [report.accuracy.calibration, 'on the calibration images (in-sample)'];
  lines.push(
    `${report.ok ? 'OK' : 'FAILED'}: top-1 agreement ${pct(judged.top1Agreement)} ${where} ` +
      `${judged.top1Agreement >= s.minAgreement ? '≥' : '<'} ${pct(s.minAgreement)}` +
      (report.validation.ok ? '' : '; the quantized model is invalid'),
  );
  return lines.join('\n');
}
