/**
 * Worker thread: input (file path or bytes) → decode → preprocess → tensor, posted back with its buffer
 * transferred (no copy). Started by {@link PreprocessWorkerPool}; runs from the built `dist/` JavaScript.
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

port.on('message', (request: WorkerRequest) => {
  preprocessor.process(request.input).then(
    (image) => {
      // Transfer the tensor's memory; copy first only if it is a view into a larger buffer.
      const tensor =
        image.tensor.byteOffset === 0 && image.tensor.buffer.byteLength === image.tensor.byteLength
          ? image.tensor
          : image.tensor.slice();
      const response: WorkerResponse = { id: request.id, ok: true, tensor, timings: image.timings };
      port.postMessage(response, [tensor.buffer as ArrayBuffer]);
    },
    (err: unknown) => {
      const response: WorkerResponse = { id: request.id, ok: false, error: toErrorData(err) };
      port.postMessage(response);
    },
  );
});
