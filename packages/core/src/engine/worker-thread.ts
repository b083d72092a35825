/**
 * The start of each engine worker thread: its port to the engine, its start-up data, and a lower CPU priority so
 * that on a busy machine the main thread — HTTP, health checks, batching, all light work — wins the CPU over the
 * heavy decode and inference threads.
 * @module
 */
import { readlinkSync } from 'node:fs';
import os from 'node:os';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';

/** Nice value of decode workers (the heaviest, least urgent work). */
export const DECODE_WORKER_NICE = 10;
/** Nice value of the inference worker (ahead of decoding: a batch in flight holds every request in it). */
export const INFERENCE_WORKER_NICE = 5;

/**
 * Sets the calling thread's nice value (0–19; higher = lower priority); returns whether it was applied. Linux's
 * `setpriority(PRIO_PROCESS, tid)` applies to one thread; the thread id comes from `/proc/thread-self`. Threads
 * started later by this thread (libvips, onnxruntime pools) inherit it. Elsewhere (or when not permitted) a no-op.
 */
export function niceThisThread(nice: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const link = readlinkSync('/proc/thread-self'); // "<pid>/task/<tid>"
    const tid = Number(link.split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    os.setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks that this module runs as a worker thread, lowers the thread's priority to `nice` and returns its port and
 * start-up data. Call it first: threads the worker starts later inherit the priority.
 */
export function enterWorkerThread<Data>(name: string, nice: number): { port: MessagePort; data: Data } {
  if (!parentPort) throw new Error(`${name} must run as a worker thread`);
  niceThisThread(nice);
  return { port: parentPort, data: workerData as Data };
}

/**
 * The parent's Node flags minus those a worker refuses (`--input-type`, `-e`/`--eval`, `-p`/`--print`: a script run
 * with `node --input-type=module -e …` would otherwise fail to start any worker).
 */
export function workerExecArgv(): string[] {
  const refused = /^(--input-type(=.*)?|-e|--eval|-p|--print)$/;
  return process.execArgv.filter((arg) => !refused.test(arg));
}
