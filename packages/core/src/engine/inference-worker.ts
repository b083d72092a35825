/**
 * Inference worker thread: owns the onnxruntime session. onnxruntime-node's `run()` blocks the thread that calls it
 * for the whole batch, so it runs here and the engine's thread keeps its event loop. Reads each batch's tensors from
 * the shared slots and writes the output rows back there; messages carry slot numbers only.
 * @module
 */
import { serveBatches } from './serve-batches.js';
import type { InferenceWorkerData } from './worker-protocol.js';
import { enterWorkerThread, INFERENCE_WORKER_NICE } from './worker-thread.js';

const { port, data } = enterWorkerThread<InferenceWorkerData>('inference-worker', INFERENCE_WORKER_NICE);
const service = await serveBatches(port, data);
if (service) port.on('message', service.handle);
