/**
 * Child processes for tests: started without a shell, their output collected, a timeout that kills them.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

/** How a process ended and what it printed. */
export interface ProcessRun {
  /** The exit code; `null` when a signal ended it or it could not start. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from start to end. */
  ms: number;
}

/** A started process and its end. */
export interface StartedProcess {
  child: ChildProcess;
  /** Resolves when the process has ended; never rejects (a failure to start is in `stderr`, code `null`). */
  exited: Promise<ProcessRun>;
}

/**
 * Starts `cmd args…` (no shell), collecting its output; SIGKILLed after `timeoutMs` (default 120 s).
 *
 * @example
 * ```ts
 * const { code, stdout } = await startProcess('node', ['--version']).exited;
 * ```
 */
export function startProcess(
  cmd: string,
  args: string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): StartedProcess {
  const started = performance.now();
  const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<ProcessRun>((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    };
    child.on('error', (err) => {
      stderr += String(err);
      done(null, null);
    });
    child.on('close', done);
  });
  return { child, exited };
}
