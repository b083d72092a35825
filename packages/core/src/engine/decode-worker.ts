/**
 * Decode worker thread: encoded image (path, bytes, base64) → decode → preprocess → tensor, written straight into
 * the slot the request names. Started by {@link WorkerDecodeExecutor}; runs from the built `dist/` JavaScript.
 * @module
 */
import { createPreprocessor, decodeIntoSlot } from './decode-into-slot.js';
import { toErrorData } from './error-transfer.js';
import type { DecodeReply, DecodeRequest, DecodeWorkerData } from './worker-protocol.js';
import { DECODE_WORKER_NICE, enterWorkerThread } from './worker-thread.js';

const { port, data } = enterWorkerThread<DecodeWorkerData>('decode-worker', DECODE_WORKER_NICE);
const preprocessor = createPreprocessor(data.settings);
const inputs = new Float32Array(data.inputBuffer);

port.on('message', (request: DecodeRequest) => {
  decodeIntoSlot(preprocessor, request.image, inputs, request.slot * data.elementsPerImage).then(
    (timings) => port.postMessage({ id: request.id, ok: true, timings } satisfies DecodeReply),
    (err: unknown) =>
      port.postMessage({ id: request.id, ok: false, error: toErrorData(err) } satisfies DecodeReply),
  );
});
