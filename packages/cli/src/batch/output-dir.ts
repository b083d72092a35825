/**
 * The output folder of `mtailor classify --out <dir>`, shared by every worker of a job:
 *
 * ```
 * <dir>/part-00003-of-00008.jsonl   a finished shard's results (or .parquet); `*.jsonl` directly in <dir> is all
 * <dir>/_SUCCESS                    JSON summary, written once every shard is done (by the last to finish)
 * <dir>/_shards/shard-00003-of-00008.json   a finished shard's counts and the job it belongs to
 * <dir>/_work/shard-00003-of-00008/         a running shard's checkpoint: plan.json + committed segments
 *                                   seg-<start>-<end>.jsonl (inputs [start, end) of the shard, one line each)
 * ```
 *
 * Every file is published with {@link publish} (written aside, fsynced, linked exclusively), so a reader sees whole
 * files only and two workers of one shard leave one copy. The committed segments are the checkpoint: a restarted
 * worker classifies only the inputs no segment holds, and the part is assembled from the segments, each input
 * taken once even where segments of workers with other `--checkpoint-every` overlap.
 * @module
 */
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { AsideFile, publish, publishText } from './commit.js';
import { BatchError } from './errors.js';
import { ParquetRecordWriter } from './parquet.js';
import type { ResultRecord } from './records.js';
import type { ShardSpec } from './shard.js';

/** The summary's name: Hadoop's and Spark's "job done" marker, here with JSON contents. */
export const SUMMARY_FILE = '_SUCCESS';

/** Output formats of a part. */
export type OutputFormat = 'jsonl' | 'parquet';

/** What every worker of one job must agree on; a folder holding work of another job is refused. */
export interface JobPlan {
  /** SHA-256 of the whole input list, one entry per line (see `shardInputs`). */
  inputsDigest: string;
  totalInputs: number;
  shardCount: number;
  format: OutputFormat;
  topK: number;
  resize: 'exact' | 'fast';
  autoOrient: boolean;
  /** SHA-256 of the model file. */
  modelSha256: string;
  /** The preprocessing recipe the model ran with. */
  recipe: unknown;
}

/** Counts of a shard (or of the whole job). */
export interface ResultCounts {
  inputs: number;
  classified: number;
  failed: number;
  errorsByCode: Record<string, number>;
  /** The first failures (at most {@link FIRST_ERRORS_KEPT}), for a quick look without reading the parts. */
  firstErrors: { file: string; code: string; message: string }[];
}

/** A finished shard's record in `_shards/`. */
export interface ShardRecord {
  plan: JobPlan;
  shard: { index: number; count: number; start: number; end: number };
  part: string;
  counts: ResultCounts;
}

const FIRST_ERRORS_KEPT = 20;

/** A committed segment: results of the shard's inputs `[start, end)`, one line each, in input order. */
export interface Segment {
  start: number;
  end: number;
  file: string;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** `00003-of-00008`: sorts as numbers do for up to 100 000 shards. */
export function shardTag(shard: Pick<ShardSpec, 'index' | 'count'>): string {
  return `${pad(shard.index, 5)}-of-${pad(shard.count, 5)}`;
}

/** Where one shard's files go. */
export class ShardFiles {
  readonly part: string;
  readonly record: string;
  readonly work: string;
  readonly plan: string;
  readonly summary: string;

  constructor(
    readonly dir: string,
    readonly shard: Pick<ShardSpec, 'index' | 'count'>,
    readonly format: OutputFormat,
  ) {
    const tag = shardTag(shard);
    this.part = path.join(dir, `part-${tag}.${format}`);
    this.record = path.join(dir, '_shards', `shard-${tag}.json`);
    this.work = path.join(dir, '_work', `shard-${tag}`);
    this.plan = path.join(this.work, 'plan.json');
    this.summary = path.join(dir, SUMMARY_FILE);
  }

  /** The files of shard `index` of the same job. */
  sibling(index: number): ShardFiles {
    return new ShardFiles(this.dir, { index, count: this.shard.count }, this.format);
  }

  /** Creates the folders (idempotent). */
  async prepare(): Promise<void> {
    await mkdir(path.join(this.dir, '_shards'), { recursive: true });
    await mkdir(this.work, { recursive: true });
  }

  /** The shard's finished record, or `undefined` when the shard is not finished. */
  async finished(): Promise<ShardRecord | undefined> {
    if (!existsSync(this.part)) return undefined;
    return JSON.parse(await readFile(this.record, 'utf8')) as ShardRecord;
  }
}

/** The keys of `wanted` on which `found` differs (none: the same job). */
export function planDifferences(found: Partial<JobPlan>, wanted: Partial<JobPlan>): (keyof JobPlan)[] {
  const keys = Object.keys(wanted) as (keyof JobPlan)[];
  return keys.filter((k) => JSON.stringify(found[k]) !== JSON.stringify(wanted[k]));
}

/** Refuses a folder whose plan (or finished record) belongs to another job. */
export function checkSameJob(found: Partial<JobPlan>, wanted: Partial<JobPlan>, where: string): void {
  const differ = planDifferences(found, wanted);
  if (differ.length > 0)
    throw new BatchError(
      'PLAN_MISMATCH',
      `${where} belongs to another job: it differs in ${differ.join(', ')} ` +
        `(e.g. ${differ[0]}: ${JSON.stringify(found[differ[0]!])} there, ${JSON.stringify(wanted[differ[0]!])} now). ` +
        'Use a new --out folder, or the same inputs, shard count, model and options.',
    );
}

/**
 * Refuses to start when a finished shard of the folder (of any shard count) belongs to another job, so a worker
 * with other inputs or options never adds a part to it.
 */
export async function checkFolder(dir: string, wanted: Partial<JobPlan>): Promise<void> {
  const names = await readdir(path.join(dir, '_shards')).catch(() => [] as string[]);
  for (const name of names.filter((n) => /^shard-\d+-of-\d+\.json$/.test(n))) {
    const file = path.join(dir, '_shards', name);
    checkSameJob((JSON.parse(await readFile(file, 'utf8')) as ShardRecord).plan, wanted, file);
  }
}

/** Records this shard's plan in its work folder, or checks the one a previous worker recorded. */
export async function claimPlan(files: ShardFiles, plan: JobPlan): Promise<void> {
  const text = `${JSON.stringify(plan, null, 2)}\n`;
  if (await publishText(files.work, files.plan, text)) return;
  checkSameJob(JSON.parse(await readFile(files.plan, 'utf8')) as JobPlan, plan, files.plan);
}

/** The file name of the segment holding the shard's inputs `[start, end)`. */
export function segmentName(start: number, end: number): string {
  return `seg-${pad(start, 10)}-${pad(end, 10)}.jsonl`;
}

/** The segments committed so far in a shard's work folder, by start. */
export async function committedSegments(work: string): Promise<Segment[]> {
  const names = await readdir(work).catch(() => [] as string[]);
  const segments: Segment[] = [];
  for (const name of names) {
    const m = /^seg-(\d+)-(\d+)\.jsonl$/.exec(name);
    if (m) segments.push({ start: Number(m[1]), end: Number(m[2]), file: path.join(work, name) });
  }
  return segments.sort((a, b) => a.start - b.start || b.end - a.end);
}

/** The ranges of `[0, total)` no segment holds, in order. */
export function uncovered(total: number, segments: readonly Segment[]): { start: number; end: number }[] {
  const gaps: { start: number; end: number }[] = [];
  let pos = 0;
  for (const s of segments) {
    if (s.start > pos) gaps.push({ start: pos, end: Math.min(s.start, total) });
    pos = Math.max(pos, s.end);
  }
  if (pos < total) gaps.push({ start: pos, end: total });
  return gaps;
}

/** Empty counts, to add results to. */
export function emptyCounts(): ResultCounts {
  return { inputs: 0, classified: 0, failed: 0, errorsByCode: {}, firstErrors: [] };
}

/** Adds one result to counts. */
export function count(counts: ResultCounts, record: ResultRecord): void {
  counts.inputs++;
  if ('error' in record) {
    counts.failed++;
    counts.errorsByCode[record.error.code] = (counts.errorsByCode[record.error.code] ?? 0) + 1;
    if (counts.firstErrors.length < FIRST_ERRORS_KEPT)
      counts.firstErrors.push({ file: record.file, code: record.error.code, message: record.error.message });
  } else counts.classified++;
}

/** Adds counts `b` to `a`. */
function addCounts(a: ResultCounts, b: ResultCounts): void {
  a.inputs += b.inputs;
  a.classified += b.classified;
  a.failed += b.failed;
  for (const [code, n] of Object.entries(b.errorsByCode))
    a.errorsByCode[code] = (a.errorsByCode[code] ?? 0) + n;
  a.firstErrors.push(...b.firstErrors.slice(0, FIRST_ERRORS_KEPT - a.firstErrors.length));
}

/**
 * The shard's inputs `[from, to)` once each, in order, from the committed segments: at each position, the segment
 * that reaches furthest is read from there on (overlaps skipped).
 *
 * @throws {@link BatchError} `OUTPUT_DIR` when the segments leave a gap or a segment's line count is wrong.
 */
export async function* segmentRecords(
  segments: readonly Segment[],
  from: number,
  to: number,
): AsyncGenerator<{ line: string; record: ResultRecord }> {
  let pos = from;
  while (pos < to) {
    const seg = segments.filter((s) => s.start <= pos && s.end > pos).sort((a, b) => b.end - a.end)[0];
    if (!seg) throw new BatchError('OUTPUT_DIR', `no committed segment holds input ${pos} of the shard`);
    let n = seg.start;
    const lines = createInterface({ input: createReadStream(seg.file), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (n >= pos && n < to) yield { line, record: JSON.parse(line) as ResultRecord };
      n++;
    }
    if (n !== seg.end)
      throw new BatchError(
        'OUTPUT_DIR',
        `${seg.file} holds ${n - seg.start} lines, not ${seg.end - seg.start}`,
      );
    pos = seg.end;
  }
}

/** Counts of what the committed segments hold (a resumed shard's errors count against --max-errors). */
export async function countSegments(segments: readonly Segment[], total: number): Promise<ResultCounts> {
  const counts = emptyCounts();
  let pos = 0;
  for (const gap of [...uncovered(total, segments), { start: total, end: total }]) {
    for await (const { record } of segmentRecords(segments, pos, gap.start)) count(counts, record);
    pos = gap.end;
  }
  return counts;
}

/**
 * Writes the shard's part from its complete segments, then its record in `_shards/`, each published once; the
 * record first, so a part in the folder always has its record.
 *
 * @returns The shard's counts.
 */
export async function publishPart(
  files: ShardFiles,
  plan: JobPlan,
  range: { start: number; end: number },
): Promise<ResultCounts> {
  const total = range.end - range.start;
  const segments = await committedSegments(files.work);
  const counts = emptyCounts();
  const hint = path.basename(files.part);
  const out =
    files.format === 'parquet'
      ? new ParquetRecordWriter(files.work, hint)
      : await AsideFile.create(files.work, hint);
  try {
    for await (const { line, record } of segmentRecords(segments, 0, total)) {
      count(counts, record);
      await (out instanceof ParquetRecordWriter ? out.append(record) : out.append(`${line}\n`));
    }
    await out.finish();
  } catch (err) {
    await out.discard();
    throw err;
  }
  const record: ShardRecord = {
    plan,
    shard: { index: files.shard.index, count: files.shard.count, ...range },
    part: path.basename(files.part),
    counts,
  };
  await publishText(files.work, files.record, `${JSON.stringify(record, null, 2)}\n`);
  await publish(out.tmpPath, files.part);
  return counts;
}

/** Deletes a finished shard's work folder (another worker still on it notices the part and stops). */
export async function removeWork(files: ShardFiles): Promise<void> {
  await rm(files.work, { recursive: true, force: true });
}

/** The job summary in `_SUCCESS`. */
export interface JobSummary {
  shards: number;
  counts: ResultCounts;
  inputsDigest: string;
  model: { sha256: string };
  recipe: unknown;
  topK: number;
  resize: 'exact' | 'fast';
  autoOrient: boolean;
  format: OutputFormat;
  parts: string[];
}

/**
 * Writes `_SUCCESS` when every shard of the job has its part and record (the shard finishing last sees all of
 * them, since each publishes its own before looking). Idempotent: an existing summary is left as it is.
 *
 * @returns The summary when every shard is done, else `undefined`.
 * @throws {@link BatchError} `PLAN_MISMATCH` when the shards' records describe different jobs.
 */
export async function trySummary(files: ShardFiles): Promise<JobSummary | undefined> {
  const records: ShardRecord[] = [];
  for (let i = 0; i < files.shard.count; i++) {
    const record = await files.sibling(i).finished();
    if (!record) return undefined;
    records.push(record);
  }
  const first = records[0]!;
  for (const r of records) checkSameJob(r.plan, first.plan, `${files.dir} (shard ${r.shard.index})`);
  const counts = emptyCounts();
  for (const r of records) addCounts(counts, r.counts);
  const { plan } = first;
  const summary: JobSummary = {
    shards: files.shard.count,
    counts,
    inputsDigest: plan.inputsDigest,
    model: { sha256: plan.modelSha256 },
    recipe: plan.recipe,
    topK: plan.topK,
    resize: plan.resize,
    autoOrient: plan.autoOrient,
    format: plan.format,
    parts: records.map((r) => r.part),
  };
  if (counts.inputs !== plan.totalInputs)
    throw new BatchError(
      'OUTPUT_DIR',
      `the parts hold ${counts.inputs} inputs, the job has ${plan.totalInputs}`,
    );
  await mkdir(path.join(files.dir, '_work'), { recursive: true });
  await publishText(path.join(files.dir, '_work'), files.summary, `${JSON.stringify(summary, null, 2)}\n`);
  // Empty once every shard is done; a duplicate worker still running keeps it (and notices its part exists).
  await rmdir(path.join(files.dir, '_work')).catch(() => {});
  return summary;
}
