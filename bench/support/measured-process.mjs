/**
 * Runs a command to completion and measures it as a whole: wall time, and CPU time of the process and every child
 * it waited for (through the POSIX shell's `times`, so no tool beyond `/bin/sh` is needed).
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const TIMES = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s\s*$/;

/**
 * `{ status, stdout, stderr, seconds, cpuSeconds }` of `command args…` run with `env`. `cpuSeconds` is user + system
 * time of the command and its waited-for children.
 */
export function runMeasured(command, args, env = process.env) {
  const t0 = performance.now();
  const r = spawnSync('/bin/sh', ['-c', '"$@"; status=$?; times >&2; exit $status', 'sh', command, ...args], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env,
  });
  const seconds = (performance.now() - t0) / 1000;
  const lines = r.stderr.trimEnd().split('\n');
  const children = TIMES.exec(lines.at(-1) ?? '');
  const cpuSeconds = children
    ? Number(children[1]) * 60 + Number(children[2]) + Number(children[3]) * 60 + Number(children[4])
    : Number.NaN;
  return { status: r.status, stdout: r.stdout, stderr: lines.slice(0, -2).join('\n'), seconds, cpuSeconds };
}
