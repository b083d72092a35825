/**
 * Messages between the classification pipeline and its preprocessing workers.
 * @module
 */
import type { ErrorData } from './error-transfer.js';

/** Main → worker: preprocess this file (path) or these bytes (transferred). */
export interface WorkerRequest {
  id: number;
  input: string | Uint8Array;
}

/** Per-stage times the worker measured. */
export interface WorkerTimings {
  readMs: number;
  decodeMs: number;
  preprocessMs: number;
}

/** Worker → main: the tensor (buffer transferred), or the typed error as data. */
export type WorkerResponse =
  | { id: number; ok: true; tensor: Float32Array; timings: WorkerTimings }
  | { id: number; ok: false; error: ErrorData };
