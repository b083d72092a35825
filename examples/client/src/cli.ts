/**
 * `mtailor-client`: the seed's `test_server.py` in TypeScript. Calls a deployed server's health check or
 * classifies a local or remote image; prints class, label, confidence, top-5 and latency (p50/p95/p99 with
 * `--repeat`). Exit codes: 0 ok, 1 a request failed, 2 usage error.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  type ClientOptions,
  getHealth,
  latencyStats,
  type PredictResult,
  predictBytes,
  predictUrl,
  RequestFailedError,
} from './client.js';

/** The CLI's usage text. */
export const USAGE = `Usage: mtailor-client (--health | --local-image <path> | --remote-image <url>) [options]

  --health               GET /health and print it
  --local-image <path>   classify a local image file (sent as raw bytes)
  --remote-image <url>   ask the server to download and classify an image URL
  --endpoint <url>       server base URL (default: $MTAILOR_ENDPOINT)
  --token <token>        bearer token (default: $MTAILOR_API_KEY)
  --top-k <n>            classes to return, 1-1000 (default 5)
  --repeat <n>           send the request n times in a row; print p50/p95/p99 latency
  --timeout <ms>         per-request timeout (default 30000)
  --json                 print JSON instead of text
  -h, --help             this help

Exit codes: 0 ok, 1 a request failed, 2 usage error.`;

/** A command-line mistake (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parsed and checked arguments. */
export interface CliArgs {
  mode: 'health' | 'local' | 'remote' | 'help';
  target?: string;
  endpoint: string;
  token: string | undefined;
  topK: number;
  repeat: number;
  timeoutMs: number;
  json: boolean;
}

function positiveInt(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`--${name} must be an integer from 1 to ${max}, not ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** Parses `argv` (without node and the script) with `env` for defaults. */
export function parseCliArgs(argv: string[], env: Record<string, string | undefined> = process.env): CliArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        health: { type: 'boolean' },
        'local-image': { type: 'string' },
        'remote-image': { type: 'string' },
        endpoint: { type: 'string' },
        token: { type: 'string' },
        'top-k': { type: 'string' },
        repeat: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const base = {
    endpoint: '',
    token: undefined,
    topK: 5,
    repeat: 1,
    timeoutMs: 30_000,
    json: values.json === true,
  };
  if (values.help) return { mode: 'help', ...base };
  const modes = [
    values.health ? 'health' : undefined,
    values['local-image'] !== undefined ? 'local' : undefined,
    values['remote-image'] !== undefined ? 'remote' : undefined,
  ].filter((m): m is CliArgs['mode'] => m !== undefined);
  if (modes.length !== 1) {
    throw new UsageError('give exactly one of --health, --local-image <path>, --remote-image <url>');
  }
  const endpoint = (values.endpoint as string | undefined) ?? env.MTAILOR_ENDPOINT;
  if (!endpoint) throw new UsageError('no endpoint: pass --endpoint <url> or set MTAILOR_ENDPOINT');
  try {
    const u = new URL(endpoint);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new UsageError(`--endpoint must be an http(s) URL, not ${JSON.stringify(endpoint)}`);
  }
  const mode = modes[0] as CliArgs['mode'];
  return {
    ...base,
    mode,
    target:
      mode === 'local'
        ? (values['local-image'] as string)
        : mode === 'remote'
          ? (values['remote-image'] as string)
          : undefined,
    endpoint,
    token: (values.token as string | undefined) ?? env.MTAILOR_API_KEY,
    topK: positiveInt('top-k', values['top-k'] as string | undefined, 5, 1000),
    repeat: positiveInt('repeat', values.repeat as string | undefined, 1, 100_000),
    timeoutMs: positiveInt('timeout', values.timeout as string | undefined, 30_000, 3_600_000),
  };
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

function printPrediction(result: PredictResult, latencies: number[], out: (s: string) => void): void {
  const p = result.prediction;
  out(`class ${p.class_id}  ${p.label}  confidence ${p.confidence.toFixed(4)}`);
  out(`top-${result.top_k.length}:`);
  result.top_k.forEach((t, i) => {
    out(
      `  ${String(i + 1).padStart(2)}. ${String(t.class_id).padStart(4)}  ${t.label.padEnd(30)} ${t.confidence.toFixed(4)}`,
    );
  });
  out(`model: ${result.model.name} (sha256 ${result.model.sha256.slice(0, 12)}…)  run_id: ${result.run_id}`);
  if (latencies.length === 1) {
    out(`latency: ${fmt(latencies[0] as number)} (server: ${fmt(result.timings_ms.total ?? Number.NaN)})`);
  } else {
    const s = latencyStats(latencies);
    out(
      `latency over ${s.n} requests: p50 ${fmt(s.p50)}  p95 ${fmt(s.p95)}  p99 ${fmt(s.p99)}  (min ${fmt(s.min)}, max ${fmt(s.max)})`,
    );
  }
}

/**
 * Runs the CLI; returns the exit code instead of exiting (so it can be tested and embedded).
 *
 * @example
 * ```ts
 * const code = await runCli(['--local-image', 'tench.jpg', '--endpoint', 'http://127.0.0.1:8080']);
 * ```
 */
export async function runCli(
  argv: string[],
  io: { out: (s: string) => void; err: (s: string) => void; env?: Record<string, string | undefined> } = {
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
  },
): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv, io.env ?? process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`mtailor-client: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (args.mode === 'help') {
    io.out(USAGE);
    return 0;
  }
  const options: ClientOptions = { endpoint: args.endpoint, token: args.token, timeoutMs: args.timeoutMs };
  let bytes: Uint8Array | undefined;
  if (args.mode === 'local') {
    try {
      bytes = await readFile(args.target as string);
    } catch (err) {
      io.err(
        `mtailor-client: cannot read ${args.target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
      return 2;
    }
  }
  try {
    if (args.mode === 'health') {
      const t0 = performance.now();
      const health = await getHealth(options);
      const ms = performance.now() - t0;
      if (args.json) io.out(JSON.stringify({ ...health, latency_ms: ms }));
      else {
        const model = health.model as { name?: string; status?: string } | undefined;
        io.out(
          `health: ${String(health.status)}  model ${model?.name ?? '?'} (${model?.status ?? '?'})  latency ${fmt(ms)}`,
        );
      }
      return 0;
    }
    const latencies: number[] = [];
    let result: PredictResult | undefined;
    for (let i = 0; i < args.repeat; i++) {
      const t0 = performance.now();
      result =
        args.mode === 'local'
          ? await predictBytes(options, bytes as Uint8Array, args.topK)
          : await predictUrl(options, args.target as string, args.topK);
      latencies.push(performance.now() - t0);
    }
    const final = result as PredictResult;
    if (args.json) {
      io.out(
        JSON.stringify({
          ...final,
          latency_ms: latencies.length === 1 ? latencies[0] : latencyStats(latencies),
        }),
      );
    } else {
      printPrediction(final, latencies, io.out);
    }
    return 0;
  } catch (err) {
    if (err instanceof RequestFailedError) {
      io.err(`mtailor-client: ${err.message}`);
      return 1;
    }
    io.err(`mtailor-client: ${(err as Error).message}`);
    return 1;
  }
}
