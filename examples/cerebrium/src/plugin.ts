/**
 * The inference routes as one Fastify plugin, so another Fastify app can mount them (with a prefix if it likes)
 * next to its own routes. The plugin is deliberately encapsulated (not wrapped in `fastify-plugin`): its body
 * parsers, auth hook, error handler and metrics hooks apply to its own routes only and leave the host app's alone.
 * @module
 */
import multipart from '@fastify/multipart';
import { Ajv } from 'ajv';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { bearerChecker } from './auth.js';
import type { ServerConfig } from './config.js';
import { EngineSlot, type RouteContext, type UrlFetchHooks } from './context.js';
import { errorBodySchema, HttpError, toErrorReply } from './http-errors.js';
import { InferenceEngine } from './inference/engine.js';
import { IntakeGate } from './intake-gate.js';
import { useLargeStringJsonParser } from './json-body.js';
import { ServerMetrics } from './metrics.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerOipRoutes } from './routes/oip-v2.js';
import { registerPredictRoute, runIdOf } from './routes/predict.js';
import { AddressPolicy } from './url/address-policy.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Route answers without a token (health/ready/metrics when configured so). */
    public?: boolean;
  }
}

/** The JSON paths where the routes expect base64 images: `/predict`'s `image_base64`, OIP `inputs[].data[]…`. */
export const isBase64ImagePath = (path: string): boolean =>
  path === 'image_base64' || /^inputs\[\]\.data(\[\])+$/.test(path);

/** Options of {@link mtailorPlugin}. */
export interface MtailorPluginOptions {
  config: ServerConfig;
  /**
   * The engine, or a promise of it (routes answer 503 `NOT_READY` until it resolves). Default: the plugin starts
   * one from `config` and closes it when the app closes.
   */
  engine?: InferenceEngine | Promise<InferenceEngine> | EngineSlot;
  /** Metrics registry to record into. Default: a new one, served at `/metrics`. */
  metrics?: ServerMetrics;
  /** Hooks for `image_url` downloads (tests inject a resolver and a connection guard). */
  urlFetch?: UrlFetchHooks;
}

/** Engine options from the server config, with metrics wired in. */
export function engineOptionsFrom(config: ServerConfig, metrics: ServerMetrics, warn: (m: string) => void) {
  return {
    ...config,
    onBatch: (size: number) => metrics.observeBatch(size),
    onWarning: warn,
  };
}

/**
 * Fastify plugin with every inference route: `POST /predict`, `GET /health`, `GET /ready`, `GET /metrics` and
 * the OIP v2 routes under `/v2`.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { loadConfig, mtailorPlugin } from '@mtailor/example-cerebrium';
 *
 * const app = Fastify({ logger: true });
 * app.get('/', async () => ({ hello: 'my existing app' }));
 * await app.register(mtailorPlugin, { prefix: '/ml', config: loadConfig() });
 * await app.listen({ port: 3000 });
 * // POST /ml/predict, GET /ml/health, GET /ml/v2/models/<name> …
 * ```
 */
export const mtailorPlugin: FastifyPluginAsync<MtailorPluginOptions> = async (app: FastifyInstance, opts) => {
  const { config } = opts;
  const metrics = opts.metrics ?? new ServerMetrics();
  const ownsEngine = opts.engine === undefined;
  const slot =
    opts.engine instanceof EngineSlot
      ? opts.engine
      : new EngineSlot(
          opts.engine ?? InferenceEngine.start(engineOptionsFrom(config, metrics, (m) => app.log.warn(m))),
        );
  const intake = new IntakeGate({ maxActive: config.maxActive, maxQueue: config.maxQueue });
  metrics.attach({ intakeWaiting: () => intake.waiting });
  slot.loaded.then(
    (engine) => {
      metrics.modelLoadSeconds.set(engine.model.loadMs / 1000);
      metrics.attach({ queueDepth: () => engine.queueDepth, inFlight: () => engine.inFlight });
    },
    () => {},
  );
  if (ownsEngine) {
    app.addHook('onClose', async () => {
      const engine = await slot.loaded.catch(() => undefined);
      await engine?.close(config.shutdownTimeoutMs);
    });
  }

  const ctx: RouteContext = {
    config,
    engine: slot,
    metrics,
    intake,
    policy: new AddressPolicy(config.urlAllowlist),
    urlFetch: opts.urlFetch ?? {},
    startedAt: new Date(),
  };

  if (!app.getSchema('mtailor.error')) app.addSchema(errorBodySchema);

  // JSON: images in base64 — `/predict`'s `image_base64`, the elements of an OIP BYTES tensor — stay bytes, never
  // (slow, > 128 KB) V8 strings; everything else parses as with Fastify's own parser.
  useLargeStringJsonParser(app, isBase64ImagePath);
  // Raw image bytes; the route's bodyLimit caps them. Media-type parameters (`image/jpeg; charset=binary`) are allowed.
  for (const type of ['application/octet-stream', /^image\/[\w.+-]+\s*(;.*)?$/i]) {
    app.addContentTypeParser(type, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  }
  await app.register(multipart, {
    limits: { fileSize: config.maxImageBytes, files: 1, fields: 4, parts: 5, fieldSize: 1024 },
    throwFileSizeLimit: true,
  });

  // JSON bodies are validated as sent: Fastify's default validator converts types ("3" → 3, ["x"] → "x",
  // true → 1, null dropped), which would silently alter what a client sent. Query strings are text, so they keep
  // the conversion. Own validators, so the host app's settings do not decide this for the plugin's routes.
  const bodyValidator = new Ajv({
    coerceTypes: false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
  });
  const queryValidator = new Ajv({
    coerceTypes: true,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
  });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyValidator : queryValidator).compile(schema),
  );

  const checkToken = config.apiKey === undefined ? undefined : bearerChecker(config.apiKey);
  app.addHook('onRequest', async (request, reply) => {
    // Every reply, errors included, carries the id the logs use.
    reply.header('x-request-id', runIdOf(request));
    if (checkToken && request.routeOptions.config?.public !== true) checkToken(request.headers.authorization);
    // Compressed request bodies are not decoded: refuse them rather than read compressed bytes as the image.
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      throw new HttpError(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        `Content-Encoding ${JSON.stringify(encoding)} is not supported; send the body uncompressed`,
      );
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route };
    metrics.requests.inc({ ...labels, status_code: String(reply.statusCode) });
    metrics.requestDuration.observe(labels, reply.elapsedTime / 1000);
  });

  app.setErrorHandler(async (err, request, reply) => {
    const { statusCode, body, internal } = toErrorReply(err);
    if (internal) request.log.error({ err }, 'request failed');
    // The client gets a short message; the log keeps what caused it (e.g. the TLS or socket error of a download).
    else
      request.log.info(
        { code: body.error.code, statusCode, cause: (err as Error).cause },
        body.error.message,
      );
    if (statusCode === 401) reply.header('www-authenticate', 'Bearer');
    // Refused before its body was read: close the connection instead of reading and discarding that body, work
    // an overloaded server should not do.
    if (body.error.code === 'OVERLOADED' || statusCode === 413) reply.header('connection', 'close');
    reply.code(statusCode).type('application/json');
    return body;
  });

  // Unknown URLs under the plugin's prefix get the JSON 404 too (at the root, the host app's handler decides).
  if (app.prefix !== '') {
    app.setNotFoundHandler(async (request, reply) => {
      reply.code(404);
      return toErrorReply(
        new HttpError(404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
      ).body;
    });
  }

  registerPredictRoute(app, ctx);
  registerHealthRoutes(app, ctx);
  registerMetricsRoute(app, ctx);
  registerOipRoutes(app, ctx, { maxImagesPerRequest: config.maxImagesPerRequest });
};
