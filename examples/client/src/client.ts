/**
 * A small typed client for the @mtailor inference server (`examples/cerebrium`): health, predict from bytes or
 * from a URL. Uses the global `fetch`; no dependencies.
 * @module
 */

/** One predicted class, as the server returns it. */
export interface Prediction {
  class_id: number;
  label: string;
  confidence: number;
}

/** The server's `POST /predict` reply. */
export interface PredictResult {
  run_id: string;
  prediction: Prediction;
  top_k: Prediction[];
  timings_ms: Record<string, number>;
  model: { name: string; sha256: string };
}

/** Where the server is and how to authenticate. */
export interface ClientOptions {
  /** Base URL of the deployment, e.g. `https://…/mtailor-classifier` (routes are appended). */
  endpoint: string;
  /** Bearer token, if the server requires one. */
  token?: string | undefined;
  /** Per-request timeout in ms (default 30 000). */
  timeoutMs?: number;
}

/** A request that did not succeed: the server's error code and message, or a network failure. */
export class RequestFailedError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string,
  ) {
    super(message);
    this.name = 'RequestFailedError';
  }
}

function url(options: ClientOptions, route: string, query = ''): string {
  return `${options.endpoint.replace(/\/+$/, '')}${route}${query}`;
}

async function call(options: ClientOptions, route: string, init: RequestInit, query = ''): Promise<unknown> {
  const headers = new Headers(init.headers);
  if (options.token) headers.set('authorization', `Bearer ${options.token}`);
  let res: Response;
  try {
    res = await fetch(url(options, route, query), {
      ...init,
      headers,
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why =
      e.name === 'TimeoutError'
        ? `timed out after ${options.timeoutMs ?? 30_000} ms`
        : (e.cause?.message ?? e.message);
    throw new RequestFailedError(
      `${init.method ?? 'GET'} ${route} failed: ${why}`,
      undefined,
      e.cause?.code ?? 'NETWORK',
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new RequestFailedError(
      `${init.method ?? 'GET'} ${route}: HTTP ${res.status} ${error?.code ?? ''} ${error?.message ?? text.slice(0, 200)}`.trim(),
      res.status,
      error?.code ?? `HTTP_${res.status}`,
    );
  }
  if (body === undefined)
    throw new RequestFailedError(`${route}: the reply is not JSON`, res.status, 'BAD_REPLY');
  return body;
}

/**
 * `GET /health`.
 *
 * @example
 * ```ts
 * const health = await getHealth({ endpoint: 'http://127.0.0.1:8080' });
 * ```
 */
export async function getHealth(options: ClientOptions): Promise<Record<string, unknown>> {
  return (await call(options, '/health', { method: 'GET' })) as Record<string, unknown>;
}

/**
 * Classifies encoded image bytes (sent as raw `application/octet-stream`).
 *
 * @example
 * ```ts
 * const { prediction } = await predictBytes({ endpoint, token }, await readFile('cat.jpg'), 5);
 * ```
 */
export async function predictBytes(
  options: ClientOptions,
  bytes: Uint8Array,
  topK = 5,
): Promise<PredictResult> {
  return (await call(
    options,
    '/predict',
    { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes },
    `?top_k=${topK}`,
  )) as PredictResult;
}

/** Asks the server to download and classify the image at `imageUrl`. */
export async function predictUrl(options: ClientOptions, imageUrl: string, topK = 5): Promise<PredictResult> {
  return (await call(options, '/predict', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image_url: imageUrl, top_k: topK }),
  })) as PredictResult;
}

/** Latency percentiles (nearest rank) of a list of milliseconds. */
export function latencyStats(ms: number[]): {
  n: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
} {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) =>
    s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
  return {
    n: s.length,
    min: s[0] ?? Number.NaN,
    p50: at(50),
    p95: at(95),
    p99: at(99),
    max: s.at(-1) ?? Number.NaN,
  };
}
