/**
 * The two executors the engine is made of, as interfaces (in the style of onnxruntime-common: the interface here,
 * the backends beside it): a {@link DecodeExecutor} turns encoded images into tensors in slots, an
 * {@link InferenceExecutor} runs batches of slots through onnxruntime. Each has an in-thread implementation
 * (`in-thread.ts`: on the calling thread) and a worker-thread implementation (`worker-threads.ts`).
 * @module
 */
import type { MtailorError } from '../errors.js';
import type { Int8KernelsReport } from '../model/int8-kernels.js';
import type { InputLayout, TensorInfo } from '../model/signature.js';
import type { TensorSlots } from './tensor-slots.js';

/**
 * An encoded image as a decode executor takes it: a file path (read where it is decoded), its bytes, or base64 text
 * (plain or a `data:image/…;base64,` URL) as a string or as its ASCII bytes.
 */
export type EncodedImage = string | Uint8Array | Base64Image;

/**
 * An image sent as base64 text. `field` names it in error messages (default `'image_base64'`). With `transfer: true`
 * the engine may move (detach) the bytes' `ArrayBuffer` to a worker thread instead of copying it — for a buffer the
 * caller will not touch again.
 *
 * @example
 * ```ts
 * const base64 = (await readFile('cat.jpg')).toString('base64');
 * const { predictions } = await classifier.classify({ base64: `data:image/jpeg;base64,${base64}` });
 * ```
 */
export interface Base64Image {
  base64: string | Uint8Array;
  field?: string;
  transfer?: boolean;
}

/** Per-stage milliseconds of one decode. */
export interface DecodeTimings {
  /** Reading the file or stream (≈ 0 for bytes). */
  readMs: number;
  /** Decoding to pixels (base64 decoding included). */
  decodeMs: number;
  /** Resize, crop and tensor conversion. */
  preprocessMs: number;
}

/** Decode + preprocess: encoded image → tensor in a slot. */
export interface DecodeExecutor {
  /** Decodes and preprocesses `image` into `slot`'s input tensor. Rejects with the image's typed error. */
  prepare(image: EncodedImage, slot: number): Promise<DecodeTimings>;
  /** Images being decoded right now. */
  readonly busy: number;
  /** Stops the executor; images still being decoded reject. */
  close(): Promise<void>;
}

/**
 * What is known about the loaded model: its signature and where it came from. Plain data, the same on every thread.
 *
 * @example
 * ```ts
 * const { inputSize, numClasses, sha256 } = classifier.model; // { width: 224, height: 224 }, 1000, '3d7d…'
 * ```
 */
export interface ModelInfo {
  /** The model file's path, or `'<bytes>'`. */
  source: string;
  /** SHA-256 of the model file's bytes (hex). */
  sha256: string;
  inputs: readonly TensorInfo[];
  outputs: readonly TensorInfo[];
  inputName: string;
  outputName: string;
  inputLayout: InputLayout;
  inputSize: { readonly width: number; readonly height: number };
  /** A fixed batch size, or `'dynamic'`. */
  batchDim: number | 'dynamic';
  numClasses: number;
  /** Floats of one image's input tensor (3 × height × width). */
  inputElementsPerImage: number;
  /** The execution provider running the model (`'cpu'` after a CUDA fallback). */
  executionProvider: string;
  /** Why a requested provider was not used, when it was not. */
  fallbackMessage?: string;
  /** Which int8 kernels run the model and why (option `int8Kernels`; see {@link ONNXModel.int8Kernels}). */
  int8Kernels: Int8KernelsReport;
  /** onnxruntime's version. */
  onnxruntimeVersion: string;
  /** Milliseconds from the start of loading to a warm session. */
  loadMs: number;
}

/** onnxruntime: batches of slots → their output rows. */
export interface InferenceExecutor {
  /** The model it runs. */
  readonly model: ModelInfo;
  /** False once its thread has died: the engine is then no longer ready. */
  readonly alive: boolean;
  /** Batches it runs at once (one per session it has). */
  readonly concurrency: number;
  /** Gives the executor the tensor slots it reads inputs from and writes scores to (once, before the first run). */
  attach(tensorSlots: TensorSlots): void;
  /**
   * Runs the images in the tensor slots numbered `batch` as one batch (padded with zeros to a fixed batch dim) and
   * writes each image's output row into its slot.
   */
  run(batch: readonly number[]): Promise<{ runMs: number }>;
  /**
   * Decodes `images[i]` into `slots[i]` and runs the ones that decoded as one batch, on the thread that decodes them:
   * only executors whose threads both decode and infer (the `decode-workers` layout) have it.
   */
  runChunk?(images: readonly (string | Uint8Array)[], slots: readonly number[]): Promise<ChunkOutcome>;
  /** Releases the session (and its thread). */
  close(): Promise<void>;
}

/** What {@link InferenceExecutor.runChunk} did: each image's decode (or its error), and the batch's onnxruntime time. */
export interface ChunkOutcome {
  runMs: number;
  images: ({ ok: true; timings: DecodeTimings } | { ok: false; error: MtailorError })[];
}

/**
 * Most images one decode worker holds at once. Two keep it busy (the next decode starts on libuv's pool while the
 * worker resizes the previous one); more only hold more decoded pixels in memory — an image holds its full-size
 * pixels until it is resized (4 bytes a pixel: hundreds of MB for a photo of tens of megapixels), so every image
 * beyond two a worker holds multiplies the server's memory for large uploads.
 */
export const DECODES_PER_WORKER = 2;

/**
 * Most chunks one worker of the `decode-workers` layout holds at once: the one it runs and the next, so that it never
 * waits for the calling thread between chunks.
 */
export const CHUNKS_PER_WORKER = 2;
