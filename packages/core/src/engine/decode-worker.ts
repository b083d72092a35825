/**
 * Decode worker thread: encoded image (path, bytes, base64) → decode → preprocess → tensor, written straight into
 * the slot the request names. Started by {@link WorkerDecodeExecutor} before the model has loaded (loading sharp and
 * the resize kernels overlaps the model's load), then configured once with the settings that depend on the model.
 * Started with a model (the `decode-workers` layout), it also loads its own session and runs batches, like the
 * inference worker. Runs from the built `dist/` JavaScript.
 * @module
 */
import type { ImagePreprocessor } from '../input/image-preprocessor.js';
import { createPreprocessor, decodeIntoSlot } from './decode-into-slot.js';
import { toErrorData } from './error-transfer.js';
import { serveBatches } from './serve-batches.js';
import type {
  ChunkImageResult,
  ChunkReply,
  ChunkRequest,
  DecodeReply,
  DecodeRequest,
  InferenceRequest,
  InferenceWorkerData,
} from './worker-protocol.js';
import { DECODE_WORKER_NICE, enterWorkerThread } from './worker-thread.js';

const { port, data } = enterWorkerThread<InferenceWorkerData | undefined>(
  'decode-worker',
  DECODE_WORKER_NICE,
);
// Batches wait for the model: chained on its load, they keep their order.
const batches = data === undefined ? undefined : serveBatches(port, data);
let configured:
  | { preprocessor: ImagePreprocessor; inputs: Float32Array; elementsPerImage: number }
  | undefined;
const NO_TIMINGS = { readMs: 0, decodeMs: 0, preprocessMs: 0 };
// This thread only decodes (and runs batches, one after another): a file read here costs less CPU than four
// thread-pool round trips, and nothing waits for this thread's event loop meanwhile.
const READ = { syncFileReads: true };

port.on('message', (request: DecodeRequest | InferenceRequest | ChunkRequest) => {
  if (request.type === 'attach' || request.type === 'run') {
    void batches?.then((service) => service?.handle(request));
    return;
  }
  if (request.type === 'chunk') {
    runChunk(request).then(
      (reply) => port.postMessage(reply),
      (err: unknown) =>
        port.postMessage({ id: request.id, ok: false, error: toErrorData(err) } satisfies ChunkReply),
    );
    return;
  }
  if (request.type === 'configure') {
    try {
      configured = {
        preprocessor: createPreprocessor(request.settings),
        inputs: new Float32Array(request.inputBuffer),
        elementsPerImage: request.elementsPerImage,
      };
      port.postMessage({ id: request.id, ok: true, timings: NO_TIMINGS } satisfies DecodeReply);
    } catch (err) {
      port.postMessage({ id: request.id, ok: false, error: toErrorData(err) } satisfies DecodeReply);
    }
    return;
  }
  if (!configured) {
    const error = toErrorData(new Error('decode before configure'));
    port.postMessage({ id: request.id, ok: false, error } satisfies DecodeReply);
    return;
  }
  const { preprocessor, inputs, elementsPerImage } = configured;
  decodeIntoSlot(preprocessor, request.image, inputs, request.slot * elementsPerImage, READ).then(
    (timings) => port.postMessage({ id: request.id, ok: true, timings } satisfies DecodeReply),
    (err: unknown) =>
      port.postMessage({ id: request.id, ok: false, error: toErrorData(err) } satisfies DecodeReply),
  );
});

/**
 * A chunk: each image decoded in turn straight into this thread's batch tensor (not through its slot), then the ones
 * that decoded run as one batch, their scores into their slots. An image that fails to decode fails alone; the
 * batch's failure fails the chunk.
 */
async function runChunk(request: ChunkRequest): Promise<ChunkReply> {
  const service = await batches;
  if (!service || !configured) throw new Error('chunk before the model loaded and the worker was configured');
  const { preprocessor, elementsPerImage } = configured;
  const images: ChunkImageResult[] = [];
  const decoded: number[] = [];
  const runner = service.runner();
  const tensor = runner.takeBatchTensor();
  for (const [i, image] of request.images.entries()) {
    try {
      const offset = decoded.length * elementsPerImage;
      const timings = await decodeIntoSlot(preprocessor, image, tensor, offset, READ);
      images.push({ ok: true, timings });
      decoded.push(request.slots[i] as number);
    } catch (err) {
      images.push({ ok: false, error: toErrorData(err) });
    }
  }
  if (decoded.length === 0) {
    runner.returnBatchTensor(tensor);
    return { id: request.id, ok: true, runMs: 0, images };
  }
  const { runMs } = await runner.runFilled(tensor, decoded);
  return { id: request.id, ok: true, runMs, images };
}
