/**
 * Which part of the input list this process classifies: `--shard <i>/<n>`, or the index and count a batch engine
 * hands each worker (Kubernetes Indexed Jobs, AWS Batch array jobs, Cloud Run Jobs, Google Cloud Batch).
 * @module
 */
import { BatchError } from './errors.js';

/** One shard of a job: `index` of `count` (0-based, `index < count`). */
export interface ShardSpec {
  index: number;
  count: number;
  /** Where the spec came from, for messages (`--shard`, or the environment variables read). */
  source: string;
}

/**
 * The index/count pairs of the engines that hand each worker its index. Kubernetes gives only the index
 * (`JOB_COMPLETION_INDEX`): the count comes from `MTAILOR_SHARD_COUNT`, which the Job manifest sets.
 */
const ENGINES: ReadonlyArray<{ index: string; count: string }> = [
  { index: 'JOB_COMPLETION_INDEX', count: 'MTAILOR_SHARD_COUNT' },
  { index: 'AWS_BATCH_JOB_ARRAY_INDEX', count: 'AWS_BATCH_JOB_ARRAY_SIZE' },
  { index: 'CLOUD_RUN_TASK_INDEX', count: 'CLOUD_RUN_TASK_COUNT' },
  { index: 'BATCH_TASK_INDEX', count: 'BATCH_TASK_COUNT' },
];

/** A decimal integer ≥ 0 as typed (no sign, blanks, exponent or fraction), else `undefined`. */
function wholeNumber(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

function checked(
  index: number | undefined,
  count: number | undefined,
  source: string,
  shown: string,
): ShardSpec {
  if (index === undefined || count === undefined)
    throw new BatchError(
      'SHARD_SPEC',
      `${source}: expected <index>/<count> with whole numbers, got '${shown}'`,
    );
  if (count < 1)
    throw new BatchError('SHARD_SPEC', `${source}: the shard count must be at least 1, got ${count}`);
  if (index >= count)
    throw new BatchError(
      'SHARD_SPEC',
      `${source}: shard index ${index} is out of range for ${count} shards (indices run from 0 to ${count - 1})`,
    );
  return { index, count, source };
}

/**
 * Parses `--shard <i>/<n>` (0-based index, e.g. `0/4` … `3/4`).
 *
 * @example
 * ```ts
 * parseShard('2/8'); // { index: 2, count: 8, source: '--shard' }
 * parseShard('3/2'); // throws BatchError SHARD_SPEC: index out of range
 * ```
 * @throws {@link BatchError} `SHARD_SPEC` for anything but `<i>/<n>` with `0 ≤ i < n`.
 */
export function parseShard(text: string): ShardSpec {
  const m = /^([^/]*)\/([^/]*)$/.exec(text);
  return checked(m ? wholeNumber(m[1]!) : undefined, m ? wholeNumber(m[2]!) : undefined, '--shard', text);
}

/**
 * The shard a batch engine assigned through the environment, or `undefined` when none of the engines' variables
 * is set (one process classifies everything).
 *
 * @example
 * ```ts
 * shardFromEnv({ JOB_COMPLETION_INDEX: '3', MTAILOR_SHARD_COUNT: '8' }); // { index: 3, count: 8, … }
 * ```
 * @throws {@link BatchError} `SHARD_ENV` when an index is set without its count (or the reverse), when two engines'
 *   variables disagree, or when a value is not a whole number in range.
 */
export function shardFromEnv(env: NodeJS.ProcessEnv): ShardSpec | undefined {
  const found: ShardSpec[] = [];
  for (const { index, count } of ENGINES) {
    const i = env[index];
    const n = env[count];
    if (i === undefined && n === undefined) continue;
    // MTAILOR_SHARD_COUNT alone is a Job template also used outside Kubernetes: the index is missing.
    if (i === undefined || n === undefined) {
      const missing = i === undefined ? index : count;
      throw new BatchError(
        'SHARD_ENV',
        `${i === undefined ? count : index} is set but ${missing} is not: set both, or pass --shard <i>/<n>`,
      );
    }
    try {
      found.push(checked(wholeNumber(i), wholeNumber(n), `${index}/${count}`, `${i}/${n}`));
    } catch (err) {
      throw new BatchError('SHARD_ENV', (err as Error).message);
    }
  }
  const [first, ...others] = found;
  for (const other of others)
    if (other.index !== first!.index || other.count !== first!.count)
      throw new BatchError(
        'SHARD_ENV',
        `the environment names two shards: ${first!.source} = ${first!.index}/${first!.count} but ${other.source} = ${other.index}/${other.count}`,
      );
  return first;
}

/**
 * The inputs of shard `index` of `count` among `total`: the half-open range `[start, end)`. Contiguous, sizes
 * differing by at most one, every input in exactly one shard.
 *
 * @example
 * ```ts
 * shardRange(10, { index: 3, count: 4 }); // { start: 7, end: 10 }
 * ```
 */
export function shardRange(
  total: number,
  shard: Pick<ShardSpec, 'index' | 'count'>,
): { start: number; end: number } {
  return {
    start: Math.floor((shard.index * total) / shard.count),
    end: Math.floor(((shard.index + 1) * total) / shard.count),
  };
}
