/**
 * `GET /health` (liveness: the process and its event loop answer) and `GET /ready` (model loaded, the self-test
 * passed and the server not draining for a shutdown; 503 otherwise). With the token (or when no token is
 * configured) both report memory, free disk, model status, last inference, intake and versions; a caller without
 * the token on a server that has one gets the status only — the full report names filesystem paths and versions.
 * @module
 */
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { Int8KernelsReport } from '@mtailor/core';
import type { FastifyInstance } from 'fastify';
import { bearerMatcher } from '../auth.js';
import type { RouteContext } from '../context.js';
import { runtimeVersions } from '../versions.js';

/** `status` of `/health` (`ok`) and `/ready` (the others). */
export type HealthStatus = 'ok' | 'ready' | 'not_ready' | 'shutting_down';

/**
 * The body of `/health` and `/ready` for a caller without the token, on a server that has one: the status only
 * (and on a 503 the error, with a message that names no path).
 */
export interface PublicHealthReply {
  status: HealthStatus;
  error?: { code: 'NOT_READY' | 'SHUTTING_DOWN'; message: string };
}

/** The body of `/health` and `/ready` with the token, or on a server without one. */
export interface HealthReply {
  status: HealthStatus;
  /** Draining for a shutdown: `/ready` answers 503, requests are still served until the server closes. */
  draining: boolean;
  uptime_s: number;
  event_loop_delay_ms: { p50: number; p99: number; max: number };
  memory: { rss: number; heap_used: number; heap_total: number; external: number; array_buffers: number };
  /** Free space where the model lives, measured in the background at most {@link DISK_REFRESH_MS} ago. */
  disk: { path: string; free_bytes: number; total_bytes: number; measured_at: string } | null;
  model: {
    name: string;
    path: string;
    status: 'loading' | 'loaded' | 'ready' | 'failed';
    sha256: string | null;
    load_error: string | null;
    self_test: {
      ok: boolean;
      class_id: number;
      expected_class: number | null;
      source: string;
      ms: number;
    } | null;
    /**
     * Which int8 kernels run the model (`MTAILOR_INT8_KERNELS`): `native` or `uint8-weights`, whether the answers are
     * the model's exact integer arithmetic, why, and the CPU's int8 flags and saturation-probe result.
     */
    int8_kernels: {
      requested: string;
      kernels: string;
      exact: boolean;
      reason: string;
      cpu_flags: string[];
      u8s8_exact: boolean | null;
    } | null;
  };
  last_inference: { at: string; ms: number } | null;
  /** Preprocessed images waiting for a batch. */
  queue_depth: number;
  /** Inference requests being decoded, queued or run. */
  in_flight: number;
  /**
   * Intake: requests worked on (`active`, at most `max_active`), complete and waiting for a slot (`waiting`), with
   * bodies still arriving (`reading`, of which `paused` by the memory budget), all in progress (at most `max_queue`),
   * and the bytes of bodies held in memory (at most ≈ `max_buffered_bytes`).
   */
  intake: {
    active: number;
    waiting: number;
    reading: number;
    paused: number;
    in_progress: number;
    buffered_bytes: number;
    max_active: number;
    max_queue: number;
    max_buffered_bytes: number;
  };
  versions: Record<string, string>;
  /** `/ready` answering 503: why. */
  error?: { code: 'NOT_READY' | 'SHUTTING_DOWN'; message: string };
}

/** How often free disk space is measured for `/health` and `/ready`. */
export const DISK_REFRESH_MS = 10_000;

/**
 * Free disk space, measured on a timer rather than per request: `statfs` runs on libuv's thread pool, which under
 * load is full of image decodes (sharp), so awaiting it would make a liveness probe wait behind them.
 */
function watchDisk(dir: string): { current: () => HealthReply['disk']; stop: () => void } {
  let last: HealthReply['disk'] = null;
  const measure = (): void => {
    statfs(dir).then(
      (s) => {
        last = {
          path: dir,
          free_bytes: s.bavail * s.bsize,
          total_bytes: s.blocks * s.bsize,
          measured_at: new Date().toISOString(),
        };
      },
      () => {
        last = null;
      },
    );
  };
  measure();
  const timer = setInterval(measure, DISK_REFRESH_MS);
  timer.unref();
  return { current: () => last, stop: () => clearInterval(timer) };
}

/** What the health report watches beside the route context: event-loop delay and free disk space. */
interface HealthProbes {
  loopDelay: IntervalHistogram;
  disk: { current: () => HealthReply['disk']; stop: () => void };
}

/** The full report of `/health` and `/ready` (status `ok`; `/ready` sets its own). */
function healthReport(ctx: RouteContext, probes: HealthProbes): HealthReply {
  const classifier = ctx.classifier.current;
  const status = classifier?.status();
  const mem = process.memoryUsage();
  const ms = (ns: number): number => (Number.isFinite(ns) ? ns / 1e6 : 0);
  const modelStatus = ctx.classifier.error
    ? 'failed'
    : !classifier
      ? 'loading'
      : status?.ready
        ? 'ready'
        : 'loaded';
  const selfTest = status?.selfTest;
  return {
    status: 'ok',
    draining: ctx.draining(),
    uptime_s: (Date.now() - ctx.startedAt.getTime()) / 1000,
    event_loop_delay_ms: {
      p50: ms(probes.loopDelay.percentile(50)),
      p99: ms(probes.loopDelay.percentile(99)),
      max: ms(probes.loopDelay.max),
    },
    memory: {
      rss: mem.rss,
      heap_used: mem.heapUsed,
      heap_total: mem.heapTotal,
      external: mem.external,
      array_buffers: mem.arrayBuffers,
    },
    disk: probes.disk.current(),
    model: {
      name: ctx.config.modelName,
      path: ctx.config.modelPath,
      status: modelStatus,
      sha256: classifier?.model.sha256 ?? null,
      load_error: ctx.classifier.error?.message ?? null,
      self_test: selfTest
        ? {
            ok: selfTest.ok,
            class_id: selfTest.top1.index,
            expected_class: selfTest.expectedClass,
            source: selfTest.source,
            ms: selfTest.ms,
          }
        : null,
      int8_kernels: classifier ? int8KernelsReply(classifier.model.int8Kernels) : null,
    },
    last_inference: status?.lastInference
      ? { at: status.lastInference.at.toISOString(), ms: status.lastInference.ms }
      : null,
    queue_depth: status?.queued ?? 0,
    in_flight: status?.inProgress ?? 0,
    intake: {
      active: ctx.intake.active,
      waiting: ctx.intake.waiting,
      reading: ctx.bodies.reading,
      paused: ctx.bodies.pausedCount,
      in_progress: ctx.intake.inProgress,
      buffered_bytes: ctx.bodies.bufferedBytes,
      max_active: ctx.intake.maxActive,
      max_queue: ctx.intake.maxQueue,
      max_buffered_bytes: ctx.bodies.maxBytes,
    },
    versions: runtimeVersions(),
  };
}

/** Why `/ready` answers 503: draining for a shutdown, or the model not (yet) ready — with what a caller without the
 * token may see (a load error can name the model's path). */
function notReadyReason(ctx: RouteContext): {
  status: HealthStatus;
  error: { code: 'NOT_READY' | 'SHUTTING_DOWN'; message: string };
  publicMessage: string;
} {
  if (ctx.draining()) {
    const message = 'the server is shutting down: requests are still served until it closes';
    return { status: 'shutting_down', error: { code: 'SHUTTING_DOWN', message }, publicMessage: message };
  }
  const failure = ctx.classifier.error;
  const message = failure
    ? `the model failed to load: ${failure.message}`
    : 'the model is still loading or its self-test has not passed';
  return {
    status: 'not_ready',
    error: { code: 'NOT_READY', message },
    publicMessage: failure ? 'the model failed to load' : message,
  };
}

/** Registers `/health` and `/ready`. */
export function registerHealthRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const probes: HealthProbes = { loopDelay, disk: watchDisk(path.dirname(ctx.config.modelPath)) };
  app.addHook('onClose', async () => {
    loopDelay.disable();
    probes.disk.stop();
  });
  const publicRoute = { public: ctx.config.publicHealth };
  // Who may see the full report: everyone when no token is configured (then every route is open anyway, and the
  // server warns at start), else only callers with the token.
  const hasToken = ctx.config.apiKey === undefined ? () => true : bearerMatcher(ctx.config.apiKey);

  app.get(
    '/health',
    { config: publicRoute },
    async (request): Promise<HealthReply | PublicHealthReply> =>
      hasToken(request.headers.authorization) ? healthReport(ctx, probes) : { status: 'ok' },
  );

  app.get(
    '/ready',
    { config: publicRoute },
    async (request, reply): Promise<HealthReply | PublicHealthReply> => {
      const full = hasToken(request.headers.authorization);
      if (!ctx.draining() && ctx.classifier.current?.status().ready === true) {
        return full ? { ...healthReport(ctx, probes), status: 'ready' } : { status: 'ready' };
      }
      reply.code(503);
      const { status, error, publicMessage } = notReadyReason(ctx);
      if (full) return { ...healthReport(ctx, probes), status, error };
      return { status, error: { code: error.code, message: publicMessage } };
    },
  );
}

function int8KernelsReply(report: Int8KernelsReport): NonNullable<HealthReply['model']['int8_kernels']> {
  return {
    requested: report.requested,
    kernels: report.kernels,
    exact: report.exact,
    reason: report.reason,
    cpu_flags: report.cpu.flags,
    u8s8_exact: report.cpu.u8s8Exact ?? null,
  };
}
