/**
 * Server configuration: every setting comes from one environment variable, is checked at start, and a bad value
 * stops the process with a message naming the variable, what was expected and what was found (exit code 2).
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResizeEngine } from '@mtailor/core';
import { availableCpus } from '@mtailor/core/internal';
import { PRESETS, type PresetName } from '@mtailor/preprocess';
import { AddressPolicy } from './url/address-policy.js';
import { URL_FETCH_LIMITS } from './url/fetch-image.js';

/** pino log levels. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Everything the server needs to run. Build it with {@link loadConfig} (from env) or {@link resolveConfig}. */
export interface ServerConfig {
  /** TCP port (`PORT`, default 8080; 0 picks a free one). */
  port: number;
  /** Interface to bind (`HOST`, default `0.0.0.0`: reachable from outside a container). */
  host: string;
  /**
   * The model (`MTAILOR_MODEL`): an ONNX file, or a model manifest (`.json`: model file, recipe, labels, class count)
   * whose recipe and labels are then used.
   */
  modelPath: string;
  /** Model name in replies and OIP v2 URLs (`MTAILOR_MODEL_NAME`, default: the file name without `.onnx`). */
  modelName: string;
  /** Bearer token (`MTAILOR_API_KEY`); `undefined` turns authentication off. */
  apiKey: string | undefined;
  /** Whether `/health`, `/ready` and `/v2/health/*` answer without a token (`MTAILOR_AUTH_PUBLIC_HEALTH`, default true). */
  publicHealth: boolean;
  /** Whether `/metrics` answers without a token (`MTAILOR_AUTH_PUBLIC_METRICS`, default false). */
  publicMetrics: boolean;
  /** Decode + preprocess worker threads (`MTAILOR_PREPROCESS_WORKERS`, default: CPUs available). */
  preprocessWorkers: number;
  /** onnxruntime intra-op threads in the inference worker (`MTAILOR_INTRA_OP_THREADS`, default: CPUs available). */
  intraOpThreads: number;
  /** Largest micro-batch (`MTAILOR_MAX_BATCH_SIZE`, default 8; forced to 1 for models with a fixed batch of 1). */
  maxBatchSize: number;
  /** Longest a request waits for others to join its batch (`MTAILOR_MAX_DELAY_MS`, default 2). */
  maxDelayMs: number;
  /**
   * Inference requests worked on at once, their bodies complete (`MTAILOR_MAX_ACTIVE`, default 16); other complete
   * ones wait in arrival order, so a burst is parsed at the pipeline's pace and `/health` stays prompt.
   */
  maxActive: number;
  /**
   * Inference requests in progress — body arriving, waiting, being worked on; more get 503 `OVERLOADED`
   * (`MTAILOR_MAX_QUEUE`, default 512).
   */
  maxQueue: number;
  /**
   * Bytes of request bodies held in memory while they arrive or wait for a work slot, over all requests
   * (`MTAILOR_MAX_BUFFERED_BYTES`, default 16 MiB): past it, reading bodies pauses (TCP back-pressure). Bodies being
   * worked on are bounded by `maxActive`.
   */
  maxBufferedBytes: number;
  /**
   * A request body not complete this long after its headers is answered 408 `REQUEST_TIMEOUT` and its connection
   * closed (`MTAILOR_BODY_TIMEOUT_MS`, default 30000; 0 = never). Node's own `requestTimeout` does not cover a body
   * once the headers are in; headers are bounded by Node's `headersTimeout` (60 s).
   */
  bodyTimeoutMs: number;
  /**
   * Most images one OIP v2 `infer` request may carry, FP32 or BYTES (`MTAILOR_MAX_IMAGES_PER_REQUEST`, default 64):
   * a small body of tiny images must not ask for unbounded decode work and memory (≈ 0.6 MB per image tensor).
   */
  maxImagesPerRequest: number;
  /** Largest request body in bytes (`MTAILOR_MAX_BODY_BYTES`, default 16 MiB; base64 is 4/3 of the image). */
  maxBodyBytes: number;
  /** Largest encoded image in bytes, however it arrives (`MTAILOR_MAX_IMAGE_BYTES`, default 10 MiB). */
  maxImageBytes: number;
  /** Largest decoded image in pixels (`MTAILOR_MAX_PIXELS`, default 40 000 000). */
  maxPixels: number;
  /** Resize engine (`MTAILOR_ENGINE`, default `exact`: Pillow-identical). */
  resizeEngine: ResizeEngine;
  /**
   * Preprocessing recipe preset (`MTAILOR_RECIPE`). Default: the manifest's recipe when `MTAILOR_MODEL` is a
   * manifest, else `resize-224` (the seed model's).
   */
  recipe: PresetName | undefined;
  /** Apply EXIF orientation (`MTAILOR_AUTO_ORIENT`, default true). */
  autoOrient: boolean;
  /** `image_url`: connect timeout in ms (`MTAILOR_URL_CONNECT_TIMEOUT_MS`, default 3000). */
  urlConnectTimeoutMs: number;
  /** `image_url`: whole-download timeout in ms (`MTAILOR_URL_TIMEOUT_MS`, default 10000). */
  urlTimeoutMs: number;
  /** `image_url`: redirects followed, each checked again (`MTAILOR_URL_MAX_REDIRECTS`, default 3). */
  urlMaxRedirects: number;
  /** `image_url`: hosts and CIDRs allowed even though private/loopback (`MTAILOR_URL_ALLOWLIST`, comma-separated). */
  urlAllowlist: string[];
  /** Image for `test_mode` (`MTAILOR_TEST_IMAGE`); default: a synthetic image generated at start. */
  testImagePath: string | undefined;
  /** Expected class of `MTAILOR_TEST_IMAGE` (`MTAILOR_TEST_EXPECTED_CLASS`; required with it). */
  testExpectedClass: number | undefined;
  /**
   * On SIGTERM, how long the server keeps accepting and serving after `/ready` turned 503, so the platform can take
   * it out of its endpoints first (`MTAILOR_SHUTDOWN_DELAY_MS`, default 0; the image sets 5000).
   */
  shutdownDelayMs: number;
  /**
   * Longest the shutdown waits, after it stopped accepting, for the requests on accepted connections
   * (`MTAILOR_SHUTDOWN_TIMEOUT_MS`, default 25000); connections still busy then are closed.
   */
  shutdownTimeoutMs: number;
  /** Log level (`LOG_LEVEL`, default `info`). */
  logLevel: LogLevel;
  /** Serve the page at `GET /`: a form that classifies an image through `/predict` (`MTAILOR_PAGE`, default false). */
  page: boolean;
}

/** A configuration value is missing or invalid. `problems` lists every one found, not only the first. */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * The model used when `MTAILOR_MODEL` is not set: the shared int8 MobileNetV2 beside the repository
 * (`<repo>/../shared/models/mobilenet_v2_int8_qdq.onnx`), so `pnpm --filter ./examples/cerebrium start` works in a
 * checkout. The container image always sets `MTAILOR_MODEL=/app/model/model.onnx`.
 */
export const DEFAULT_MODEL_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../shared/models/mobilenet_v2_int8_qdq.onnx',
);

const MIB = 1024 * 1024;
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
      this.problems.push(
        `${name}: expected an integer from ${min} to ${max} but received ${JSON.stringify(v)}`,
      );
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(v)) return true;
    if (/^(0|false|no|off)$/i.test(v)) return false;
    this.problems.push(`${name}: expected true or false but received ${JSON.stringify(v)}`);
    return fallback;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.problems.push(`${name}: expected one of ${allowed.join(', ')} but received ${JSON.stringify(v)}`);
    return fallback;
  }
}

/**
 * Reads and checks the configuration from environment variables.
 *
 * @throws {@link ConfigError} listing every invalid or missing value.
 * @example
 * ```ts
 * const config = loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1' });
 * ```
 */
export function loadConfig(env: Env = process.env): ServerConfig {
  const r = new Reader(env);
  const cpus = availableCpus();
  const modelPath = path.resolve(r.raw('MTAILOR_MODEL') ?? DEFAULT_MODEL_PATH);
  if (!existsSync(modelPath) || !statSync(modelPath).isFile()) {
    r.problems.push(
      r.raw('MTAILOR_MODEL')
        ? `MTAILOR_MODEL: no model file at ${modelPath}`
        : // The default exists only in a checkout of the repository; an installed server has no model beside it.
          'MTAILOR_MODEL: not set; set it to your ONNX image classifier (model.onnx) or a model manifest (model.json)',
    );
  }
  const modelName =
    r.raw('MTAILOR_MODEL_NAME') ?? path.basename(modelPath).replace(/(\.manifest)?\.(onnx|json)$/i, '');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(modelName)) {
    r.problems.push(
      `MTAILOR_MODEL_NAME: expected letters, digits, '.', '_' or '-' (it appears in /v2/models/{name} URLs) but received ${JSON.stringify(modelName)}`,
    );
  }
  const apiKey = r.raw('MTAILOR_API_KEY');
  if (apiKey !== undefined && apiKey.length < 16) {
    r.problems.push(
      'MTAILOR_API_KEY: expected at least 16 characters (use a random token, e.g. `openssl rand -hex 32`)',
    );
  }
  const host = r.raw('HOST') ?? '0.0.0.0';
  const testImagePath = r.raw('MTAILOR_TEST_IMAGE');
  const testExpectedClass =
    r.raw('MTAILOR_TEST_EXPECTED_CLASS') === undefined
      ? undefined
      : r.int('MTAILOR_TEST_EXPECTED_CLASS', 0, 0);
  if (testImagePath !== undefined && !existsSync(testImagePath)) {
    r.problems.push(`MTAILOR_TEST_IMAGE: no file at ${path.resolve(testImagePath)}`);
  }
  if ((testImagePath === undefined) !== (testExpectedClass === undefined)) {
    r.problems.push('MTAILOR_TEST_IMAGE and MTAILOR_TEST_EXPECTED_CLASS must be set together');
  }
  const urlAllowlist = (r.raw('MTAILOR_URL_ALLOWLIST') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  try {
    new AddressPolicy(urlAllowlist);
  } catch (err) {
    r.problems.push(`MTAILOR_URL_ALLOWLIST: ${(err as Error).message}`);
  }

  const config: ServerConfig = {
    port: r.int('PORT', 8080, 0, 65535),
    host,
    modelPath,
    modelName,
    apiKey,
    publicHealth: r.bool('MTAILOR_AUTH_PUBLIC_HEALTH', true),
    publicMetrics: r.bool('MTAILOR_AUTH_PUBLIC_METRICS', false),
    preprocessWorkers: r.int('MTAILOR_PREPROCESS_WORKERS', cpus, 1, 64),
    intraOpThreads: r.int('MTAILOR_INTRA_OP_THREADS', cpus, 1, 64),
    maxBatchSize: r.int('MTAILOR_MAX_BATCH_SIZE', 8, 1, 256),
    maxDelayMs: r.int('MTAILOR_MAX_DELAY_MS', 2, 0, 1000),
    maxActive: r.int('MTAILOR_MAX_ACTIVE', 16, 1, 10_000),
    maxQueue: r.int('MTAILOR_MAX_QUEUE', 512, 1, 100_000),
    maxBufferedBytes: r.int('MTAILOR_MAX_BUFFERED_BYTES', 16 * MIB, 64 * 1024, 64 * 1024 * MIB),
    bodyTimeoutMs: r.int('MTAILOR_BODY_TIMEOUT_MS', 30_000, 0, 3_600_000),
    maxImagesPerRequest: r.int('MTAILOR_MAX_IMAGES_PER_REQUEST', 64, 1, 4096),
    maxBodyBytes: r.int('MTAILOR_MAX_BODY_BYTES', 16 * MIB, 1024, 1024 * MIB),
    maxImageBytes: r.int('MTAILOR_MAX_IMAGE_BYTES', URL_FETCH_LIMITS.maxBytes, 1024, 1024 * MIB),
    maxPixels: r.int('MTAILOR_MAX_PIXELS', 40_000_000, 1, 1_000_000_000),
    resizeEngine: r.oneOf<ResizeEngine>('MTAILOR_ENGINE', 'exact', ['exact', 'fast']),
    recipe:
      r.raw('MTAILOR_RECIPE') === undefined
        ? undefined
        : r.oneOf<PresetName>('MTAILOR_RECIPE', 'resize-224', Object.keys(PRESETS) as PresetName[]),
    autoOrient: r.bool('MTAILOR_AUTO_ORIENT', true),
    urlConnectTimeoutMs: r.int(
      'MTAILOR_URL_CONNECT_TIMEOUT_MS',
      URL_FETCH_LIMITS.connectTimeoutMs,
      1,
      600_000,
    ),
    urlTimeoutMs: r.int('MTAILOR_URL_TIMEOUT_MS', URL_FETCH_LIMITS.totalTimeoutMs, 1, 600_000),
    urlMaxRedirects: r.int('MTAILOR_URL_MAX_REDIRECTS', URL_FETCH_LIMITS.maxRedirects, 0, 20),
    urlAllowlist,
    testImagePath: testImagePath === undefined ? undefined : path.resolve(testImagePath),
    testExpectedClass,
    shutdownDelayMs: r.int('MTAILOR_SHUTDOWN_DELAY_MS', 0, 0, 600_000),
    shutdownTimeoutMs: r.int('MTAILOR_SHUTDOWN_TIMEOUT_MS', 25_000, 0, 600_000),
    logLevel: r.oneOf<LogLevel>('LOG_LEVEL', 'info', LOG_LEVELS),
    page: r.bool('MTAILOR_PAGE', false),
  };
  if (config.maxActive > config.maxQueue) {
    r.problems.push(
      `MTAILOR_MAX_ACTIVE: expected at most MTAILOR_MAX_QUEUE (${config.maxQueue}) but received ${config.maxActive}`,
    );
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}

/**
 * A configuration from the defaults (as {@link loadConfig} with an empty environment, but for the model path)
 * plus `overrides` — for code that builds the server itself (tests, embedding). The model path is checked; the
 * other overrides are typed values taken as given.
 *
 * @example
 * ```ts
 * const config = resolveConfig({ modelPath: 'model.onnx', host: '127.0.0.1', port: 0, apiKey: undefined });
 * ```
 */
export function resolveConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const base = loadConfig({ MTAILOR_MODEL: overrides.modelPath ?? DEFAULT_MODEL_PATH });
  return { ...base, ...overrides, modelName: overrides.modelName ?? base.modelName };
}
