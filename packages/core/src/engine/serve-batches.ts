/**
 * The inference side of a worker thread, the same in the inference worker and in a decode worker that also runs
 * batches: load the model and say so (the thread's first message), then answer `attach` and `run` requests.
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

/**
 * Loads the model of `data` and posts the {@link InferenceHello}; resolves with the handler of inference requests,
 * or `undefined` when the model did not load (the hello said why).
 */
export async function serveBatches(
  port: MessagePort,
  data: InferenceWorkerData,
): Promise<((request: InferenceRequest) => void) | undefined> {
  let loaded: Awaited<ReturnType<typeof loadEngineModel>>;
  try {
    loaded = await loadEngineModel(data.model, data.options);
  } catch (err) {
    port.postMessage({ loaded: false, error: toErrorData(err) } satisfies InferenceHello);
    return undefined;
  }
  port.postMessage({ loaded: true, model: loaded.info } satisfies InferenceHello);
  let runner: BatchRunner | undefined;
  return (request) => {
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
    if (!runner) {
      const error = toErrorData(new Error('run before attach'));
      port.postMessage({ id: request.id, ok: false, error } satisfies InferenceReply);
      return;
    }
    runner.run(request.slots).then(
      ({ runMs }) => port.postMessage({ id: request.id, ok: true, runMs } satisfies InferenceReply),
      (err: unknown) =>
        port.postMessage({ id: request.id, ok: false, error: toErrorData(err) } satisfies InferenceReply),
    );
  };
}
