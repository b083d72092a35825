/**
 * Lowers the scheduling priority of the calling worker thread (Linux), so that on a busy machine the main thread —
 * HTTP, health checks, batching, all light work — wins the CPU over the heavy decode and inference threads.
 * Threads started later by this thread (libvips, onnxruntime pools) inherit the nice value.
 * Linux's `setpriority(PRIO_PROCESS, tid)` applies to one thread; the thread id comes from `/proc/thread-self`.
 * Elsewhere (or when not permitted) this does nothing.
 * @module
 */
import { readlinkSync } from 'node:fs';
import os from 'node:os';

/** Sets this thread's nice value (0–19; higher = lower priority). Returns whether it was applied. */
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
