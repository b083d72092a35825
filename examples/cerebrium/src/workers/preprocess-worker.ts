/**
 * Decode + preprocess worker: bytes → decode (sharp) → resize + normalise (`@mtailor/core`'s exact engine, JS CPU
 * work) → one image's tensor in the model's layout. Several of these run in parallel, one per CPU, so decoding
 * the next requests overlaps inference of the current batch.
 * @module
 */
import { ImagePreprocessor } from '@mtailor/core';
import { HttpError } from '../http-errors.js';
import { decodeBase64Image } from '../image-input.js';
import {
  type PreprocessReply,
  type PreprocessRequest,
  type PreprocessWorkerData,
  toWireError,
} from './protocol.js';
import { enterWorkerThread } from './worker-thread.js';

const { port, settings } = enterWorkerThread<PreprocessWorkerData>('preprocess-worker', 10);

const preprocessor = new ImagePreprocessor({
  recipe: settings.recipe as 'resize-224',
  engine: settings.engine,
  autoOrient: settings.autoOrient,
  maxInputBytes: settings.maxInputBytes,
  maxPixels: settings.maxPixels,
}).withLayout(settings.layout);
// A fixed-size recipe (all recipes the server offers are) gives the tensor size up front.
const elements = 3 * (preprocessor.outputWidth ?? 0) * (preprocessor.outputHeight ?? 0);
if (elements === 0) throw new Error(`recipe ${settings.recipe} has no fixed output size`);

port.on('message', async (req: PreprocessRequest) => {
  try {
    // Our own buffer, so it can be transferred to the main thread without a copy.
    const out = new Float32Array(elements);
    const bytes = req.base64
      ? decodeBase64Image(req.base64.text, settings.maxInputBytes, req.base64.field)
      : (req.bytes as Uint8Array);
    if (bytes.length === 0) throw new HttpError(422, 'INVALID_IMAGE', 'the image is empty (0 bytes)');
    const result = await preprocessor.process(bytes, { out, offset: 0 });
    const reply: PreprocessReply = {
      id: req.id,
      ok: true,
      tensor: out,
      width: result.source.width,
      height: result.source.height,
      timings: { decodeMs: result.timings.decodeMs, preprocessMs: result.timings.preprocessMs },
    };
    port.postMessage(reply, [out.buffer]);
  } catch (err) {
    port.postMessage({ id: req.id, ok: false, error: toWireError(err) } satisfies PreprocessReply);
  }
});
