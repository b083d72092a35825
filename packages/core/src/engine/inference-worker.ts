/**
 * Inference worker thread: owns the onnxruntime session. onnxruntime-node's `run()` blocks the thread that calls it
 * for the whole batch, so it runs here and the engine's thread keeps its event loop. Reads each batch's tensors from
 * the shared slots and writes the output rows back there; messages carry slot numbers only.
 * @module
 */
import { BatchRunner } from './batch-runner.js';
import { toErrorData } from './error-transfer.js';
import { type EngineModel, loadEngineModel } from './load-model.js';
import type {
  InferenceHello,
  InferenceReply,
  InferenceRequest,
  InferenceWorkerData,
} from './worker-protocol.js';
import { enterWorkerThread, INFERENCE_WORKER_NICE } from './worker-thread.js';

const { port, data } = enterWorkerThread<InferenceWorkerData>('inference-worker', INFERENCE_WORKER_NICE);

async function main(): Promise<void> {
  let loaded: EngineModel;
  try {
    loaded = await loadEngineModel(data.model, data.options);
  } catch (err) {
    port.postMessage({ loaded: false, error: toErrorData(err) } satisfies InferenceHello);
    return;
  }
  port.postMessage({ loaded: true, model: loaded.info } satisfies InferenceHello);
  let runner: BatchRunner | undefined;
  port.on('message', (request: InferenceRequest) => {
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
  });
}

void main();
