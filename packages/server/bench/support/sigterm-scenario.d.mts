// Types of sigterm-scenario.mjs, for the TypeScript tests that use it.
import type { ChildProcess } from 'node:child_process';

export interface ServerUnderTest {
  child: ChildProcess;
  port: number;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  output: () => string;
}

export interface RequestOutcome {
  i: number;
  beforeSigterm: boolean;
  start: number;
  end: number;
  status?: number;
  code?: string;
  error?: string;
  connection?: string;
  classId?: number;
}

export function freePort(): Promise<number>;
export function startServerProcess(cwd: string, env: Record<string, string>): Promise<ServerUnderTest>;
export function get(
  port: number,
  path: string,
  headers?: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>;
export function sigtermUnderLoad<P = undefined>(options: {
  server: ServerUnderTest;
  image: Buffer;
  expectedClass: number;
  token?: string;
  total?: number;
  concurrency?: number;
  sigtermAfter?: number;
  onSigterm?: (port: number) => Promise<P>;
}): Promise<{
  results: RequestOutcome[];
  probe: P;
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number };
  summary: {
    sentBeforeSigterm: number;
    inFlightAtSigterm: number;
    inFlightAnswered200: number;
    beforeSigterm: Record<string, number>;
    afterSigterm: Record<string, number>;
    resets: number;
    exitCode: number | null;
    exitMsAfterSigterm: number;
  };
}>;
