#!/usr/bin/env node
/**
 * The converter across torchvision's model zoo: for every classification builder of the installed torchvision
 * (0.14: 80 of them), a seeded random-weight checkpoint built as for its DEFAULT weights (scripts/zoo_checkpoint.py,
 * nothing downloaded) → convertCheckpoint (export + parity vectors + manifest) → validateModel (with the
 * onnxruntime load check) → the parity rule → onnxruntime speed. Results go to a JSON-lines file, one line per
 * architecture, so an interrupted run resumes where it stopped; `--table` prints the README table from it.
 *
 *     node packages/converter-bridge/scripts/zoo.mjs [--archs resnet50,vit_b_16] [--results zoo-results.jsonl]
 *          [--work-dir /tmp/mtailor-zoo] [--skip-larger-than 700e6] [--keep] [--raw] [--no-speed] [--table]
 *
 * Checkpoints: seeded random weights with BatchNorm statistics measured on random inputs (--raw: as initialised;
 * see zoo_checkpoint.py).
 *
 * Columns: export s is torch.onnx.export alone; max |Δ| / max rel are over the 4 parity samples (standard-normal
 * inputs) and 1000 logits; "atol needed" is the smallest atol with which the element-wise rule passes at the
 * default rtol (max over logits of |Δ| − rtol·|torch|); "PyTorch f32 error" is PyTorch's own max |float32 −
 * float64| on the same inputs (recorded in the parity file); the verdict is the default rule, "ok (f32)" when a
 * sample needed its atol raised to float32ErrorFactor × that error; ORT ms/img is the median of ≥ 5 batch-1 runs
 * on one intra-op thread after a warm-up. Needs `pnpm build` first and /usr/bin/python3 with torch (or
 * MTAILOR_PYTHON).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  convertCheckpoint,
  DEFAULT_FLOAT32_ERROR_FACTOR,
  DEFAULT_PARITY_ATOL,
  DEFAULT_PARITY_RTOL,
  readParityVectors,
  resolvePython,
  validateModel,
} from '@mtailor/converter-bridge';
import { compareLogits } from '@mtailor/converter-bridge/internal';
import ort from 'onnxruntime-node';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    archs: { type: 'string' },
    results: { type: 'string', default: path.join(process.cwd(), 'zoo-results.jsonl') },
    'work-dir': { type: 'string', default: path.join(os.tmpdir(), 'mtailor-zoo') },
    'skip-larger-than': { type: 'string' },
    keep: { type: 'boolean', default: false },
    raw: { type: 'boolean', default: false },
    'no-speed': { type: 'boolean', default: false },
    table: { type: 'boolean', default: false },
  },
});
const python = resolvePython();
const resultsFile = path.resolve(values.results);

function readResults() {
  if (!existsSync(resultsFile)) return new Map();
  const rows = readFileSync(resultsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  return new Map(rows.map((r) => [r.arch, r]));
}

const fmt = {
  exp: (v) => (v === undefined || v === null ? '' : v === 0 ? '0' : v.toExponential(1)),
  mb: (b) => (b / 1e6).toFixed(b < 1e7 ? 1 : 0),
  fixed: (v, d) => (v === undefined || v === null ? '' : v.toFixed(d)),
};

/**
 * The verdict under the current default rule, from the stored statistics (so the table follows the defaults even
 * for rows measured before they changed): the smallest passing atol at the default rtol, and every top-1.
 */
function verdict(r) {
  if (!r.perSample) return r.parityOk ? 'ok' : '**FAILED**';
  const pass = r.perSample.every(
    (p) =>
      p.atolNeeded <= Math.max(DEFAULT_PARITY_ATOL, DEFAULT_FLOAT32_ERROR_FACTOR * (p.float32Error ?? 0)),
  );
  const floorUsed = r.perSample.some((p) => p.atolNeeded > DEFAULT_PARITY_ATOL);
  return pass && r.top1 === r.samples ? (floorUsed ? 'ok (f32)' : 'ok') : '**FAILED**';
}

function table(rows) {
  const lines = [
    '| arch | input | opset | nodes | size MB | export s | logits up to | max \\|Δ\\| | max rel | atol needed | PyTorch f32 error | top-1 | parity | ORT ms/img |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of [...rows].sort((a, b) => a.arch.localeCompare(b.arch))) {
    if (!r.ok && r.error) {
      lines.push(
        `| ${r.arch} | ${r.inputSize ?? ''} | | | | | | | | | | **${r.error.code}**: ${r.error.message.split('\n')[0].replaceAll('|', '\\|')} | |`,
      );
      continue;
    }
    const size = r.externalData ? `${fmt.mb(r.fileBytes + r.externalBytes)} (ext.)` : fmt.mb(r.fileBytes);
    lines.push(
      `| ${r.arch} | ${r.inputSize} | ${r.opset} | ${r.nodeCount} | ${size} | ${fmt.fixed(r.exportSeconds, 1)} | ` +
        `${r.referenceScale.toPrecision(2)} | ${fmt.exp(r.maxAbsDiff)} | ${fmt.exp(r.maxRelDiff)} | ${fmt.exp(r.atolNeeded)} | ${fmt.exp(r.torchFloat32Error)} | ` +
        `${r.top1}/${r.samples} | ${verdict(r)} | ${fmt.fixed(r.ortMs, r.ortMs < 10 ? 2 : 0)} |`,
    );
  }
  return lines.join('\n');
}

if (values.table) {
  console.log(table(readResults().values()));
  process.exit(0);
}

const list = JSON.parse(
  execFileSync(python, [path.join(here, 'zoo_checkpoint.py'), '--list'], { encoding: 'utf8' }),
);
const wanted = values.archs ? new Set(values.archs.split(',')) : undefined;
const skipAbove = values['skip-larger-than'] ? Number(values['skip-larger-than']) : Number.POSITIVE_INFINITY;
const done = readResults();
mkdirSync(values['work-dir'], { recursive: true });
console.error(
  `zoo: ${os.cpus()[0]?.model}, ${os.availableParallelism()} cores, Node ${process.version}, onnxruntime-node ` +
    `${ort.env.versions?.common ?? '1.30'}, results → ${resultsFile}`,
);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function ortSpeed(modelPath, vectors) {
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  try {
    const [, c, h, w] = vectors.inputShape;
    const input = new ort.Tensor('float32', vectors.inputs.subarray(0, c * h * w), [1, c, h, w]);
    const feeds = { [session.inputNames[0]]: input };
    await session.run(feeds); // warm-up
    const ms = [];
    const start = performance.now();
    while (ms.length < 5 || (ms.length < 15 && performance.now() - start < 5000)) {
      const t = performance.now();
      await session.run(feeds);
      ms.push(performance.now() - t);
    }
    return { ortMs: median(ms), ortMsMin: Math.min(...ms), ortMsMax: Math.max(...ms), ortRuns: ms.length };
  } finally {
    await session.release();
  }
}

/** onnxruntime's logits for every parity sample (one at a time), for the per-element statistics. */
async function ortLogits(modelPath, vectors) {
  const session = await ort.InferenceSession.create(modelPath);
  try {
    const [n, c, h, w] = vectors.inputShape;
    const classes = vectors.logitsShape[1];
    const out = new Float32Array(n * classes);
    for (let i = 0; i < n; i++) {
      const input = new ort.Tensor('float32', vectors.inputs.subarray(i * c * h * w, (i + 1) * c * h * w), [
        1,
        c,
        h,
        w,
      ]);
      const r = await session.run({ [session.inputNames[0]]: input });
      out.set(r[session.outputNames[0]].data, i * classes);
    }
    return out;
  } finally {
    await session.release();
  }
}

for (const entry of list) {
  const { arch } = entry;
  if (wanted && !wanted.has(arch)) continue;
  if (done.has(arch)) continue;
  if ((entry.parameters ?? 0) > skipAbove) {
    console.error(`zoo: ${arch}: skipped (${entry.parameters} parameters)`);
    continue;
  }
  const dir = path.join(values['work-dir'], arch);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const row = {
    arch,
    weights: entry.weights,
    parameters: entry.parameters,
    inputSize: entry.transform?.cropSize?.[0],
  };
  const started = performance.now();
  try {
    const weights = path.join(dir, `${arch}.pth`);
    execFileSync(
      python,
      [
        path.join(here, 'zoo_checkpoint.py'),
        '--arch',
        arch,
        '--out',
        weights,
        ...(values.raw ? ['--raw'] : []),
      ],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const result = await convertCheckpoint({
      arch,
      weights,
      out: path.join(dir, `${arch}.onnx`),
      onProgress: (p) => console.error(`zoo: ${arch}: [${p.step}/${p.total}] ${p.message}`),
    });
    rmSync(weights, { force: true });
    const report = await validateModel(result.modelPath, { numClasses: result.numClasses, load: true });
    // What checkParity does (run every parity sample, then compareLogits with the default rule and PyTorch's own
    // float32 errors from the parity file), keeping the onnxruntime logits for the statistics below.
    const vectors = await readParityVectors(result.parityFile);
    const onnx = await ortLogits(result.modelPath, vectors);
    const classes = vectors.logitsShape[1];
    const parity = compareLogits(vectors.logits, onnx, classes, {}, vectors.torchFloat32Error);
    const withoutFloor = compareLogits(vectors.logits, onnx, classes, { float32ErrorFactor: 0 });
    // Per sample: the smallest atol that passes at each rtol, the largest |Δ| relative to the sample's logit
    // scale, and PyTorch's own float32 error (max |float32 − float64|) from the parity file.
    const atolNeededAt = { 0: 0, '1e-5': 0, '1e-4': 0, '1e-3': 0 };
    const perSample = [];
    let absOverSampleScale = 0;
    for (let n = 0; n < vectors.samples; n++) {
      let scale = 0;
      let maxAbs = 0;
      let need = 0;
      for (let i = n * classes; i < (n + 1) * classes; i++) {
        const t = vectors.logits[i];
        const d = Math.abs(onnx[i] - t);
        scale = Math.max(scale, Math.abs(t));
        maxAbs = Math.max(maxAbs, d);
        need = Math.max(need, d - DEFAULT_PARITY_RTOL * Math.abs(t));
        for (const key of Object.keys(atolNeededAt))
          atolNeededAt[key] = Math.max(atolNeededAt[key], d - Number(key) * Math.abs(t));
      }
      absOverSampleScale = Math.max(absOverSampleScale, scale > 0 ? maxAbs / scale : 0);
      perSample.push({
        scale,
        maxAbs,
        atolNeeded: Math.max(0, need),
        float32Error: vectors.torchFloat32Error?.[n],
      });
    }
    const atolNeeded = atolNeededAt['1e-4']; // at the default rtol
    // The float32ErrorFactor each sample needs: its atol needed over PyTorch's own float32 error.
    const factorNeeded = Math.max(
      0,
      ...perSample.map((p) => (p.float32Error ? p.atolNeeded / p.float32Error : 0)),
    );
    Object.assign(row, {
      ok: report.ok && parity.ok,
      inputSize: result.inputShape[2],
      opset: result.opset,
      nodeCount: report.model?.nodeCount ?? result.nodeCount,
      opTypes: report.model ? Object.keys(report.model.opTypes).length : undefined,
      fileBytes: result.fileBytes,
      externalData: result.externalData,
      externalBytes: result.externalData ? report.model?.initializerBytes : 0,
      exportSeconds: result.exportSeconds,
      convertSeconds: result.seconds,
      builderKwargs: result.builderKwargs,
      recipe: result.manifest?.recipe?.name ?? result.manifest?.recipe,
      manifestSkipped: result.manifestSkipped,
      validation: {
        ok: report.ok,
        errors: report.errors.map((e) => e.code),
        warnings: report.warnings.map((w) => w.code),
      },
      parityOk: parity.ok,
      rtol: parity.rtol,
      atol: parity.atol,
      samples: parity.samples,
      top1: parity.perSample.filter((s) => s.top1Agrees).length,
      referenceScale: parity.referenceScale,
      maxAbsDiff: parity.maxAbsDiff,
      maxRelDiff: parity.maxRelDiff,
      meanAbsDiff: parity.meanAbsDiff,
      violations: parity.violations,
      worst: parity.worst,
      atolNeeded: Math.max(0, atolNeeded),
      absOverScale: parity.maxAbsDiff / parity.referenceScale,
      absOverSampleScale,
      atolNeededAt,
      perSample,
      torchFloat32Error: parity.torchFloat32Error,
      factorNeeded,
      violationsWithoutFloor: withoutFloor.violations,
      ...(values['no-speed'] ? {} : await ortSpeed(result.modelPath, vectors)),
      loadAverage: os.loadavg()[0],
    });
  } catch (err) {
    Object.assign(row, { ok: false, error: { code: err.code ?? err.name, message: err.message } });
  }
  row.totalSeconds = (performance.now() - started) / 1000;
  appendFileSync(resultsFile, `${JSON.stringify(row)}\n`);
  console.error(
    `zoo: ${arch}: ${row.ok ? 'OK' : 'FAILED'} ${row.error ? `${row.error.code}: ${row.error.message.split('\n')[0]}` : `max |Δ| ${fmt.exp(row.maxAbsDiff)} rel ${fmt.exp(row.maxRelDiff)} scale ${row.referenceScale?.toPrecision(2)} atol needed ${fmt.exp(row.atolNeeded)} ORT ${fmt.fixed(row.ortMs, 1)} ms`} (${row.totalSeconds.toFixed(0)} s)`,
  );
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
console.log(table(readResults().values()));
console.error(
  `zoo: default rule |Δ| ≤ max(${DEFAULT_PARITY_ATOL}, ${DEFAULT_FLOAT32_ERROR_FACTOR} × PyTorch's float32 error) + ${DEFAULT_PARITY_RTOL}·|torch|`,
);
