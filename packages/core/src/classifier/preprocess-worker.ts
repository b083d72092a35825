/**
 * Worker thread: input (file path or bytes) → decode → preprocess → tensor, written straight into the shared
 * memory slot the request names. Started by {@link PreprocessWorkerPool}; runs from the built `dist/` JavaScript.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ImagePreprocessor } from '../input/index.js';
import { toErrorData } from './error-transfer.js';
import type { PreprocessorSettings } from './image-classifier.js';
import { createPreprocessor } from './setup.js';
import type { WorkerRequest, WorkerResponse } from './worker-protocol.js';

const preprocessor: ImagePreprocessor = createPreprocessor(workerData as PreprocessorSettings);
const port = parentPort!;
/** One float32 view per shared buffer (a pipeline keeps one buffer for its whole run). */
let view: Float32Array | undefined;

port.on('message', (request: WorkerRequest) => {
  if (view?.buffer !== request.slot.buffer) view = new Float32Array(request.slot.buffer);
  preprocessor.process(request.input, { out: view, offset: request.slot.offset }).then(
    (image) => {
      const response: WorkerResponse = { id: request.id, ok: true, timings: image.timings };
      port.postMessage(response);
    },
    (err: unknown) => {
      const response: WorkerResponse = { id: request.id, ok: false, error: toErrorData(err) };
      port.postMessage(response);
    },
  );
});
