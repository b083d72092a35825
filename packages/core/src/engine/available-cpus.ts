/**
 * How many CPUs this process may really use: the smaller of `os.availableParallelism()` and the container's CPU
 * quota (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us / cpu.cfs_period_us`). Containers limited to 2 CPUs on a
 * 64-core host report 64 cores to `os.cpus()`; sizing thread pools from that would put 64 threads on 2 cores.
 * @module
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * The CPU quota of this process's cgroup in whole CPUs (rounded up, at least 1), or `undefined` when unlimited
 * or unknown.
 */
export function cgroupCpuQuota(root = '/sys/fs/cgroup'): number | undefined {
  const v2 = readText(`${root}/cpu.max`);
  if (v2 !== undefined) {
    const [quota, period] = v2.split(/\s+/);
    if (quota === undefined || quota === 'max') return undefined;
    const q = Number(quota);
    const p = Number(period ?? 100000);
    return q > 0 && p > 0 ? Math.max(1, Math.ceil(q / p)) : undefined;
  }
  const q = Number(readText(`${root}/cpu/cpu.cfs_quota_us`) ?? Number.NaN);
  const p = Number(readText(`${root}/cpu/cpu.cfs_period_us`) ?? Number.NaN);
  return q > 0 && p > 0 ? Math.max(1, Math.ceil(q / p)) : undefined;
}

/** CPUs available to this process: `min(os.availableParallelism(), cgroup quota)`. */
export function availableCpus(): number {
  const quota = cgroupCpuQuota();
  const parallelism = os.availableParallelism();
  return quota === undefined ? parallelism : Math.min(parallelism, quota);
}
