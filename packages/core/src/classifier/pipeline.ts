/**
 * The throughput path: a stream of images → worker threads decode + preprocess the next images → the main
 * thread batches the tensors and runs onnxruntime → predictions, in input order.
 *
 * Why: onnxruntime-node's `run()` blocks the JavaScript thread, and the exact resize is JavaScript. In one
 * thread, decode and inference take turns and a core idles; here workers keep decoding while inference runs, so
 * every core stays busy. Give the model few intra-op threads (1 on 2 cores) so its pool does not fight the
 * workers for the same cores.
 * @module
 */
import os from 'node:os';
import { DisposedError, type MtailorError } from '../errors.js';
import * as is from '../is.js';
import { toMtailorError } from './error-transfer.js';
import type { ClassifyOptions, ClassifyOutcome, ImageClassifier } from './image-classifier.js';
import { toPredictions } from './predictions.js';
import { PreprocessWorkerPool } from './preprocess-pool.js';
import { checkKnownKeys } from './setup.js';
import type { WorkerTimings } from './worker-protocol.js';

/** Options of {@link classifyStream}. */
export interface PipelineOptions extends ClassifyOptions {
  /** Images per onnxruntime call. Default: the classifier's `maxBatchSize` (a fixed batch dim wins). */
  batchSize?: number;
  /**
   * Worker threads decoding and preprocessing. Default `os.availableParallelism()`. `0` preprocesses on the
   * calling thread (no overlap with inference; for debugging and tiny jobs).
   */
  workers?: number;
  /** Images being decoded ahead of inference. Default `2 × batchSize + 2 × workers`. */
  readAhead?: number;
}

/** Something the pipeline can classify: a file path (read in the worker) or the image's bytes. */
export type PipelineInput = string | Uint8Array;

/** One result of {@link classifyStream}: the input, its position in the stream, and its outcome. */
export type PipelineItem<I extends PipelineInput = PipelineInput> = {
  input: I;
  index: number;
} & ClassifyOutcome;

type Settled = { ok: true; timings: WorkerTimings } | { ok: false; error: MtailorError };

interface Queued<I> {
  input: I;
  index: number;
  started: number;
  /** Index of the shared-memory slot its tensor is written to. */
  slot: number;
  result: Promise<Settled>;
}

/**
 * Classifies a stream of images as fast as the machine allows; yields one item per input, in input order, with
 * its predictions or its typed error (a bad image never stops the stream).
 *
 * @example
 * ```ts
 * import { ImageClassifier, classifyStream } from '@mtailor/core';
 * const classifier = await ImageClassifier.create({ model: 'mobilenet_v2_int8_qdq.onnx', intraOpThreads: 1 });
 * for await (const item of classifyStream(classifier, ['a.jpg', 'b.jpg'], { topK: 1, batchSize: 8 })) {
 *   console.log(item.input, item.ok ? item.predictions[0]?.label : item.error.code);
 * }
 * classifier.dispose();
 * ```
 */
export async function* classifyStream<I extends PipelineInput>(
  classifier: ImageClassifier,
  inputs: Iterable<I> | AsyncIterable<I>,
  options: PipelineOptions = {},
): AsyncGenerator<PipelineItem<I>, void, undefined> {
  if (!is.plainObject(options)) throw is.invalidParameterError('options', 'object', options);
  checkKnownKeys(options, ['topK', 'batchSize', 'workers', 'readAhead'], 'classifyStream');
  const model = classifier.model;
  const { topK = 5, workers = os.availableParallelism() } = options;
  if (!is.positiveInteger(topK) || topK > model.numClasses)
    throw is.invalidParameterError('topK', `integer between 1 and ${model.numClasses}`, topK);
  if (!is.integer(workers) || workers < 0)
    throw is.invalidParameterError('workers', 'non-negative integer', workers);
  const fixed = model.batchDim === 'dynamic' ? undefined : model.batchDim;
  const batchSize = fixed ?? options.batchSize ?? classifier.maxBatchSize;
  if (!is.positiveInteger(batchSize))
    throw is.invalidParameterError('batchSize', 'positive integer', batchSize);
  const readAhead = options.readAhead ?? 2 * batchSize + 2 * workers;
  if (!is.positiveInteger(readAhead))
    throw is.invalidParameterError('readAhead', 'positive integer', readAhead);

  const pool = workers > 0 ? workerPool(classifier, workers) : undefined;
  const per = model.inputElementsPerImage;
  // Tensors go straight into slots of one shared buffer: nothing is allocated, transferred or freed per image.
  // Slots in use: the read-ahead queue plus the batch being assembled.
  const slotCount = readAhead + batchSize;
  const shared = new SharedArrayBuffer(slotCount * per * Float32Array.BYTES_PER_ELEMENT);
  const slots = new Float32Array(shared);
  const freeSlots = Array.from({ length: slotCount }, (_, i) => slotCount - 1 - i);
  const preprocess = async (input: I, slot: number): Promise<WorkerTimings> =>
    pool
      ? pool.process(input, { buffer: shared, offset: slot * per })
      : (await classifier.preprocessor.process(input, { out: slots, offset: slot * per })).timings;
  const iterator =
    Symbol.asyncIterator in inputs
      ? (inputs as AsyncIterable<I>)[Symbol.asyncIterator]()
      : (inputs as Iterable<I>)[Symbol.iterator]();
  const queue: Queued<I>[] = [];
  let exhausted = false;
  let next = 0;
  const fill = async (): Promise<void> => {
    while (!exhausted && queue.length < readAhead) {
      const r = await iterator.next();
      if (r.done) {
        exhausted = true;
        break;
      }
      const input = r.value;
      const started = performance.now();
      const slot = freeSlots.pop()!;
      const result = preprocess(input, slot).then(
        (timings): Settled => ({ ok: true, timings }),
        (err: unknown): Settled => ({ ok: false, error: toMtailorError(err) }),
      );
      queue.push({ input, index: next++, started, slot, result });
    }
  };

  const batch = new Float32Array(Math.max(batchSize, fixed ?? 0) * per);
  try {
    await fill();
    while (queue.length > 0) {
      // A classifier disposed mid-stream ends the stream (its workers and session are gone).
      if (classifier.disposed) throw new DisposedError('ImageClassifier');
      const chunk = queue.splice(0, batchSize);
      await fill();
      const settled = await Promise.all(chunk.map((q) => q.result));
      // Top up again: the wait above freed worker capacity, and run() below blocks this thread.
      await fill();
      let count = 0;
      const rowOf: number[] = [];
      settled.forEach((s, i) => {
        const { slot } = chunk[i]!;
        if (s.ok) {
          batch.set(slots.subarray(slot * per, (slot + 1) * per), count * per);
          rowOf[i] = count++;
        }
        freeSlots.push(slot);
      });
      let scores: Float32Array | undefined;
      let inferenceError: MtailorError | undefined;
      let inferenceMs = 0;
      if (count > 0) {
        const runSize = fixed === undefined ? count : Math.ceil(count / fixed) * fixed;
        if (runSize > count) batch.fill(0, count * per, runSize * per);
        const t0 = performance.now();
        try {
          scores = await model.run(batch.subarray(0, runSize * per), runSize);
        } catch (err) {
          inferenceError = toMtailorError(err);
        }
        inferenceMs = (performance.now() - t0) / count;
      }
      const end = performance.now();
      for (const [i, q] of chunk.entries()) {
        const s = settled[i]!;
        if (!s.ok) yield { input: q.input, index: q.index, ok: false, error: s.error };
        else if (!scores) yield { input: q.input, index: q.index, ok: false, error: inferenceError! };
        else
          yield {
            input: q.input,
            index: q.index,
            ok: true,
            predictions: toPredictions(
              scores,
              rowOf[i]!,
              model.numClasses,
              topK,
              classifier.labels,
              classifier.softmax,
            ),
            timings: {
              decodeMs: s.timings.readMs + s.timings.decodeMs,
              preprocessMs: s.timings.preprocessMs,
              inferenceMs,
              totalMs: end - q.started,
            },
          };
      }
    }
  } finally {
    if (!exhausted) await iterator.return?.();
    // Let queued work settle before the pool goes, so no promise is left rejecting unobserved.
    await Promise.all(queue.map((q) => q.result));
  }
}

const pools = new WeakMap<ImageClassifier, PreprocessWorkerPool>();

/**
 * The classifier's worker pool, started on first use and kept for its life (closed by `dispose()`): starting
 * workers and warming up their JIT costs tens of milliseconds, which a service pays once, not per request.
 */
function workerPool(classifier: ImageClassifier, size: number): PreprocessWorkerPool {
  let pool = pools.get(classifier);
  if (pool && pool.size !== size) {
    void pool.close();
    pool = undefined;
  }
  if (!pool) {
    const created = new PreprocessWorkerPool(classifier.preprocessorSettings, size);
    pools.set(classifier, created);
    classifier.onDispose(() => {
      pools.delete(classifier);
      void created.close();
    });
    pool = created;
  }
  return pool;
}
