/**
 * What crosses the thread boundary between the engine and its worker threads. Requests carry an `id`; the reply
 * with the same `id` settles it. Tensors and scores never travel in messages: they live in the shared slots
 * (`tensor-slots.ts`), and messages name slots.
 * @module
 */
import type { ModelOptions } from '../model/session-options.js';
import type { DecodeSettings } from './decode-into-slot.js';
import type { ErrorData } from './error-transfer.js';
import type { DecodeTimings, EncodedImage, ModelInfo } from './executors.js';

/**
 * Engine → decode worker. `configure` comes first (the settings depend on the model, which loads while the worker
 * starts), then `decode`s: decode `image` into `slot`.
 */
export type DecodeRequest =
  | {
      type: 'configure';
      id: number;
      settings: DecodeSettings;
      inputBuffer: SharedArrayBuffer;
      elementsPerImage: number;
    }
  | { type: 'decode'; id: number; slot: number; image: EncodedImage };

/** Decode worker → engine (`timings` for a decode; a `configure` is acknowledged with zeros). */
export type DecodeReply =
  | { id: number; ok: true; timings: DecodeTimings }
  | { id: number; ok: false; error: ErrorData };

/**
 * Start-up data of the inference worker, and of a decode worker that also runs batches (the `decode-workers`
 * layout: it then answers {@link InferenceRequest}s too, after its {@link InferenceHello}).
 */
export interface InferenceWorkerData {
  /** Model file path or bytes. */
  model: string | Uint8Array;
  options: ModelOptions;
  maxBatchSize: number;
}

/** The inference worker's first message: the model loaded (and warmed), or why not. */
export type InferenceHello = { loaded: true; model: ModelInfo } | { loaded: false; error: ErrorData };

/** Engine → inference worker. */
export type InferenceRequest =
  | { type: 'attach'; id: number; inputBuffer: SharedArrayBuffer; scoreBuffer: SharedArrayBuffer }
  | { type: 'run'; id: number; slots: number[] };

/** Inference worker → engine. */
export type InferenceReply =
  | { id: number; ok: true; runMs: number }
  | { id: number; ok: false; error: ErrorData };

/**
 * Engine → a decode worker that runs batches (the `decode-workers` layout): decode `images[i]` into `slots[i]`, then
 * run the ones that decoded as one batch — a whole batch in one message each way, no hand-offs per image.
 */
export type ChunkRequest = { type: 'chunk'; id: number; slots: number[]; images: (string | Uint8Array)[] };

/** One image of a chunk: decoded (its timings; its scores are in its slot) or its error. */
export type ChunkImageResult = { ok: true; timings: DecodeTimings } | { ok: false; error: ErrorData };

/** Worker → engine: each image's result in request order, and the batch's onnxruntime time (0 when none decoded). */
export type ChunkReply =
  | { id: number; ok: true; runMs: number; images: ChunkImageResult[] }
  | { id: number; ok: false; error: ErrorData };
