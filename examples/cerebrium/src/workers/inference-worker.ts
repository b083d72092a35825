/**
 * Inference worker: owns the one onnxruntime session. onnxruntime-node's `run()` blocks the thread that calls
 * it, so it runs here and the main thread keeps answering `/health` while a batch is computed.
 * Receives batches as one tensor per image (transferred, not copied), assembles them into the batch tensor and
 * replies with the logits of the whole batch.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { ONNXModel } from '@mtailor/core';
import {
  type InferenceHello,
  type InferenceReply,
  type InferenceRequest,
  type InferenceWorkerData,
  toWireError,
} from './protocol.js';
import { enterWorkerThread } from './worker-thread.js';

const { port, settings } = enterWorkerThread<InferenceWorkerData>('inference-worker', 5);

async function main(): Promise<void> {
  const started = performance.now();
  let model: ONNXModel;
  try {
    model = await ONNXModel.load(settings.modelPath, {
      intraOpThreads: settings.intraOpThreads,
      interOpThreads: 1,
      // Idle spinning threads would hold a core that the decode workers need.
      allowSpinning: false,
    });
    await model.warmup(1);
  } catch (err) {
    port?.postMessage({ ready: false, error: toWireError(err) } satisfies InferenceHello);
    return;
  }
  const perImage = model.inputElementsPerImage;
  const { width, height } = model.inputSize;
  port?.postMessage({
    ready: true,
    model: {
      inputName: model.inputName,
      outputName: model.outputName,
      inputLayout: model.inputLayout,
      inputWidth: width,
      inputHeight: height,
      batchDim: model.batchDim,
      numClasses: model.numClasses,
      elementsPerImage: perImage,
      loadMs: performance.now() - started,
      onnxruntimeVersion: ONNXModel.runtimeVersion,
      executionProvider: model.executionProvider,
    },
  } satisfies InferenceHello);

  port?.on('message', async (req: InferenceRequest) => {
    let reply: InferenceReply;
    try {
      const n = req.images.length;
      let batch: Float32Array;
      if (n === 1 && (req.images[0] as Float32Array).length === perImage) {
        batch = req.images[0] as Float32Array;
      } else {
        batch = new Float32Array(n * perImage);
        req.images.forEach((img, i) => {
          if (img.length !== perImage) {
            throw Object.assign(
              new Error(`image ${i} has ${img.length} floats; the model takes ${perImage}`),
              {
                code: 'INVALID_OPTION',
              },
            );
          }
          batch.set(img, i * perImage);
        });
      }
      const t0 = performance.now();
      // A copy we own: the session's output may live in memory that cannot be transferred (≈ 4 KB per image).
      const logits = (await model.run(batch, n)).slice();
      reply = { id: req.id, ok: true, logits, runMs: performance.now() - t0 };
      port?.postMessage(reply, [logits.buffer as ArrayBuffer]);
    } catch (err) {
      reply = { id: req.id, ok: false, error: toWireError(err) };
      port?.postMessage(reply);
    }
  });
}

void main();
