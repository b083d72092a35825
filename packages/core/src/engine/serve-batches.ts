/**
 * The inference side of a worker thread, the same in the inference worker and in a decode worker that also runs
 * batches: load the model and say so (the thread's first message), then answer `attach` and `run` requests (and run the batches of a decode worker's own chunks).
 * @module
 */
import type { MessagePort } from 'node:worker_threads';
import { BatchRunner } from './batch-runner.js';
import { toErrorData } from './error-transfer.js';
import { loadEngineModel } from './load-model.js';
import type {
  InferenceHello,
  InferenceReply,
  InferenceRequest,
  InferenceWorkerData,
} from './worker-protocol.js';

/** The batches side of a worker: answers `attach`/`run` requests, and runs batches for the worker's own use. */
export interface BatchService {
  /** Answers an inference request on the port. */
  handle(request: InferenceRequest): void;
  /** Runs the slots as one batch (after `attach`). */
  run(slots: readonly number[]): Promise<{ runMs: number }>;
  /** A batch tensor to decode a chunk's images into (after `attach`): see {@link BatchRunner.takeBatchTensor}. */
  takeBatchTensor(): Float32Array;
  /** Takes back a batch tensor that is not run. */
  returnBatchTensor(tensor: Float32Array): void;
  /** Runs a chunk's filled batch tensor, its scores into `slots`: see {@link BatchRunner.runFilled}. */
  runFilled(tensor: Float32Array, slots: readonly number[]): Promise<{ runMs: number }>;
}

/**
 * Loads the model of `data` and posts the {@link InferenceHello}; resolves with the {@link BatchService}, or
 * `undefined` when the model did not load (the hello said why).
 */
export async function serveBatches(
  port: MessagePort,
  data: InferenceWorkerData,
): Promise<BatchService | undefined> {
  let loaded: Awaited<ReturnType<typeof loadEngineModel>>;
  try {
    loaded = await loadEngineModel(data.model, data.options);
  } catch (err) {
    port.postMessage({ loaded: false, error: toErrorData(err) } satisfies InferenceHello);
    return undefined;
  }
  port.postMessage({ loaded: true, model: loaded.info } satisfies InferenceHello);
  let runner: BatchRunner | undefined;
  const attached = (): BatchRunner => {
    if (!runner) throw new Error('run before attach');
    return runner;
  };
  const run = async (slots: readonly number[]): Promise<{ runMs: number }> => attached().run(slots);
  const handle = (request: InferenceRequest): void => {
    if (request.type === 'attach') {
      runner = new BatchRunner(
        loaded.model,
        new Float32Array(request.inputBuffer),
        new Float32Array(request.scoreBuffer),
        data.maxBatchSize,
      );
      port.postMessage({ id: request.id, ok: true, runMs: 0 } satisfies InferenceReply);
      return;
    }
    run(request.slots).then(
      ({ runMs }) => port.postMessage({ id: request.id, ok: true, runMs } satisfies InferenceReply),
      (err: unknown) =>
        port.postMessage({ id: request.id, ok: false, error: toErrorData(err) } satisfies InferenceReply),
    );
  };
  return {
    handle,
    run,
    takeBatchTensor: () => attached().takeBatchTensor(),
    returnBatchTensor: (tensor) => attached().returnBatchTensor(tensor),
    runFilled: (tensor, slots) => attached().runFilled(tensor, slots),
  };
}
