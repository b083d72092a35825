/**
 * `mtailor classify … --out <dir>`: one shard of a batch job, exactly once under kills, retries and duplicate
 * workers. The worker reads the whole input list (streamed; the same in every worker), keeps its shard's range, classifies
 * what no committed segment of its work folder holds, commits results every `--checkpoint-every` inputs, then
 * publishes the shard's part and record; the worker that finishes the job's last shard writes `_SUCCESS`. See
 * `output-dir.ts` for the folder's layout.
 * @module
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ClassifierInput, ImageClassifier, MtailorError } from '@mtailor/core';
import { AddressPolicy, fetchImage, URL_FETCH_LIMITS } from '@mtailor/server/internal';
import { EXIT_USAGE, positiveInt, UsageError } from '../args.js';
import { publishText } from './commit.js';
import { BatchError, EXIT_TOO_MANY_ERRORS } from './errors.js';
import { isUrl, readInputsFrom, shardInputs, walkInputs } from './inputs.js';
import {
  checkFolder,
  checkSameJob,
  claimPlan,
  committedSegments,
  countSegments,
  type JobPlan,
  type OutputFormat,
  publishPart,
  removeWork,
  ShardFiles,
  segmentName,
  trySummary,
  uncovered,
} from './output-dir.js';
import { ShardProgress } from './progress.js';
import { type ResultRecord, recordLine, recordOf } from './records.js';
import { parseShard, type ShardSpec, shardFromEnv, shardRange } from './shard.js';

/** Options of a batch run, from the command line. */
export interface BatchOptions {
  out: string;
  format: OutputFormat;
  /** From `--shard`; else the environment's, else the whole list as one shard. */
  shard: ShardSpec | undefined;
  /** Most failed inputs a shard may have and still be published; `undefined`: no limit. */
  maxErrors: number | undefined;
  inputsFrom: string | undefined;
  /** Hosts/CIDRs that URLs may reach although private or loopback (the server's `MTAILOR_URL_ALLOWLIST`). */
  urlAllowlist: string[];
  checkpointEvery: number;
  progressIntervalMs: number;
}

/** The option values a batch run reads (as `util.parseArgs` returns them). */
export interface BatchOptionValues {
  out?: string | undefined;
  format?: string | undefined;
  shard?: string | undefined;
  'max-errors'?: string | undefined;
  'inputs-from'?: string | undefined;
  'url-allowlist'?: string | undefined;
  'checkpoint-every'?: string | undefined;
  'progress-interval'?: string | undefined;
}

/** The `parseArgs` options of a batch run, for the classify command's option table. */
export const BATCH_ARG_OPTIONS = {
  out: { type: 'string' },
  format: { type: 'string' },
  shard: { type: 'string' },
  'max-errors': { type: 'string' },
  'inputs-from': { type: 'string' },
  'url-allowlist': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  'progress-interval': { type: 'string' },
} as const;

/** The usage text's lines for the batch options. */
export const BATCH_USAGE = `Batch jobs (results to files; sharded, resumable, each input exactly once):
  --out <dir>            write results to <dir>/part-<i>-of-<n>.jsonl instead of stdout (see the README)
  --format jsonl|parquet the parts' format (default jsonl; lines as --json prints them)
  --shard <i>/<n>        classify shard i (0-based) of n; default: from JOB_COMPLETION_INDEX + MTAILOR_SHARD_COUNT,
                         AWS_BATCH_JOB_ARRAY_INDEX/_SIZE, CLOUD_RUN_TASK_INDEX/_COUNT or BATCH_TASK_INDEX/_COUNT
  --inputs-from <file>   the inputs, one file path or http(s) URL per line (instead of files or folders)
  --url-allowlist <list> hosts/CIDRs (comma-separated) URLs may reach although private or loopback
  --max-errors <n>       publish no part and exit ${EXIT_TOO_MANY_ERRORS} once more than n inputs of the shard failed
  --checkpoint-every <n> inputs per committed checkpoint segment (default 1000)
  --progress-interval <s> seconds between JSON progress lines on stderr when it is not a terminal (default 10)`;

/**
 * The batch options, checked, or `undefined` without `--out`.
 *
 * @throws {@link UsageError} for a bad value, or a batch option without `--out`.
 */
export function parseBatchOptions(
  values: BatchOptionValues,
  positionals: readonly string[],
): BatchOptions | undefined {
  if (values.out === undefined) {
    const given = (Object.keys(BATCH_ARG_OPTIONS) as (keyof BatchOptionValues)[]).find(
      (k) => values[k] !== undefined,
    );
    if (given) throw new UsageError(`--${given} needs --out <dir>`);
    return undefined;
  }
  const format = values.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'parquet')
    throw new UsageError(`--format expects jsonl or parquet, got '${format}'`);
  if (values['inputs-from'] !== undefined && positionals.length > 0)
    throw new UsageError('give files or folders, or --inputs-from, not both');
  let shard: ShardSpec | undefined;
  try {
    shard = values.shard === undefined ? undefined : parseShard(values.shard);
  } catch (err) {
    const e = err as BatchError;
    throw new UsageError(`${e.code}: ${e.message}`);
  }
  const interval = values['progress-interval'];
  const seconds = interval === undefined ? 10 : Number(interval);
  if (interval !== undefined && (interval.trim() === '' || !Number.isFinite(seconds) || seconds <= 0))
    throw new UsageError(`--progress-interval expects a number of seconds above 0, got '${interval}'`);
  const maxErrors = values['max-errors'];
  if (maxErrors !== undefined && !/^\d+$/.test(maxErrors))
    throw new UsageError(`--max-errors expects a whole number, got '${maxErrors}'`);
  const urlAllowlist = (values['url-allowlist'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    new AddressPolicy(urlAllowlist);
  } catch (err) {
    throw new UsageError(`--url-allowlist: ${(err as Error).message}`);
  }
  return {
    out: values.out,
    format,
    shard,
    maxErrors: maxErrors === undefined ? undefined : Number(maxErrors),
    inputsFrom: values['inputs-from'],
    urlAllowlist,
    checkpointEvery: positiveInt('checkpoint-every', values['checkpoint-every']) ?? 1000,
    progressIntervalMs: seconds * 1000,
  };
}

/** What a batch run needs from the classify command. */
export interface BatchContext {
  positionals: readonly string[];
  topK: number;
  resize: 'exact' | 'fast';
  autoOrient: boolean;
  /** Loads the model, sized for a shard of `imageCount` images; rejects with the core's typed error. */
  openClassifier(imageCount: number): Promise<ImageClassifier>;
}

/** URL downloads kept in flight ahead of the classifier. */
const URLS_AHEAD = 8;

/**
 * Runs one shard to its end.
 *
 * @returns The exit code: 0 the shard is published (now or before), 1 the model failed to load,
 *   2 a usage or configuration error (bad shard, another job's folder), 3 more failures than `--max-errors`.
 */
export async function runBatch(options: BatchOptions, ctx: BatchContext): Promise<number> {
  const say = (text: string) => process.stderr.write(`mtailor classify: ${text}\n`);
  try {
    return await runShard(options, ctx, say);
  } catch (err) {
    if (err instanceof BatchError) {
      say(`${err.code}: ${err.message}`);
      return EXIT_USAGE;
    }
    throw err;
  }
}

async function runShard(
  options: BatchOptions,
  ctx: BatchContext,
  say: (text: string) => void,
): Promise<number> {
  const shard = options.shard ??
    shardFromEnv(process.env) ?? { index: 0, count: 1, source: 'no shard given' };
  const listed = await shardInputs(
    () => (options.inputsFrom ? readInputsFrom(options.inputsFrom) : walkInputs(ctx.positionals)),
    (n) => shardRange(n, shard),
  );
  const mine = listed.inputs;
  const total = mine.length;
  const range = { start: listed.start, end: listed.end };
  const files = new ShardFiles(options.out, shard, options.format);
  const wanted = {
    inputsDigest: listed.digest,
    totalInputs: listed.total,
    shardCount: shard.count,
    format: options.format,
    topK: ctx.topK,
    resize: ctx.resize,
    autoOrient: ctx.autoOrient,
  } satisfies Partial<JobPlan>;
  const tag = `shard ${shard.index}/${shard.count}`;

  const done = async (how: string): Promise<number> => {
    const summary = await trySummary(files);
    say(`${tag}: ${how}${summary ? `; every shard of the job is done: ${files.summary}` : ''}`);
    return 0;
  };
  // A finished shard rerun (an engine's retry, a duplicate pod) stops here, before loading the model.
  const finished = await files.finished();
  if (finished) {
    checkSameJob(finished.plan, wanted, files.record);
    return done(`already done (${files.part})`);
  }
  await checkFolder(options.out, wanted);
  await mkdir(options.out, { recursive: true });
  await files.prepare();

  let classifier: ImageClassifier;
  try {
    classifier = await ctx.openClassifier(total);
  } catch (err) {
    const e = err as MtailorError;
    say(`cannot load the model: ${e.code ?? 'ERROR'}: ${e.message}`);
    return 1;
  }
  const taken = async (): Promise<number> => {
    // A duplicate worker published the part (and removed the work folder, perhaps under us): the shard is done.
    await removeWork(files);
    return done(`another worker finished it (${files.part})`);
  };
  try {
    const plan: JobPlan = { ...wanted, modelSha256: classifier.model.sha256, recipe: classifier.recipe };
    await checkFolder(options.out, plan);
    await claimPlan(files, plan);
    const segments = await committedSegments(files.work);
    const before = await countSegments(segments, total);
    const todo = uncovered(total, segments);
    const progress = new ShardProgress(
      shard,
      total,
      before.inputs,
      before.failed,
      options.progressIntervalMs,
    );
    let failed = before.failed;
    let outcome: 'done' | 'taken' | 'too-many-errors' = 'done';
    try {
      outcome = await classifyRanges(classifier, mine, todo, files, options, ctx.topK, (record) => {
        const bad = 'error' in record;
        progress.tick(bad);
        if (bad) {
          failed++;
          progress.log(`mtailor classify: ${record.file}: ${record.error.code}: ${record.error.message}\n`);
        }
        return options.maxErrors !== undefined && failed > options.maxErrors;
      });
    } finally {
      progress.stop(outcome === 'done' ? 'done' : 'stopped');
    }
    if (outcome === 'too-many-errors') {
      say(
        `${tag}: ${failed} inputs failed, more than --max-errors ${options.maxErrors}: the shard is not published ` +
          '(its checkpoint is kept: a rerun with a higher --max-errors goes on from it)',
      );
      return EXIT_TOO_MANY_ERRORS;
    }
    if (outcome === 'taken') return await taken();
    const counts = await publishPart(files, plan, range);
    await removeWork(files);
    return await done(
      `${counts.classified} of ${counts.inputs} inputs classified${counts.failed ? `, ${counts.failed} failed` : ''}: ${files.part}`,
    );
  } catch (err) {
    if (!(err instanceof BatchError) && existsSync(files.part)) return taken();
    throw err;
  } finally {
    await classifier.close();
  }
}

/**
 * Classifies the shard's inputs in `ranges` in order, committing a segment every `checkpointEvery` inputs.
 *
 * @param onResult - Told about each result; returns `true` to stop (too many errors).
 * @returns `'taken'` when another worker published the part meanwhile, `'too-many-errors'` when `onResult` said
 *   stop, else `'done'`.
 */
async function classifyRanges(
  classifier: ImageClassifier,
  mine: readonly string[],
  ranges: readonly { start: number; end: number }[],
  files: ShardFiles,
  options: BatchOptions,
  topK: number,
  onResult: (record: ResultRecord) => boolean,
): Promise<'done' | 'taken' | 'too-many-errors'> {
  const segments: { start: number; end: number }[] = [];
  for (const r of ranges)
    for (let s = r.start; s < r.end; s += options.checkpointEvery)
      segments.push({ start: s, end: Math.min(s + options.checkpointEvery, r.end) });
  const order = segments.flatMap((s) => Array.from({ length: s.end - s.start }, (_, k) => s.start + k));
  if (order.length === 0) return 'done';

  // Download failures never reach the classifier: they are recorded here and merged back in input order.
  const fetchFailures = new Map<number, { code: string; message: string }>();
  const streamed: number[] = [];
  const policy = new AddressPolicy(options.urlAllowlist);
  const downloads = new Map<number, Promise<Uint8Array | { code: string; message: string }>>();
  const download = (k: number) => {
    if (downloads.has(k) || !isUrl(mine[k]!)) return;
    downloads.set(
      k,
      fetchImage(mine[k]!, { policy, ...URL_FETCH_LIMITS }).then(
        (f) => f.bytes,
        (err: { code?: string; message: string }) => ({
          code: err.code ?? 'URL_FETCH_FAILED',
          message: err.message,
        }),
      ),
    );
  };
  async function* stream(): AsyncGenerator<ClassifierInput> {
    for (const [n, k] of order.entries()) {
      const input = mine[k]!;
      if (!isUrl(input)) {
        streamed.push(k);
        yield input;
        continue;
      }
      for (const ahead of order.slice(n, n + URLS_AHEAD)) download(ahead);
      const got = await downloads.get(k)!;
      downloads.delete(k);
      if (got instanceof Uint8Array) {
        streamed.push(k);
        yield got;
      } else fetchFailures.set(k, got);
    }
  }

  let seg = 0;
  let lines: string[] = [];
  /** Adds the result of input `k` (inputs come in `order`); commits a segment when it is complete. */
  const add = async (k: number, record: ResultRecord): Promise<'go' | 'taken' | 'too-many-errors'> => {
    lines.push(recordLine(record));
    const stop = onResult(record);
    const s = segments[seg]!;
    if (k === s.end - 1) {
      if (existsSync(files.part)) return 'taken';
      await publishText(files.work, path.join(files.work, segmentName(s.start, s.end)), lines.join(''));
      lines = [];
      seg++;
    }
    return stop ? 'too-many-errors' : 'go';
  };
  const failuresBefore = async (k: number): Promise<'go' | 'taken' | 'too-many-errors'> => {
    for (const [f, error] of [...fetchFailures].sort((a, b) => a[0] - b[0])) {
      if (f >= k) break;
      fetchFailures.delete(f);
      const r = await add(f, { file: mine[f]!, error });
      if (r !== 'go') return r;
    }
    return 'go';
  };

  const items = classifier.classifyStream(stream(), { topK });
  try {
    for await (const item of items) {
      const k = streamed[item.index]!;
      let r = await failuresBefore(k);
      if (r === 'go') r = await add(k, recordOf(mine[k]!, item));
      if (r !== 'go') return r;
    }
    const r = await failuresBefore(Number.POSITIVE_INFINITY);
    if (r !== 'go') return r;
  } finally {
    await items.return(undefined);
  }
  return 'done';
}
