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
  /** The runner of this worker's session (after `attach`): a chunk decodes into its batch tensors and runs them. */
  runner(): BatchRunner;
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
    // Asynchronous, so that a run before attach rejects (answered on the port) rather than throws.
    (async () => attached().run(request.slots))().then(
      ({ runMs }) => port.postMessage({ id: request.id, ok: true, runMs } satisfies InferenceReply),
      (err: unknown) =>
        port.postMessage({ id: request.id, ok: false, error: toErrorData(err) } satisfies InferenceReply),
    );
  };
  return { handle, runner: attached };
}
