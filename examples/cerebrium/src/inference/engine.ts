/**
 * The inference engine behind the routes: encoded bytes → decode + preprocess (worker pool) → micro-batch
 * (main thread) → onnxruntime (inference worker) → logits → predictions. The main thread only moves buffers and
 * does the softmax of 1000 floats, so it stays free for HTTP and health checks.
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { IMAGENET1K_LABELS, looksLikeProbabilities, softmax, topK } from '@mtailor/core';
import type { RecipeName, ResizeEngine } from '../config.js';
import { HttpError } from '../http-errors.js';
import { maxBase64Length } from '../image-input.js';
import type {
  InferenceHello,
  InferenceReply,
  InferenceRequest,
  InferenceWorkerData,
  ModelInfo,
  PreprocessReply,
  PreprocessRequest,
  PreprocessWorkerData,
} from '../workers/protocol.js';
import { WorkerTaskError } from '../workers/protocol.js';
import { WorkerClient } from '../workers/worker-client.js';
import { type BatchedResult, MicroBatcher } from './batcher.js';
import { loadTestImage, type TestImage } from './test-image.js';

/** Settings of {@link InferenceEngine.start} (a subset of the server config). */
export interface EngineOptions {
  modelPath: string;
  modelName: string;
  preprocessWorkers: number;
  intraOpThreads: number;
  maxBatchSize: number;
  maxDelayMs: number;
  maxQueue: number;
  maxImageBytes: number;
  maxPixels: number;
  engine: ResizeEngine;
  recipe: RecipeName;
  autoOrient: boolean;
  testImagePath?: string | undefined;
  testExpectedClass?: number | undefined;
  /** Called with each batch size as it starts. */
  onBatch?: (size: number) => void;
  /** Told about problems that are not a request's fault (a worker died). */
  onWarning?: (message: string) => void;
}

/** One predicted class. */
export interface Prediction {
  class_id: number;
  label: string;
  confidence: number;
}

/** The result of classifying one image. */
export interface Classification {
  predictions: Prediction[];
  timings: { decode: number; preprocess: number; queue: number; inference: number };
  batchSize: number;
}

/**
 * An encoded image: its bytes, or base64 (plain or a data URL) to decode, as text or as its ASCII bytes; `field`
 * names it in errors. With `transfer: true` the base64 bytes' whole ArrayBuffer is moved to the worker (no copy;
 * the caller must not use it afterwards).
 */
export type ImageBytesInput =
  | Uint8Array
  | { base64: string | Uint8Array; field?: string; transfer?: boolean };

/** A preprocessed image, ready for the batcher. */
export interface PreparedImage {
  tensor: Float32Array;
  width: number;
  height: number;
  decodeMs: number;
  preprocessMs: number;
  /** Time waiting for a free preprocess worker and passing messages (round trip − decode − preprocess). */
  waitMs: number;
}

/** Result of the self-test (`test_mode` and readiness). */
export interface SelfTestResult {
  ok: boolean;
  classId: number;
  label: string;
  confidence: number;
  expectedClass: number | undefined;
  expectation: TestImage['expectation'];
  source: string;
  ms: number;
}

/** Model facts shown in replies, `/ready` and OIP v2 metadata. */
export interface EngineModel extends ModelInfo {
  name: string;
  path: string;
  sha256: string;
  labels: readonly string[];
  /** Effective largest batch (1 when the model's batch dimension is fixed at 1). */
  maxBatchSize: number;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function workerUrl(name: string): URL {
  return new URL(`../workers/${name}.js`, import.meta.url);
}

async function startInferenceWorker(
  data: InferenceWorkerData,
  onExit: (code: number) => void,
): Promise<{ client: WorkerClient<InferenceRequest, InferenceReply>; model: ModelInfo }> {
  const worker = new Worker(workerUrl('inference-worker'), { workerData: data });
  let onMessage: (m: InferenceHello) => void = () => {};
  let onError: (e: Error) => void = () => {};
  let onExitEarly: (code: number) => void = () => {};
  const hello = await new Promise<InferenceHello>((resolve, reject) => {
    onMessage = resolve;
    onError = reject;
    onExitEarly = (code) =>
      reject(new Error(`inference worker exited (code ${code}) while loading the model`));
    worker.once('message', onMessage).once('error', onError).once('exit', onExitEarly);
  }).finally(() => {
    // Only our own listeners: removeAllListeners() would also drop Node's internal ones that keep the port running.
    worker.off('message', onMessage).off('error', onError).off('exit', onExitEarly);
  });
  if (!hello.ready) {
    await worker.terminate();
    throw new WorkerTaskError(hello.error);
  }
  return { client: new WorkerClient(worker, onExit), model: hello.model };
}

/**
 * Owns the worker threads and the batcher.
 *
 * @example
 * ```ts
 * const engine = await InferenceEngine.start({ ...config, modelPath: 'model.onnx' });
 * const { predictions } = await engine.classify(jpegBytes, 5);
 * await engine.close();
 * ```
 */
export class InferenceEngine {
  private readonly preprocessPool: Array<WorkerClient<PreprocessRequest, PreprocessReply>> = [];
  private readonly batcher: MicroBatcher;
  private admitted = 0;
  /** Images being decoded + preprocessed right now (they will reach the batcher soon). */
  private preparing = 0;
  private closing = false;
  private inferenceAlive = true;
  private lastInference: { at: Date; ms: number } | undefined;
  private selfTest: SelfTestResult | undefined;

  private constructor(
    readonly options: EngineOptions,
    readonly model: EngineModel,
    private readonly inference: WorkerClient<InferenceRequest, InferenceReply>,
    private readonly preprocessData: PreprocessWorkerData,
    private readonly testImage: TestImage,
  ) {
    this.batcher = new MicroBatcher({
      maxBatchSize: model.maxBatchSize,
      maxDelayMs: options.maxDelayMs,
      numClasses: model.numClasses,
      concurrency: 1,
      onBatch: options.onBatch,
      expectMore: () => this.preparing > 0,
      run: async (images) => {
        const reply = await this.inference.call(
          { images },
          images.map((i) => i.buffer as ArrayBuffer),
        );
        if (!reply.ok) throw new Error('unreachable');
        return { logits: reply.logits, runMs: reply.runMs };
      },
    });
    for (let i = 0; i < options.preprocessWorkers; i++) this.preprocessPool.push(this.spawnPreprocess(i));
  }

  /** Loads the model in the inference worker, starts the preprocess workers and runs the self-test. */
  static async start(options: EngineOptions): Promise<InferenceEngine> {
    let engineRef: InferenceEngine | undefined;
    const [sha256, started] = await Promise.all([
      sha256File(options.modelPath),
      startInferenceWorker(
        { kind: 'inference', modelPath: options.modelPath, intraOpThreads: options.intraOpThreads },
        (code) => engineRef?.onInferenceExit(code),
      ),
    ]);
    const info = started.model;
    const labels =
      info.numClasses === IMAGENET1K_LABELS.length
        ? IMAGENET1K_LABELS
        : Array.from({ length: info.numClasses }, (_, i) => `class_${i}`);
    const maxBatchSize = info.batchDim === 'dynamic' ? options.maxBatchSize : info.batchDim;
    const model: EngineModel = {
      ...info,
      name: options.modelName,
      path: options.modelPath,
      sha256,
      labels,
      maxBatchSize,
    };
    const preprocessData: PreprocessWorkerData = {
      kind: 'preprocess',
      recipe: options.recipe,
      engine: options.engine,
      autoOrient: options.autoOrient,
      maxInputBytes: options.maxImageBytes,
      maxPixels: options.maxPixels,
      layout: info.inputLayout,
    };
    const testImage = await loadTestImage(
      sha256,
      options.testImagePath !== undefined && options.testExpectedClass !== undefined
        ? { path: options.testImagePath, expectedClass: options.testExpectedClass }
        : undefined,
    );
    const engine = new InferenceEngine(options, model, started.client, preprocessData, testImage);
    engineRef = engine;
    try {
      const result = await engine.runSelfTest();
      if (!result.ok) {
        throw new Error(
          `self-test failed: ${result.source} classified as ${result.classId} (${result.label}), expected ${result.expectedClass}`,
        );
      }
    } catch (err) {
      await engine.close();
      throw err;
    }
    return engine;
  }

  private spawnPreprocess(slot: number): WorkerClient<PreprocessRequest, PreprocessReply> {
    const worker = new Worker(workerUrl('preprocess-worker'), { workerData: this.preprocessData });
    // A decoder that dies (it should not) is replaced; its in-flight requests fail with 500, others carry on.
    return new WorkerClient(worker, (code) => {
      if (this.closing) return;
      this.options.onWarning?.(`preprocess worker ${slot} exited (code ${code}); starting a new one`);
      this.preprocessPool[slot] = this.spawnPreprocess(slot);
    });
  }

  private onInferenceExit(code: number): void {
    if (this.closing) return;
    this.inferenceAlive = false;
    this.options.onWarning?.(`inference worker exited (code ${code}); the server is no longer ready`);
  }

  /** Images queued for a batch. */
  get queueDepth(): number {
    return this.batcher.queued;
  }

  /** Requests admitted and not finished (decoding, queued or running). */
  get inFlight(): number {
    return this.admitted;
  }

  /** True when the model is loaded, the self-test passed and the inference worker is alive. */
  get ready(): boolean {
    return this.inferenceAlive && !this.closing && this.selfTest?.ok === true;
  }

  /** Status for `/ready` and `/health`. */
  status(): {
    ready: boolean;
    modelLoaded: boolean;
    selfTest: SelfTestResult | undefined;
    lastInference: { at: string; ms: number } | undefined;
    queueDepth: number;
    inFlight: number;
  } {
    return {
      ready: this.ready,
      modelLoaded: this.inferenceAlive,
      selfTest: this.selfTest,
      lastInference: this.lastInference && {
        at: this.lastInference.at.toISOString(),
        ms: this.lastInference.ms,
      },
      queueDepth: this.batcher.queued,
      inFlight: this.admitted,
    };
  }

  /**
   * Runs `task` as one admitted request: refuses with 503 when shutting down or when `maxQueue` requests are
   * already in flight (back-pressure instead of an unbounded queue).
   */
  async admit<T>(task: () => Promise<T>): Promise<T> {
    if (this.closing) throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down');
    if (!this.inferenceAlive) throw new HttpError(503, 'NOT_READY', 'the inference worker is not running');
    if (this.admitted >= this.options.maxQueue) {
      throw new HttpError(
        503,
        'OVERLOADED',
        `more than ${this.options.maxQueue} requests in flight; retry later`,
      );
    }
    this.admitted += 1;
    try {
      return await task();
    } finally {
      this.admitted -= 1;
    }
  }

  /**
   * bytes (or base64 text) → decode → preprocess, in the least busy preprocess worker. base64 is decoded there
   * too: on the main thread it would cost ~1 ms per 200 KB image, delaying every other request and health check.
   */
  async prepare(input: ImageBytesInput): Promise<PreparedImage> {
    let worker = this.preprocessPool[0] as WorkerClient<PreprocessRequest, PreprocessReply>;
    for (const w of this.preprocessPool) if (w.inFlight < worker.inFlight) worker = w;
    const sent = performance.now();
    this.preparing += 1;
    try {
      return await this.prepareIn(worker, input, sent);
    } finally {
      this.preparing -= 1;
    }
  }

  private async prepareIn(
    worker: WorkerClient<PreprocessRequest, PreprocessReply>,
    input: ImageBytesInput,
    sent: number,
  ): Promise<PreparedImage> {
    let reply: PreprocessReply;
    if (input instanceof Uint8Array) {
      if (input.length === 0) throw new HttpError(422, 'INVALID_IMAGE', 'the image is empty (0 bytes)');
      // A private copy to transfer: the caller's bytes may be a view into a pooled buffer.
      const copy = new Uint8Array(input);
      reply = await worker.call({ bytes: copy }, [copy.buffer as ArrayBuffer]);
    } else {
      const field = input.field ?? 'image_base64';
      // Cheap early refusal of what cannot fit (base64 is 4/3 of the bytes; data-URL prefix and line breaks aside).
      if (input.base64.length > maxBase64Length(this.options.maxImageBytes)) {
        throw new HttpError(
          413,
          'IMAGE_TOO_LARGE',
          `${field} is larger than the limit of ${this.options.maxImageBytes} bytes`,
        );
      }
      if (typeof input.base64 === 'string') {
        reply = await worker.call({ base64: { text: input.base64, field } });
      } else {
        const text = input.transfer === true ? input.base64 : new Uint8Array(input.base64);
        reply = await worker.call({ base64: { text, field } }, [text.buffer as ArrayBuffer]);
      }
    }
    if (!reply.ok) throw new Error('unreachable');
    const { decodeMs, preprocessMs } = reply.timings;
    return {
      tensor: reply.tensor,
      width: reply.width,
      height: reply.height,
      decodeMs,
      preprocessMs,
      waitMs: Math.max(0, performance.now() - sent - decodeMs - preprocessMs),
    };
  }

  /** One image's tensor → its logits, batched with whatever else is waiting. */
  async infer(tensor: Float32Array): Promise<BatchedResult> {
    if (tensor.length !== this.model.elementsPerImage) {
      throw new HttpError(
        400,
        'INVALID_INPUT',
        `an image tensor must hold ${this.model.elementsPerImage} floats, not ${tensor.length}`,
      );
    }
    const result = await this.batcher.submit(tensor);
    this.lastInference = { at: new Date(), ms: result.inferenceMs };
    return result;
  }

  /** logits → softmax (unless the model already outputs probabilities) → the `k` most likely classes. */
  predictions(logits: Float32Array, k: number): Prediction[] {
    const probs = looksLikeProbabilities(logits) ? logits : softmax(logits);
    return topK(probs, Math.min(k, probs.length)).map((i) => ({
      class_id: i,
      label: this.model.labels[i] ?? `class_${i}`,
      confidence: probs[i] ?? 0,
    }));
  }

  /** bytes → predictions: the whole path for one image. */
  async classify(input: ImageBytesInput, k: number): Promise<Classification> {
    const prepared = await this.prepare(input);
    const result = await this.infer(prepared.tensor);
    return {
      predictions: this.predictions(result.logits, k),
      timings: {
        decode: prepared.decodeMs,
        preprocess: prepared.preprocessMs,
        // Waiting for a decode worker plus waiting for a batch: time this image spent not being worked on.
        queue: prepared.waitMs + result.queueMs,
        inference: result.inferenceMs,
      },
      batchSize: result.batchSize,
    };
  }

  /**
   * Classifies the built-in test image and checks its class (see `test-image.ts` for what that proves). The
   * first run at startup records the expectation when none is known.
   */
  async runSelfTest(): Promise<SelfTestResult> {
    const t0 = performance.now();
    const { predictions } = await this.classify(this.testImage.bytes, 1);
    const top = predictions[0] as Prediction;
    if (this.testImage.expectedClass === undefined) this.testImage.expectedClass = top.class_id;
    const result: SelfTestResult = {
      ok: top.class_id === this.testImage.expectedClass,
      classId: top.class_id,
      label: top.label,
      confidence: top.confidence,
      expectedClass: this.testImage.expectedClass,
      expectation: this.testImage.expectation,
      source: this.testImage.source,
      ms: performance.now() - t0,
    };
    this.selfTest = result;
    return result;
  }

  /** The bytes of the test image (for `test_mode`). */
  get testImageBytes(): Uint8Array {
    return this.testImage.bytes;
  }

  /** Stops taking work, waits up to `timeoutMs` for admitted requests to finish, then stops the workers. */
  async close(timeoutMs = 10_000): Promise<void> {
    this.closing = true;
    const deadline = performance.now() + timeoutMs;
    while (this.admitted > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await Promise.allSettled([this.inference.terminate(), ...this.preprocessPool.map((w) => w.terminate())]);
  }
}
