/**
 * Messages between the classification pipeline and its preprocessing workers.
 * @module
 */
import type { ErrorData } from './error-transfer.js';

/**
 * Main → worker: preprocess this file (path) or these bytes, and write the tensor into `slot` — a region of
 * shared memory, so that no tensor is allocated, transferred or freed per image.
 */
export interface WorkerRequest {
  id: number;
  input: string | Uint8Array;
  slot: TensorSlot;
}

/** Where a tensor goes: `buffer` viewed as float32, from element `offset`. */
export interface TensorSlot {
  buffer: SharedArrayBuffer;
  offset: number;
}

/** Per-stage times the worker measured. */
export interface WorkerTimings {
  readMs: number;
  decodeMs: number;
  preprocessMs: number;
}

/** Worker → main: the tensor is in its slot, or the typed error as data. */
export type WorkerResponse =
  | { id: number; ok: true; timings: WorkerTimings }
  | { id: number; ok: false; error: ErrorData };
