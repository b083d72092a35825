/**
 * Dynamic micro-batching on the main thread, like Triton's dynamic batcher: preprocessed images wait in a queue;
 * a batch leaves when it is full (`maxBatchSize`) or when its oldest image has waited `maxDelayMs`, or at once
 * when a runner frees up and images are waiting (they have already waited for it). Each batch is one onnxruntime
 * call; each image's logits go back to the request that submitted it.
 * @module
 */
import { performance } from 'node:perf_hooks';

/** Runs one batch: returns `images.length × numClasses` logits, image after image. */
export type BatchRunner = (images: Float32Array[]) => Promise<{ logits: Float32Array; runMs: number }>;

/** What one submitted image gets back. */
export interface BatchedResult {
  /** This image's logits (`numClasses` floats). */
  logits: Float32Array;
  /** onnxruntime time of the batch it ran in. */
  inferenceMs: number;
  /** Time spent waiting for a batch to form and a runner to free up. */
  queueMs: number;
  /** Size of the batch it ran in. */
  batchSize: number;
}

/** Options of {@link MicroBatcher}. */
export interface MicroBatcherOptions {
  maxBatchSize: number;
  maxDelayMs: number;
  numClasses: number;
  /** Batches run at once (one per inference worker). */
  concurrency: number;
  run: BatchRunner;
  /** Called with the size of each batch as it starts (for the batch-size histogram). */
  onBatch?: (size: number) => void;
  /**
   * Whether more images are on their way (e.g. being decoded now). When none are, waiting `maxDelayMs` for
   * company cannot fill the batch, so it leaves at once: a lone request pays no batching delay.
   */
  expectMore?: () => boolean;
}

interface Waiting {
  image: Float32Array;
  enqueuedAt: number;
  resolve: (r: BatchedResult) => void;
  reject: (e: Error) => void;
}

/**
 * Collects images into batches.
 *
 * @example
 * ```ts
 * const batcher = new MicroBatcher({ maxBatchSize: 8, maxDelayMs: 2, numClasses: 1000, concurrency: 1, run });
 * const { logits } = await batcher.submit(tensor);
 * ```
 */
export class MicroBatcher {
  private readonly queue: Waiting[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: MicroBatcherOptions) {}

  /** Images waiting for a batch. */
  get queued(): number {
    return this.queue.length;
  }

  /** Batches running now. */
  get active(): number {
    return this.running;
  }

  /** Queues one image; resolves with its own logits once its batch has run. */
  submit(image: Float32Array): Promise<BatchedResult> {
    return new Promise<BatchedResult>((resolve, reject) => {
      this.queue.push({ image, enqueuedAt: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running >= this.options.concurrency || this.queue.length === 0) return;
    if (
      this.queue.length >= this.options.maxBatchSize ||
      this.options.maxDelayMs === 0 ||
      this.options.expectMore?.() === false
    ) {
      this.dispatch();
      return;
    }
    if (this.timer) return;
    const oldest = (this.queue[0] as Waiting).enqueuedAt;
    const wait = Math.max(0, this.options.maxDelayMs - (performance.now() - oldest));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dispatch();
    }, wait);
  }

  private dispatch(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running >= this.options.concurrency || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.maxBatchSize);
    this.running += 1;
    const started = performance.now();
    this.options.onBatch?.(batch.length);
    this.options
      .run(batch.map((w) => w.image))
      .then(({ logits, runMs }) => {
        const c = this.options.numClasses;
        if (logits.length !== batch.length * c) {
          throw new Error(
            `batch of ${batch.length} returned ${logits.length} scores; expected ${batch.length * c}`,
          );
        }
        batch.forEach((w, i) => {
          w.resolve({
            logits: logits.slice(i * c, (i + 1) * c),
            inferenceMs: runMs,
            queueMs: started - w.enqueuedAt,
            batchSize: batch.length,
          });
        });
      })
      .catch((err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        for (const w of batch) w.reject(error);
      })
      .finally(() => {
        this.running -= 1;
        // Images that arrived while this batch ran have waited long enough: send them now.
        if (this.queue.length > 0) this.dispatch();
      });
  }
}
