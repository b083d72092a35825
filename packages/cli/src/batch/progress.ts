/**
 * Progress of one shard on stderr: a bar on a terminal, else one JSON line every few seconds (what a pod's log
 * or a batch service's log viewer can parse), plus one at the start and one at the end.
 * @module
 */
import cliProgress from 'cli-progress';
import type { ShardSpec } from './shard.js';

/** A progress line: `{"progress": {...}}` on stderr. */
export interface ProgressLine {
  shard: number;
  shards: number;
  /** Inputs of the shard with a result (committed by an earlier run included). */
  done: number;
  total: number;
  failed: number;
  /** Images per second of this run so far. */
  rate: number;
  state: 'running' | 'done' | 'stopped';
}

/** Reports one shard's progress. */
export class ShardProgress {
  readonly #shard: Pick<ShardSpec, 'index' | 'count'>;
  readonly #total: number;
  readonly #bar: cliProgress.SingleBar | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #start = performance.now();
  readonly #startDone: number;
  #done: number;
  #failed: number;

  /**
   * @param shard - The shard reported on.
   * @param total - Its inputs.
   * @param done - Inputs already done by an earlier run (a resumed shard starts there).
   * @param failed - Failures among them.
   * @param intervalMs - Time between JSON lines (off a terminal).
   */
  constructor(
    shard: Pick<ShardSpec, 'index' | 'count'>,
    total: number,
    done: number,
    failed: number,
    intervalMs: number,
  ) {
    this.#shard = shard;
    this.#total = total;
    this.#done = done;
    this.#startDone = done;
    this.#failed = failed;
    if (process.stderr.isTTY === true) {
      this.#bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `shard ${shard.index}/${shard.count} [{bar}] {value}/{total} | {failed} failed | {rate} img/s | ETA {eta}s`,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.#bar.start(total, done, { rate: '0', failed });
    } else {
      this.#line('running');
      this.#timer = setInterval(() => this.#line('running'), intervalMs);
      this.#timer.unref();
    }
  }

  #rate(): number {
    const seconds = (performance.now() - this.#start) / 1000;
    return seconds > 0 ? Math.round((this.#done - this.#startDone) / seconds) : 0;
  }

  #line(state: ProgressLine['state']): void {
    const progress: ProgressLine = {
      shard: this.#shard.index,
      shards: this.#shard.count,
      done: this.#done,
      total: this.#total,
      failed: this.#failed,
      rate: this.#rate(),
      state,
    };
    process.stderr.write(`${JSON.stringify({ progress })}\n`);
  }

  /** One more input has its result. */
  tick(failed: boolean): void {
    this.#done++;
    if (failed) this.#failed++;
    this.#bar?.update(this.#done, { rate: String(this.#rate()), failed: this.#failed });
  }

  /** A message on stderr that does not break the bar. */
  log(text: string): void {
    if (this.#bar) process.stderr.write('\r\x1b[2K');
    process.stderr.write(text);
  }

  /** Ends the bar or the JSON lines with a last report. */
  stop(state: 'done' | 'stopped'): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#bar) this.#bar.stop();
    else this.#line(state);
  }
}
