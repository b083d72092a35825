/**
 * Runs the built `mtailor` bin as users run it: `node packages/cli/bin/mtailor.js …` in a child process.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../../../test/support/shared-data.js';

/** The CLI's entry point in this checkout (needs `pnpm build`). */
export const mtailorBin = path.join(repoRoot, 'packages', 'cli', 'bin', 'mtailor.js');

/** What one `mtailor` run left: its exit code and its two streams. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mtailor ...args` to the end (up to 4 minutes) and returns its exit code and output, whatever the code. */
export async function mtailor(...args: string[]): Promise<CliRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [mtailorBin, ...args], {
      timeout: 240_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    // execFile rejects on a non-zero exit with the code and the output attached; anything else is a real failure.
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A `mtailor` process started by {@link startMtailor}: the child, and its end. */
export interface RunningCli {
  child: ChildProcess;
  /** Resolves when the process has exited: its code (`null` when killed by a signal), signal and output. */
  exited: Promise<CliRun & { signal: NodeJS.Signals | null }>;
}

/**
 * Starts `mtailor ...args` without waiting for it (a worker of a simulated cluster), with `env` added to this
 * process's environment (a `undefined` value removes a variable).
 */
export function startMtailor(args: string[], env: Record<string, string | undefined> = {}): RunningCli {
  const child = spawn(process.execPath, [mtailorBin, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<CliRun & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr }));
  });
  return { child, exited };
}
