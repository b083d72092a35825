/**
 * Dynamic micro-batching, like Triton's dynamic batcher: preprocessed images (tensor slots) wait in a queue; a batch
 * leaves when it is full (`maxBatchSize`), when its oldest image has waited `maxDelayMs`, when nothing else is on its
 * way, or — with one session — at once when the session frees up and images are waiting (they have already waited
 * for it). Each batch is one onnxruntime call; `maxRunning` of them run at once (one per session).
 * @module
 */
import { performance } from 'node:perf_hooks';

/** Runs one batch made of these tensor slots (the inference executor writes their output rows). */
export type RunBatch = (batch: readonly number[]) => Promise<{ runMs: number }>;

/** What one submitted image gets back once its batch ran. */
export interface BatchedRun {
  /** onnxruntime time of the batch it ran in. */
  inferenceMs: number;
  /** Time spent waiting for a batch to form and the runner to free up. */
  queueMs: number;
  /** Size of the batch it ran in. */
  batchSize: number;
}

/** Options of {@link MicroBatcher}. */
export interface MicroBatcherOptions {
  maxBatchSize: number;
  maxDelayMs: number;
  run: RunBatch;
  /** Batches running at once (the inference executor's sessions). Default 1. */
  maxRunning?: number;
  /** Called with the size and onnxruntime time of each batch once it ran (metrics). */
  onBatch?: ((size: number, runMs: number) => void) | undefined;
  /**
   * Whether more images are on their way (being decoded now). When none are, waiting `maxDelayMs` for company
   * cannot fill the batch, so it leaves at once: a lone request pays no batching delay.
   */
  expectMore?: () => boolean;
}

interface Waiting {
  slot: number;
  enqueuedAt: number;
  resolve: (r: BatchedRun) => void;
  reject: (e: Error) => void;
}

/**
 * Collects slots into batches; `maxRunning` batches run at once (one per session, usually one). Internal to the engine, which builds it with
 * `run: (slots) => inference.run(slots)` and awaits `submit(slot)` for each decoded image: when it resolves, the
 * slot's output row holds its scores.
 */
export class MicroBatcher {
  readonly #queue: Waiting[] = [];
  readonly #options: MicroBatcherOptions;
  #running = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped: Error | undefined;

  constructor(options: MicroBatcherOptions) {
    this.#options = options;
  }

  /** Images waiting for a batch. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Whether a batch is running. */
  get running(): boolean {
    return this.#running > 0;
  }

  /** Whether another batch may start now. */
  #free(): boolean {
    return this.#running < (this.#options.maxRunning ?? 1);
  }

  /** Queues one preprocessed image; resolves when its batch has run and its output row is written. */
  submit(slot: number): Promise<BatchedRun> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    return new Promise<BatchedRun>((resolve, reject) => {
      this.#queue.push({ slot, enqueuedAt: performance.now(), resolve, reject });
      this.#schedule();
    });
  }

  /** Re-checks whether the waiting images should leave now (call when {@link MicroBatcherOptions.expectMore} changes). */
  poke(): void {
    this.#schedule();
  }

  /**
   * Runs no more batches: images waiting for one reject with `reason` at once, later submissions too. A batch
   * already running finishes (its images get their rows).
   */
  stop(reason: Error): void {
    this.#stopped = reason;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    for (const w of this.#queue.splice(0)) w.reject(reason);
  }

  #schedule(): void {
    if (!this.#free() || this.#queue.length === 0 || this.#stopped) return;
    const { maxBatchSize, maxDelayMs, expectMore } = this.#options;
    if (this.#queue.length >= maxBatchSize || maxDelayMs === 0 || expectMore?.() === false) {
      this.#dispatch();
      return;
    }
    if (this.#timer) return;
    const oldest = (this.#queue[0] as Waiting).enqueuedAt;
    const wait = Math.max(0, maxDelayMs - (performance.now() - oldest));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#dispatch();
    }, wait);
  }

  #dispatch(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (!this.#free() || this.#queue.length === 0 || this.#stopped) return;
    const batch = this.#queue.splice(0, this.#options.maxBatchSize);
    this.#running += 1;
    const started = performance.now();
    this.#options
      .run(batch.map((w) => w.slot))
      .then(({ runMs }) => {
        this.#options.onBatch?.(batch.length, runMs);
        for (const w of batch)
          w.resolve({ inferenceMs: runMs, queueMs: started - w.enqueuedAt, batchSize: batch.length });
      })
      .catch((err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        for (const w of batch) w.reject(error);
      })
      .finally(() => {
        this.#running -= 1;
        // With one session, images that arrived while this batch ran have waited for it long enough: send them now.
        // With several, they waited for no session: they leave by the usual rules (full, nothing else coming, delay).
        if ((this.#options.maxRunning ?? 1) === 1 && this.#queue.length > 0) this.#dispatch();
        else this.#schedule();
      });
    // Another session free and a batch already waiting: it need not wait for this one.
    this.#schedule();
  }
}
