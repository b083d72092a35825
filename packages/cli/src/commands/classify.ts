/**
 * `mtailor classify <files or folders…>`: top-k ImageNet predictions for images, one line (or JSON object) each.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  ImageClassifier,
  type Int8Kernels,
  type Int8KernelsReport,
  type MtailorError,
  type StreamItem,
} from '@mtailor/core';
import { availableCpus, INT8_KERNELS } from '@mtailor/core/internal';
import cliProgress from 'cli-progress';
import { EXIT_USAGE, nonNegativeInt, parseOrReportUsage, positiveInt, UsageError } from '../args.js';
import { IMAGE_EXTENSIONS, listInputs } from '../batch/inputs.js';
import { recordLine, recordOf } from '../batch/records.js';
import { BATCH_ARG_OPTIONS, BATCH_USAGE, parseBatchOptions, runBatch } from '../batch/run-batch.js';
import type { Command } from '../command.js';
import { sizeWorkerHeaps } from '../worker-heaps.js';

/** From this many images on, the CLI decodes in worker threads by default. */
const WORKERS_FROM = 500;
/**
 * Longest a batch of a folder job waits for more decoded images, in ms. It ends a wait only when decoding stalls:
 * while images arrive a batch fills well before, and when none is being decoded it leaves at once.
 */
const BULK_MAX_DELAY_MS = 50;

const USAGE = `Usage: mtailor classify <files or folders…> [options]
       mtailor classify <files or folders…> --out <dir> [--shard <i>/<n>] [options]
       mtailor classify --inputs-from <list> --out <dir> [--shard <i>/<n>] [options]

Classifies images with an ONNX image classifier (PyTorch-identical preprocessing) and prints the top-k classes.
Folders are searched recursively for ${[...IMAGE_EXTENSIONS].join(' ')} files.

Options:
  --model <file.onnx>    the ONNX image classifier to run (default: $MTAILOR_MODEL)
  --manifest <file.json> a model manifest (model file, recipe, labels) instead of --model
  --top-k <n>            predictions per image (default 5)
  --batch-size <n>       images per onnxruntime call (default 8)
  --resize exact|fast    resize engine: exact = Pillow-identical (default), fast = sharp's resize
  --no-auto-orient       ignore EXIF orientation, as torchvision does (default: photos are turned upright)
  --workers <n>          preprocessing worker threads (default: available CPUs from ${WORKERS_FROM} images on,
                         0 below: workers cost start-up time a short job does not win back)
  --threads <n>          onnxruntime intra-op threads (default 1 when decoding in workers, else all CPUs)
  --json                 one JSON object per line per image: {"file", "predictions", "timings"} or {"file", "error"}
  --int8-kernels exact|native
                         int8 models: exact = the model's integer arithmetic on every CPU (default; int8 weights
                         stored as uint8 where this CPU's fast kernels would saturate), native = onnxruntime's
                         fastest kernels as they are (answers differ on x86 CPUs without VNNI)
  --verbose              say which int8 kernels run and why (CPU int8 flags, saturation probe) before the results
  -h, --help             this text

${BATCH_USAGE}

No model yet? \`mtailor convert\` turns a PyTorch checkpoint into one; any ONNX classifier with one float32
[N,3,H,W] (or [N,H,W,3]) input and one [N,classes] output works (\`mtailor validate model.onnx\` checks it).

Exit codes: 0 all images classified, 1 some image or the model failed, 2 usage error (no model given is one).
With --out: 0 the shard is published (now or by an earlier run; failed images are lines of the output), 1 the
model failed, 2 usage or configuration error (also: the output folder belongs to another job), 3 more than
--max-errors images failed.`;

/** Said when no model is given: exactly what to pass, and where a model comes from. */
const NO_MODEL = `mtailor classify: no model given. Pass one of:
  --model <file.onnx>     an ONNX image classifier (one float32 [N,3,H,W] input, one [N,classes] output)
  --manifest <file.json>  a model manifest: {"model": "model.onnx", "recipe": "resize-224", "labels": "imagenet1k", "numClasses": 1000}
or set MTAILOR_MODEL=<file.onnx>. No model yet? Convert a PyTorch checkpoint:
  mtailor convert --arch <torchvision name, e.g. resnet50> --weights <state_dict.pth> --out model.onnx
`;

/** The command line, checked: {@link UsageError} on a mistake (util.parseArgs throws its own for unknown options). */
function parse(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      model: { type: 'string' },
      manifest: { type: 'string' },
      'top-k': { type: 'string' },
      'batch-size': { type: 'string' },
      resize: { type: 'string' },
      workers: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean', default: false },
      'int8-kernels': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      'no-auto-orient': { type: 'boolean', default: false },
      ...BATCH_ARG_OPTIONS,
    },
  });
  const batch = parseBatchOptions(values, positionals);
  if (positionals.length === 0 && batch?.inputsFrom === undefined)
    throw new UsageError('no files or folders given');
  const resize = values.resize ?? 'exact';
  if (resize !== 'exact' && resize !== 'fast')
    throw new UsageError(`--resize expects exact or fast, got "${resize}"`);
  const int8Kernels = values['int8-kernels'] ?? 'exact';
  if (!(INT8_KERNELS as readonly string[]).includes(int8Kernels))
    throw new UsageError(`--int8-kernels expects ${INT8_KERNELS.join(' or ')}, got "${int8Kernels}"`);
  if (values.model !== undefined && values.manifest !== undefined)
    throw new UsageError('give --model or --manifest, not both');
  return {
    values,
    positionals,
    topK: positiveInt('top-k', values['top-k']) ?? 5,
    batchSize: positiveInt('batch-size', values['batch-size']) ?? 8,
    workers: nonNegativeInt('workers', values.workers),
    threads: positiveInt('threads', values.threads),
    resize: resize as 'exact' | 'fast',
    int8Kernels: int8Kernels as Int8Kernels,
    batch,
  };
}

/**
 * Loads the classifier the command line asks for, sized for `imageCount` images: worker threads from
 * {@link WORKERS_FROM} images on unless `--workers` says otherwise.
 */
function openClassifier(
  parsed: ReturnType<typeof parse>,
  modelPath: string | undefined,
  imageCount: number,
): Promise<ImageClassifier> {
  // A short job decodes faster on the calling thread (sharp still decodes on libuv's pool): workers' start-up
  // and JIT warm-up are only won back over many images.
  const workers = parsed.workers ?? (imageCount >= WORKERS_FROM ? availableCpus() : 0);
  const threads = parsed.threads ?? (workers > 0 ? 1 : availableCpus());
  if (workers > 0) sizeWorkerHeaps();
  return ImageClassifier.create({
    ...(modelPath ? { model: modelPath } : { manifest: parsed.values.manifest! }),
    resize: parsed.resize,
    autoOrient: !parsed.values['no-auto-orient'],
    maxBatchSize: parsed.batchSize,
    intraOpThreads: threads,
    int8Kernels: parsed.int8Kernels,
    workers,
    // A short job on the calling thread skips the workers' start-up. A long one runs the whole pipeline in each
    // worker (its own session): no thread beyond the workers, and inference grows with them — one inference
    // thread would cap a many-core machine at one core of inference. In a folder more images are always on their
    // way, so a batch may wait for company (BULK_MAX_DELAY_MS): full batches cost less per image.
    inferenceThread: workers === 0 ? 'caller' : 'decode-workers',
    ...(workers === 0 ? {} : { maxDelayMs: BULK_MAX_DELAY_MS }),
  });
}

function formatHuman(item: StreamItem<string>): string {
  if (!item.ok) return '';
  const preds = item.predictions
    .map((p) => `${p.label} (${p.index}) ${(p.probability * 100).toFixed(2)}%`)
    .join(' · ');
  return `${item.input}  ${preds}\n`;
}

/** One line: which int8 kernels run, whether exact, why, and what the CPU showed. */
function describeInt8(r: Int8KernelsReport): string {
  const probe = r.cpu.u8s8Exact === undefined ? 'not needed' : r.cpu.u8s8Exact ? 'exact' : 'saturates';
  return (
    `int8 kernels: ${r.kernels} (${r.exact ? 'exact' : 'NOT exact'}; asked ${r.requested}): ${r.reason}. ` +
    `${r.int8Weights} int8 weight tensors${r.rewritten ? `, ${r.rewritten} stored as uint8` : ''}; ` +
    `CPU ${r.cpu.arch}, int8 flags: ${r.cpu.flags.join(' ') || 'none'}; saturation probe: ${probe}`
  );
}

function errorLine(file: string, error: { code: string; message: string }): string {
  return `mtailor classify: ${file}: ${error.code}: ${error.message}\n`;
}

export const command: Command = {
  summary: 'classify images (files or folders) with an ONNX model: top-k classes per image',
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    const parsed = parseOrReportUsage('classify', USAGE, () => parse(args));
    if (parsed === undefined) return EXIT_USAGE;
    const { values, positionals, topK, resize } = parsed;

    // No built-in default: an installed CLI has no model beside it. (In this repository, `pnpm mtailor` sets
    // MTAILOR_MODEL to the shared int8 MobileNetV2, so the README's first command needs no flags.)
    const modelPath = values.manifest ? undefined : (values.model ?? process.env.MTAILOR_MODEL);
    if (modelPath === undefined && values.manifest === undefined) {
      process.stderr.write(NO_MODEL);
      return EXIT_USAGE;
    }
    const given = values.manifest ?? modelPath!;
    if (!existsSync(given)) {
      const from = values.manifest ? '--manifest' : values.model ? '--model' : 'MTAILOR_MODEL';
      process.stderr.write(
        `mtailor classify: ${values.manifest ? 'manifest' : 'model'} not found: ${path.resolve(given)} (from ${from}).\n` +
          'Pass --model <file.onnx> or --manifest <file.json>, or set MTAILOR_MODEL to an ONNX image classifier.\n',
      );
      return EXIT_USAGE;
    }

    if (parsed.batch)
      return runBatch(parsed.batch, {
        positionals,
        topK,
        resize,
        autoOrient: !values['no-auto-orient'],
        openClassifier: (imageCount) => openClassifier(parsed, modelPath, imageCount),
      });

    const { inputs: files, hadFolder } = await listInputs(positionals);
    let failed = 0;
    // A closed stdout (e.g. `| head`) ends the run quietly instead of crashing on EPIPE.
    let stdoutClosed = false;
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') stdoutClosed = true;
      else throw err;
    });

    let classifier: ImageClassifier;
    try {
      classifier = await openClassifier(parsed, modelPath, files.length);
    } catch (err) {
      const e = err as MtailorError;
      process.stderr.write(`mtailor classify: cannot load the model: ${e.code ?? 'ERROR'}: ${e.message}\n`);
      return 1;
    }

    const int8 = classifier.model.int8Kernels;
    if (values.verbose) process.stderr.write(`mtailor classify: ${describeInt8(int8)}\n`);

    const showBar = process.stderr.isTTY === true && hadFolder && files.length > 0;
    const bar = showBar
      ? new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: 'classify [{bar}] {value}/{total} images | {rate} img/s | ETA {eta}s',
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    bar?.start(files.length, 0, { rate: '0' });
    const start = performance.now();
    let done = 0;
    const write = (stream: NodeJS.WriteStream, text: string): void => {
      if (!text) return;
      // Clear the bar's line before printing on the same terminal; the next update redraws it.
      if (bar && stream.isTTY) process.stderr.write('\r\x1b[2K');
      stream.write(text);
    };
    try {
      for await (const item of classifier.classifyStream(files, { topK })) {
        done++;
        if (item.ok) {
          write(process.stdout, values.json ? recordLine(recordOf(item.input, item)) : formatHuman(item));
        } else {
          failed++;
          const error = { code: item.error.code, message: item.error.message };
          write(process.stderr, errorLine(item.input, error));
          if (values.json) write(process.stdout, recordLine({ file: item.input, error }));
        }
        bar?.update(done, { rate: (done / ((performance.now() - start) / 1000)).toFixed(0) });
        if (stdoutClosed) break;
      }
    } finally {
      bar?.stop();
      await classifier.close();
    }
    const seconds = (performance.now() - start) / 1000;
    process.stderr.write(
      `mtailor classify: ${done - failed} of ${files.length} images classified in ${seconds.toFixed(2)} s` +
        ` (${(done / seconds).toFixed(0)} img/s)${failed ? `; ${failed} failed` : ''}` +
        (int8.int8Weights > 0
          ? `; int8 kernels: ${int8.kernels}${int8.exact ? '' : ' (not exact on this CPU)'}`
          : '') +
        '\n',
    );
    return failed > 0 ? 1 : 0;
  },
};
