/**
 * The start of each server worker thread: its port to the main thread, its start-up data, and a lower CPU
 * priority so that its heavy work yields to the main thread (HTTP, `/health`) when the CPU is contended.
 * @module
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { niceThisThread } from './thread-priority.js';

/** What a worker module needs from its thread. */
export interface WorkerThreadContext<Settings> {
  /** Messages to and from the main thread. */
  port: MessagePort;
  /** The `workerData` the main thread started it with. */
  settings: Settings;
}

/**
 * Checks that this module runs as a worker thread, lowers the thread's priority to `nice` (see
 * {@link niceThisThread}) and returns its port and settings. Call it first: threads the worker starts later
 * (libvips, onnxruntime) inherit the priority.
 */
export function enterWorkerThread<Settings>(name: string, nice: number): WorkerThreadContext<Settings> {
  if (!parentPort) throw new Error(`${name} must run as a worker thread`);
  niceThisThread(nice);
  return { port: parentPort, settings: workerData as Settings };
}
