#!/usr/bin/env node
/**
 * Baseline for the throughput bench: Transformers.js (`@huggingface/transformers`) classifying images in Node with
 * an ONNX ImageNet classifier, used the way its documentation shows — `pipeline('image-classification', …)` over
 * file paths — and timed end to end (file read + sharp decode + Transformers.js preprocessing + onnxruntime-node +
 * softmax/top-k), after a warm-up.
 *
 * Nothing is downloaded and nothing is written into the repository: the Transformers.js model folder
 * (`config.json`, `preprocessor_config.json`, `onnx/model*.onnx`) is built in a new temporary folder for every run
 * and removed afterwards, `env.allowRemoteModels` is false, the file cache is off, and a guard replaces `fetch`,
 * `net.Socket#connect` and `dns.lookup` while Transformers.js runs, so an attempted request fails loudly and is counted.
 *
 * Why the model file is sometimes a renamed copy and not a symlink: Transformers.js feeds a classifier by input name
 * (`pixel_values`, see `encoder_forward`/`validateInputs` in its dist) and reads the output `logits`. The shared
 * models name their input `input`, so for them the temporary folder gets a copy whose graph input is renamed (onnx-proto
 * decode → rename → encode; the copy's logits are checked identical to the original's). A model already named
 * `pixel_values`/`logits` is symlinked.
 *
 * Usage:
 *   node bench/baselines/transformers-js.mjs <folder-of-images> [--model <onnx>] [--batch-size 8] [--runs 3]
 *        [--dtype q8|fp32] [--reference <json>[,<json>]]
 * Settings: MTAILOR_SHARED_DIR (default ../shared beside the repo) for the default model, class table and references.
 *
 * @example
 * ```js
 * import { runTransformersJs } from './bench/baselines/transformers-js.mjs';
 * const r = await runTransformersJs({
 *   modelPath: '../shared/models/mobilenet_v2_int8_qdq.onnx',
 *   images: ['../shared/images/n01440764_tench.JPEG'],
 *   labelsTsv: '../shared/data/imagenet1k-classes.tsv',
 *   batchSize: 8,
 * });
 * console.log(r.imagesPerSecond, r.top1); // e.g. 70.1 [ 0 ]
 * ```
 * @module
 */
import dns from 'node:dns';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import onnxProto from 'onnx-proto';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const require = createRequire(import.meta.url);

/** The ImageNet normalisation torchvision's `Normalize` uses (and the shared models expect). */
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/**
 * The `preprocessor_config.json` closest to the seed's torchvision preprocessing
 * (`Resize((224, 224), bilinear) → ToTensor → Normalize(ImageNet)`, no crop) that Transformers.js accepts.
 * `size` must be `{height, width}`: an integer would mean "shortest edge" and keep the aspect ratio.
 * `resample: 2` is PIL's BILINEAR number; Transformers.js maps it to sharp `affine(…, { interpolator: 'bilinear' })`.
 */
export const PREPROCESSOR_CONFIG = Object.freeze({
  image_processor_type: 'MobileNetV2ImageProcessor',
  do_convert_rgb: true,
  do_resize: true,
  size: { height: 224, width: 224 },
  resample: 2,
  do_center_crop: false,
  do_rescale: true,
  rescale_factor: 1 / 255,
  do_normalize: true,
  image_mean: IMAGENET_MEAN,
  image_std: IMAGENET_STD,
});

/** The Transformers.js `dtype` → model file name it loads (its DEFAULT_DTYPE_SUFFIX_MAPPING, for the two we use). */
const MODEL_FILE_FOR_DTYPE = { fp32: 'model.onnx', q8: 'model_quantized.onnx' };

/**
 * Reads the class table (`index<TAB>wnid<TAB>label`, header line first).
 * torchvision's own ImageNet names repeat ("crane", "maillot"; the shared table already tells them apart): repeated
 * names get their wnid appended, so that the label the pipeline returns maps back to exactly one class index.
 * @param {string} labelsTsv
 * @returns {{ id2label: Record<string, string>, label2id: Record<string, number> }}
 */
export function readLabels(labelsTsv) {
  const rows = readFileSync(labelsTsv, 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [index, wnid, label] = l.split('\t');
      return { index: Number(index), wnid, label: label?.trim() };
    });
  rows.forEach((r, i) => {
    if (r.index !== i || !r.wnid || !r.label)
      throw new Error(`Expected row ${i + 1} of ${labelsTsv} to be "${i}<TAB>wnid<TAB>label"`);
  });
  const counts = new Map();
  for (const r of rows) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
  const id2label = {};
  const label2id = {};
  for (const r of rows) {
    const label = counts.get(r.label) > 1 ? `${r.label} (${r.wnid})` : r.label;
    id2label[String(r.index)] = label;
    label2id[label] = r.index;
  }
  return { id2label, label2id };
}

/**
 * A Hugging Face `config.json` for torchvision's MobileNetV2 on ImageNet-1k (1000 classes, torchvision order; the
 * HF hub's google/mobilenet_v2 has 1001 with a background class, so its id2label would be off by one here).
 * Transformers.js only reads `model_type`/`architectures` (→ MobileNetV2ForImageClassification) and `id2label`.
 */
function mobilenetV2Config({ id2label, label2id }, dtype) {
  return {
    architectures: ['MobileNetV2ForImageClassification'],
    model_type: 'mobilenet_v2',
    num_channels: 3,
    image_size: 224,
    depth_multiplier: 1.0,
    depth_divisible_by: 8,
    min_depth: 8,
    expand_ratio: 6,
    output_stride: 32,
    first_layer_is_expansion: true,
    finegrained_output: true,
    hidden_act: 'relu6',
    tf_padding: false,
    classifier_dropout_prob: 0.2,
    num_labels: Object.keys(id2label).length,
    id2label,
    label2id,
    'transformers.js_config': { dtype, device: 'cpu' },
  };
}

const M = onnxProto.onnx.ModelProto;

/** Graph inputs that are not initializers (older exports list weights as inputs too). */
function realInputs(graph) {
  const init = new Set(graph.initializer.map((t) => t.name));
  return graph.input.filter((i) => !init.has(i.name));
}

/**
 * Returns the model bytes with its single input renamed to `pixel_values` and single output to `logits` (what
 * Transformers.js feeds and reads), or null when it already has those names.
 * @param {Uint8Array} bytes
 */
function renameForTransformersJs(bytes) {
  const model = M.decode(bytes);
  const graph = model.graph;
  const inputs = realInputs(graph);
  if (inputs.length !== 1 || graph.output.length !== 1)
    throw new Error(
      `Expected an image classifier with one input and one output, but the model has inputs [${inputs.map((i) => i.name)}] and outputs [${graph.output.map((o) => o.name)}]`,
    );
  const renames = new Map();
  if (inputs[0].name !== 'pixel_values') renames.set(inputs[0].name, 'pixel_values');
  if (graph.output[0].name !== 'logits') renames.set(graph.output[0].name, 'logits');
  if (renames.size === 0) return null;
  const all = new Set([
    ...graph.node.flatMap((n) => [...n.input, ...n.output]),
    ...graph.initializer.map((t) => t.name),
  ]);
  for (const to of renames.values())
    if (all.has(to)) throw new Error(`Cannot rename to ${to}: the graph already has a value of that name`);
  const r = (name) => renames.get(name) ?? name;
  for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) v.name = r(v.name);
  for (const n of graph.node) {
    n.input = n.input.map(r);
    n.output = n.output.map(r);
  }
  return { bytes: M.encode(model).finish(), renames: Object.fromEntries(renames) };
}

/** True when the graph holds QuantizeLinear/DequantizeLinear or QLinear* nodes (an 8-bit model). */
function isQuantized(bytes) {
  const ops = new Set(M.decode(bytes).graph.node.map((n) => n.opType));
  return ops.has('DequantizeLinear') || [...ops].some((o) => o.startsWith('QLinear'));
}

/**
 * Builds the Transformers.js model folder in `dir` (a temporary folder). The model file is a symlink to `modelPath`
 * when its names already fit Transformers.js, otherwise a renamed copy (see the module comment).
 * @returns {{ modelId: string, modelFile: string, dtype: 'q8'|'fp32', renamed: Record<string,string>|null }}
 */
export function buildModelFolder({ dir, modelPath, labelsTsv, dtype }) {
  const bytes = readFileSync(modelPath);
  const chosen = dtype ?? (isQuantized(bytes) ? 'q8' : 'fp32');
  if (!(chosen in MODEL_FILE_FOR_DTYPE))
    throw new Error(`Expected dtype "q8" or "fp32" but received ${JSON.stringify(chosen)}`);
  const modelId = 'mtailor/baseline-classifier';
  const modelDir = path.join(dir, modelId);
  mkdirSync(path.join(modelDir, 'onnx'), { recursive: true });
  const labels = readLabels(labelsTsv);
  writeFileSync(
    path.join(modelDir, 'config.json'),
    JSON.stringify(mobilenetV2Config(labels, chosen), null, 2),
  );
  writeFileSync(
    path.join(modelDir, 'preprocessor_config.json'),
    JSON.stringify(PREPROCESSOR_CONFIG, null, 2),
  );
  const modelFile = path.join(modelDir, 'onnx', MODEL_FILE_FOR_DTYPE[chosen]);
  const renamed = renameForTransformersJs(bytes);
  if (renamed) writeFileSync(modelFile, renamed.bytes);
  else symlinkSync(path.resolve(modelPath), modelFile);
  return { modelId, modelFile, dtype: chosen, renamed: renamed?.renames ?? null, labels };
}

/**
 * Checks that the renamed copy computes exactly what the original does: both run in onnxruntime-node (the one
 * Transformers.js resolves) on the same two pseudo-random inputs, and the logits must be bit-identical.
 * @returns {Promise<string>} what was checked, for the report.
 */
async function checkRenamedCopy(originalPath, copyPath) {
  const ort = createRequire(fileURLToPath(import.meta.resolve('@huggingface/transformers')))(
    'onnxruntime-node',
  );
  const data = new Float32Array(2 * 3 * 224 * 224);
  let seed = 12345;
  for (let i = 0; i < data.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    data[i] = (seed / 2 ** 32) * 4 - 2;
  }
  const logits = async (file, inputName) => {
    const session = await ort.InferenceSession.create(file);
    try {
      const out = await session.run({ [inputName]: new ort.Tensor('float32', data, [2, 3, 224, 224]) });
      return out[session.outputNames[0]].data;
    } finally {
      await session.release();
    }
  };
  const original = M.decode(readFileSync(originalPath));
  const a = await logits(originalPath, realInputs(original.graph)[0].name);
  const b = await logits(copyPath, 'pixel_values');
  const same = a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  if (!same) throw new Error(`The renamed copy ${copyPath} computes other logits than ${originalPath}`);
  return `logits bit-identical to the original on 2 pseudo-random inputs (${a.length} values)`;
}

/**
 * Replaces `fetch`, `net.Socket#connect` and `dns.lookup` with functions that record the attempt and throw, so that
 * any network request Transformers.js tried would fail and be reported. `restore()` puts the originals back.
 */
export function installNetworkGuard() {
  const attempts = [];
  const saved = { fetch: globalThis.fetch, connect: net.Socket.prototype.connect, lookup: dns.lookup };
  const refuse = (what) => {
    attempts.push(what);
    return new Error(`transformers-js baseline: network access refused (${what})`);
  };
  globalThis.fetch = async (input) => {
    throw refuse(`fetch ${input instanceof Request ? input.url : String(input)}`);
  };
  net.Socket.prototype.connect = function connect(...args) {
    throw refuse(`connect ${JSON.stringify(args[0])}`);
  };
  dns.lookup = (host) => {
    throw refuse(`dns.lookup ${host}`);
  };
  return {
    attempts,
    fetch: globalThis.fetch,
    restore() {
      globalThis.fetch = saved.fetch;
      net.Socket.prototype.connect = saved.connect;
      dns.lookup = saved.lookup;
    },
  };
}

/** The version in the package.json of the package `name` as `req` resolves it (walking up from its entry point). */
function packageVersion(req, name) {
  try {
    let dir = path.dirname(req.resolve(name));
    for (;;) {
      const file = path.join(dir, 'package.json');
      if (statSync(file, { throwIfNoEntry: false })) {
        const pkg = JSON.parse(readFileSync(file, 'utf8'));
        if (pkg.name === name) return pkg.version;
      }
      const up = path.dirname(dir);
      if (up === dir) return 'unresolved';
      dir = up;
    }
  } catch {
    return 'unresolved';
  }
}

/** Versions of what the baseline runs on (onnxruntime-node and sharp as Transformers.js itself resolves them). */
export function versions() {
  const fromTfjs = createRequire(fileURLToPath(import.meta.resolve('@huggingface/transformers')));
  let libvips = 'unresolved';
  try {
    libvips = fromTfjs('sharp').versions.vips;
  } catch {}
  return {
    node: process.versions.node,
    transformers: packageVersion(require, '@huggingface/transformers'),
    'onnxruntime-node': packageVersion(fromTfjs, 'onnxruntime-node'),
    sharp: packageVersion(fromTfjs, 'sharp'),
    libvips,
  };
}

/**
 * Runs Transformers.js' image-classification pipeline over `images` (file paths), `batchSize` paths per pipeline
 * call (the pipeline's own batching: an array in, one onnxruntime run over the stacked batch), top-k 1, and times
 * every call after a warm-up call on the first batch. Decoding and preprocessing are inside the timed calls.
 *
 * @param {object} options
 * @param {string} options.modelPath ONNX image classifier (one float32 NCHW input, one [batch, classes] output).
 * @param {string[]} options.images image file paths, classified in this order.
 * @param {string} options.labelsTsv class table (`index<TAB>wnid<TAB>label`) for `id2label`.
 * @param {number} [options.batchSize=8] images per pipeline call.
 * @param {'q8'|'fp32'} [options.dtype] Transformers.js dtype (default: q8 for a quantized graph, else fp32).
 * @returns {Promise<{ imagesPerSecond: number, seconds: number, count: number, top1: number[], info: object }>}
 *   `top1[i]` is the class index for `images[i]`; `info` says what ran (versions, dtype, model file, preprocessing
 *   the image processor applied, batching, network attempts).
 * @example
 * ```js
 * const { imagesPerSecond, top1 } = await runTransformersJs({ modelPath, images, labelsTsv, batchSize: 8 });
 * ```
 */
export async function runTransformersJs({ modelPath, images, labelsTsv, batchSize = 8, dtype } = {}) {
  if (typeof modelPath !== 'string' || !statSync(modelPath, { throwIfNoEntry: false })?.isFile())
    throw new TypeError(`Expected modelPath to be an ONNX file but received ${JSON.stringify(modelPath)}`);
  if (typeof labelsTsv !== 'string' || !statSync(labelsTsv, { throwIfNoEntry: false })?.isFile())
    throw new TypeError(`Expected labelsTsv to be a file but received ${JSON.stringify(labelsTsv)}`);
  if (!Array.isArray(images) || images.length === 0 || images.some((p) => typeof p !== 'string'))
    throw new TypeError(`Expected images to be a non-empty array of paths but received ${typeof images}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new TypeError(
      `Expected positive integer for batchSize but received ${batchSize} of type ${typeof batchSize}`,
    );

  const dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-tfjs-'));
  const guard = installNetworkGuard();
  let classifier;
  try {
    const folder = buildModelFolder({ dir, modelPath, labelsTsv, dtype });
    const copyCheck = folder.renamed ? await checkRenamedCopy(modelPath, folder.modelFile) : null;
    const { pipeline, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = dir;
    env.useFSCache = false;
    env.useBrowserCache = false;
    env.useWasmCache = false;
    env.cacheDir = path.join(dir, 'cache');
    env.fetch = guard.fetch;

    classifier = await pipeline('image-classification', folder.modelId, {
      dtype: folder.dtype,
      device: 'cpu',
      local_files_only: true,
    });
    const files = images.map((p) => path.resolve(p));
    const labelToIndex = folder.labels.label2id;
    const indexOf = (result) => {
      const i = labelToIndex[result[0].label];
      if (i === undefined) throw new Error(`Transformers.js returned an unknown label ${result[0].label}`);
      return i;
    };

    // Warm-up: the first batch, untimed (session's first run, sharp/libvips start, the top-k op's session).
    await classifier(files.slice(0, batchSize), { top_k: 1 });

    const top1 = new Array(files.length);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let start = 0; start < files.length; start += batchSize) {
      const batch = files.slice(start, start + batchSize);
      const out = await classifier(batch, { top_k: 1 });
      for (let j = 0; j < batch.length; j++) top1[start + j] = indexOf(out[j]);
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);

    const p = classifier.processor.image_processor ?? classifier.processor;
    return {
      imagesPerSecond: files.length / seconds,
      seconds,
      count: files.length,
      top1,
      info: {
        versions: versions(),
        dtype: folder.dtype,
        modelFile: path.relative(dir, folder.modelFile),
        modelFileIs: folder.renamed
          ? `renamed copy in the temporary folder (${JSON.stringify(folder.renamed)}; ${copyCheck})`
          : `symlink to ${path.resolve(modelPath)}`,
        cpuMsPerImage: (cpu.user + cpu.system) / 1000 / files.length,
        batching: `pipeline(array of ${batchSize} paths) → one onnxruntime run per array`,
        preprocessing: {
          processor: p.constructor.name,
          do_convert_rgb: p.do_convert_rgb,
          do_resize: p.do_resize,
          size: p.size,
          resample: p.resample,
          do_center_crop: p.do_center_crop ?? false,
          do_rescale: p.do_rescale,
          rescale_factor: p.rescale_factor,
          do_normalize: p.do_normalize,
          image_mean: p.image_mean,
          image_std: p.image_std,
        },
        networkAttempts: [...guard.attempts],
      },
    };
  } finally {
    await classifier?.dispose?.();
    guard.restore();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Top-1 agreement of `top1` (class indices for `files`) with a shared reference JSON
 * (`{ images: { "<name>": { top5, logits } } }`), matched by the real file name (symlinks resolved). Where the
 * reference's best logits tie, any of the tied classes counts as agreement (the reference's own rule).
 */
export function agreement(files, top1, referenceJson) {
  const ref = JSON.parse(readFileSync(referenceJson, 'utf8')).images;
  let matched = 0;
  let agree = 0;
  const unique = new Map();
  files.forEach((f, i) => {
    const name = path.basename(realpathSync(f));
    const r = ref[name];
    if (!r) return;
    matched++;
    const ok = r.top5.some((c, k) => r.logits[k] === r.logits[0] && c === top1[i]);
    if (ok) agree++;
    unique.set(name, ok);
  });
  const uniqueAgree = [...unique.values()].filter(Boolean).length;
  return { matched, agree, unique: unique.size, uniqueAgree };
}

// ---- command line ------------------------------------------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function machine() {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}`;
}

async function main(argv) {
  const positional = [];
  const opts = { runs: '3', 'batch-size': '8' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) opts[a.slice(2)] = argv[++i];
    else positional.push(a);
  }
  const sharedDir = path.resolve(process.env.MTAILOR_SHARED_DIR ?? path.join(repoRoot, '..', 'shared'));
  const folder = positional[0];
  if (!folder || !statSync(folder, { throwIfNoEntry: false })?.isDirectory()) {
    console.error(
      'usage: node bench/baselines/transformers-js.mjs <folder-of-images> [--model <onnx>] [--batch-size 8] [--runs 3] [--dtype q8|fp32] [--reference a.json,b.json]',
    );
    process.exit(2);
  }
  const modelPath = opts.model ?? path.join(sharedDir, 'models', 'mobilenet_v2_int8_qdq.onnx');
  const labelsTsv = opts.labels ?? path.join(sharedDir, 'data', 'imagenet1k-classes.tsv');
  const batchSize = Number(opts['batch-size']);
  const runs = Number(opts.runs);
  const images = readdirSync(folder)
    .filter((f) => /\.(jpe?g|png|webp|gif|tiff?|avif)$/i.test(f))
    .sort()
    .map((f) => path.join(folder, f));
  const defaultRefs = {
    'mobilenet_v2_int8_qdq.onnx': [
      'torch_mobilenet_v2_int8.json',
      'ort_mobilenet_v2_int8_on_torchvision_tensors.json',
    ],
    'mobilenet_v2_float.onnx': ['torch_mobilenet_v2_float.json'],
  };
  const references = opts.reference
    ? opts.reference.split(',')
    : (defaultRefs[path.basename(modelPath)] ?? []).map((f) => path.join(sharedDir, 'reference', f));

  const v = versions();
  console.log(`machine: ${machine()}`);
  console.log(
    `node ${v.node}, @huggingface/transformers ${v.transformers}, onnxruntime-node ${v['onnxruntime-node']}, sharp ${v.sharp} (libvips ${v.libvips})`,
  );
  console.log(
    `model: ${modelPath}\nimages: ${images.length} from ${folder}; batch size ${batchSize}; ${runs} runs`,
  );

  const rates = [];
  const cpuMs = [];
  let last;
  for (let run = 1; run <= runs; run++) {
    const loadBefore = os.loadavg()[0];
    const r = await runTransformersJs({ modelPath, images, labelsTsv, batchSize, dtype: opts.dtype });
    const loadAfter = os.loadavg()[0];
    rates.push(r.imagesPerSecond);
    cpuMs.push(r.info.cpuMsPerImage);
    if (r.info.networkAttempts.length > 0)
      throw new Error(`Transformers.js attempted network access: ${r.info.networkAttempts.join('; ')}`);
    if (last?.top1.some((c, i) => c !== r.top1[i])) console.log('  note: top-1 differs between runs');
    last = r;
    console.log(
      `run ${run}: ${r.imagesPerSecond.toFixed(1)} img/s (${r.count} images in ${r.seconds.toFixed(2)} s; ${r.info.cpuMsPerImage.toFixed(1)} CPU-ms/img, all threads), load average (1 min) ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)}`,
    );
  }
  console.log(
    `Transformers.js: ${median(rates).toFixed(1)} img/s median [${Math.min(...rates).toFixed(1)}–${Math.max(...rates).toFixed(1)}] over ${runs} runs, batch ${batchSize}, dtype ${last.info.dtype}; ${median(cpuMs).toFixed(1)} CPU-ms/img median [${Math.min(...cpuMs).toFixed(1)}–${Math.max(...cpuMs).toFixed(1)}]`,
  );
  console.log(
    `model file: ${last.info.modelFile} (${last.info.modelFileIs}); batching: ${last.info.batching}`,
  );
  console.log(`preprocessing applied: ${JSON.stringify(last.info.preprocessing)}`);
  console.log(`network requests attempted: ${last.info.networkAttempts.length}`);
  for (const ref of references) {
    const a = agreement(images, last.top1, ref);
    console.log(
      `top-1 agreement with ${path.basename(ref)}: ${a.uniqueAgree}/${a.unique} distinct images (${((100 * a.uniqueAgree) / a.unique).toFixed(1)} %)` +
        (a.matched !== a.unique ? `, ${a.agree}/${a.matched} over all ${a.matched} files` : ''),
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
