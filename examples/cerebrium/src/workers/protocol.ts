/**
 * Messages between the main thread and the worker threads. Every request carries an `id`; the reply with the
 * same `id` settles it, so replies can come back in any order.
 * @module
 */

/** An error as it crosses the thread boundary (`code` is a stable `@mtailor/core` code when there is one). */
export interface WireError {
  name: string;
  code: string;
  message: string;
}

/** Settings of a decode + preprocess worker. */
export interface PreprocessWorkerData {
  kind: 'preprocess';
  recipe: string;
  engine: 'exact' | 'fast';
  autoOrient: boolean;
  maxInputBytes: number;
  maxPixels: number;
  layout: 'NCHW' | 'NHWC';
}

/** Settings of the inference worker. */
export interface InferenceWorkerData {
  kind: 'inference';
  modelPath: string;
  intraOpThreads: number;
}

/** Main → preprocess worker: decode and preprocess one encoded image, given as bytes or as base64 text. */
export interface PreprocessRequest {
  id: number;
  bytes?: Uint8Array;
  /**
   * base64 (or a data URL) decoded in the worker, off the event loop — as text, or as its ASCII bytes (moved, not
   * copied, from a JSON body: see `json-body.ts`); `field` names it in error messages.
   */
  base64?: { text: string | Uint8Array; field: string };
}

/** Preprocess worker → main. */
export type PreprocessReply =
  | {
      id: number;
      ok: true;
      tensor: Float32Array;
      width: number;
      height: number;
      timings: { decodeMs: number; preprocessMs: number };
    }
  | { id: number; ok: false; error: WireError };

/** Main → inference worker: run one batch made of these images (each one image's tensor). */
export interface InferenceRequest {
  id: number;
  images: Float32Array[];
}

/** Inference worker → main: `logits` holds `images.length × numClasses` floats, image after image. */
export type InferenceReply =
  | { id: number; ok: true; logits: Float32Array; runMs: number }
  | { id: number; ok: false; error: WireError };

/** What the inference worker reports once its model is loaded. */
export interface ModelInfo {
  inputName: string;
  outputName: string;
  inputLayout: 'NCHW' | 'NHWC';
  inputWidth: number;
  inputHeight: number;
  /** A fixed batch size, or `'dynamic'`. */
  batchDim: number | 'dynamic';
  numClasses: number;
  elementsPerImage: number;
  loadMs: number;
  onnxruntimeVersion: string;
  executionProvider: string;
}

/** The first message of the inference worker: loaded, or why not. */
export type InferenceHello = { ready: true; model: ModelInfo } | { ready: false; error: WireError };

/** Converts anything thrown into a {@link WireError}. */
export function toWireError(err: unknown): WireError {
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    code: typeof e?.code === 'string' ? e.code : 'INTERNAL',
    message: typeof e?.message === 'string' ? e.message : String(err),
  };
}

/** An error that happened in a worker, rebuilt on the main thread with its `code`. */
export class WorkerTaskError extends Error {
  readonly code: string;
  constructor(wire: WireError) {
    super(wire.message);
    this.name = wire.name;
    this.code = wire.code;
  }
}
