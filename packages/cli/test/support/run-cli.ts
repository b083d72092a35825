/**
 * Runs the built `mtailor` bin as users run it: `node packages/cli/bin/mtailor.js …` in a child process.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { type StartedProcess, startProcess } from '../../../../test/support/processes.js';
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

/**
 * Starts `mtailor ...args` without waiting for it (a worker of a simulated cluster), with `env` added to this
 * process's environment (an `undefined` value removes a variable); killed after 4 minutes.
 */
export function startMtailor(args: string[], env: Record<string, string | undefined> = {}): StartedProcess {
  return startProcess(process.execPath, [mtailorBin, ...args], {
    env: { ...process.env, ...env },
    timeoutMs: 240_000,
  });
}
