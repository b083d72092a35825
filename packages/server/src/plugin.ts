/**
 * The inference routes as one Fastify plugin, so another Fastify app can mount them (with a prefix if it likes)
 * next to its own routes. The plugin is deliberately encapsulated (not wrapped in `fastify-plugin`): its body
 * parsers, auth hook, error handler and metrics hooks apply to its own routes only and leave the host app's alone.
 * @module
 */
import { ImageClassifier, type ImageClassifierOptions } from '@mtailor/core';
import { Ajv } from 'ajv';
import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync } from 'fastify';
import { bearerChecker } from './auth.js';
import { BodyBudget } from './body-budget.js';
import type { ServerConfig } from './config.js';
import { ClassifierSlot, type RouteContext, type UrlFetchHooks } from './context.js';
import { errorBodySchema, notFound, oipErrorBodySchema, ServerError, sendError } from './errors.js';
import { decorateIntake, IntakeGate } from './intake-gate.js';
import { useLargeStringJsonParser } from './json-body.js';
import { ServerMetrics } from './metrics.js';
import { useMultipartParser } from './multipart.js';
import { runIdOf } from './request-id.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerOipRoutes } from './routes/oip-v2.js';
import { registerPageRoutes } from './routes/page.js';
import { registerPredictRoute } from './routes/predict.js';
import { AddressPolicy } from './url/address-policy.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Route answers without a token (health/ready/metrics when configured so). */
    public?: boolean;
    /** An OIP v2 route: errors are `{ error: message }` as KServe specifies. */
    oip?: boolean;
  }
}

/** The JSON paths where the routes expect base64 images: `/predict`'s `image_base64`, OIP `inputs[].data[]…`. */
export const isBase64ImagePath = (path: string): boolean =>
  path === 'image_base64' || /^inputs\[\]\.data(\[\])+$/.test(path);

/** Options of {@link mtailorPlugin}. */
export interface MtailorPluginOptions {
  config: ServerConfig;
  /**
   * The classifier, or a promise of it (routes answer 503 `NOT_READY` until it resolves and is ready). Default: the
   * plugin creates one from `config` ({@link classifierOptionsFrom}) and closes it when the app closes.
   */
  classifier?: ImageClassifier | Promise<ImageClassifier> | ClassifierSlot;
  /** Metrics registry to record into. Default: a new one, served at `/metrics`. */
  metrics?: ServerMetrics;
  /** Hooks for `image_url` downloads (tests inject a resolver and a connection guard). */
  urlFetch?: UrlFetchHooks;
  /**
   * Whether the server is draining before a shutdown: readiness (`/ready`, `/v2/health/ready`, model ready) then
   * answers 503 `SHUTTING_DOWN` so the platform stops routing here, while every other route keeps serving.
   * Default: from the app's close on (`createServer` passes its own, set on SIGTERM before the drain delay).
   */
  draining?: () => boolean;
}

/**
 * The classifier a server config asks for: the model or manifest of `MTAILOR_MODEL`, its decode and batching
 * settings, and the self-test (`MTAILOR_TEST_IMAGE` or the built-in image) that readiness waits for.
 *
 * @example
 * ```ts
 * const classifier = await ImageClassifier.create(classifierOptionsFrom(loadConfig()));
 * ```
 */
export function classifierOptionsFrom(
  config: ServerConfig,
  hooks: Pick<ImageClassifierOptions, 'onBatch' | 'onWarning'> = {},
): ImageClassifierOptions {
  const isManifest = /\.json$/i.test(config.modelPath);
  return {
    ...(isManifest ? { manifest: config.modelPath } : { model: config.modelPath }),
    ...(config.recipe === undefined ? {} : { recipe: config.recipe }),
    resize: config.resizeEngine,
    autoOrient: config.autoOrient,
    maxInputBytes: config.maxImageBytes,
    maxPixels: config.maxPixels,
    workers: config.preprocessWorkers,
    inferenceThread: 'worker',
    intraOpThreads: config.intraOpThreads,
    interOpThreads: 1,
    // Idle spinning threads would hold a core that the decode workers need.
    allowSpinning: false,
    int8Kernels: config.int8Kernels,
    maxBatchSize: config.maxBatchSize,
    maxDelayMs: config.maxDelayMs,
    maxQueue: config.maxQueuedImages,
    selfTest:
      config.testImagePath !== undefined && config.testExpectedClass !== undefined
        ? { image: config.testImagePath, expectedClass: config.testExpectedClass }
        : true,
    ...hooks,
  };
}

/**
 * The one place a server builds its classifier: from the config ({@link classifierOptionsFrom}), recording batches
 * into `metrics` and warnings into `log`, held in a {@link ClassifierSlot} while it loads.
 *
 * @example
 * ```ts
 * const slot = createClassifierSlot(loadConfig(), new ServerMetrics(), app.log);
 * const classifier = await slot.loaded;
 * ```
 */
export function createClassifierSlot(
  config: ServerConfig,
  metrics: ServerMetrics,
  log: Pick<FastifyBaseLogger, 'warn'>,
): ClassifierSlot {
  return new ClassifierSlot(
    ImageClassifier.create(
      classifierOptionsFrom(config, {
        onBatch: (size, runMs) => metrics.observeBatch(size, runMs),
        onWarning: (m) => log.warn(m),
      }),
    ),
  );
}

/**
 * Fastify plugin with every inference route: `POST /predict`, `GET /health`, `GET /ready`, `GET /metrics`, the
 * OIP v2 routes under `/v2`, and (with `config.page`) the page at `GET /`.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { loadConfig, mtailorPlugin } from '@mtailor/server';
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
  const ownsClassifier = opts.classifier === undefined;
  const slot =
    opts.classifier === undefined
      ? createClassifierSlot(config, metrics, app.log)
      : opts.classifier instanceof ClassifierSlot
        ? opts.classifier
        : new ClassifierSlot(opts.classifier);
  const intake = new IntakeGate({ maxActive: config.maxActive, maxQueue: config.maxQueue });
  const bodies = new BodyBudget(config.maxBufferedBytes);
  decorateIntake(app);
  metrics.attach({
    intakeWaiting: () => intake.waiting,
    intakeReading: () => bodies.reading,
    intakeBufferedBytes: () => bodies.bufferedBytes,
  });
  slot.loaded.then(
    (classifier) => {
      metrics.modelLoadSeconds.set(classifier.model.loadMs / 1000);
      metrics.attach({
        queueDepth: () => classifier.status().queued,
        inFlight: () => classifier.status().inProgress,
      });
    },
    () => {},
  );
  if (ownsClassifier) {
    app.addHook('onClose', async () => {
      const classifier = await slot.loaded.catch(() => undefined);
      await classifier?.close({ timeoutMs: config.shutdownTimeoutMs });
    });
  }

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  const draining = opts.draining;
  const ctx: RouteContext = {
    draining: draining ? () => closing || draining() : () => closing,
    config,
    classifier: slot,
    metrics,
    intake,
    bodies,
    policy: new AddressPolicy(config.urlAllowlist),
    urlFetch: opts.urlFetch ?? {},
    startedAt: new Date(),
  };

  if (!app.getSchema('mtailor.error')) app.addSchema(errorBodySchema);
  if (!app.getSchema('mtailor.oip-error')) app.addSchema(oipErrorBodySchema);

  // JSON: images in base64 — `/predict`'s `image_base64`, the elements of an OIP BYTES tensor — stay bytes, never
  // (slow, > 128 KB) V8 strings; everything else parses as with Fastify's own parser.
  useLargeStringJsonParser(app, isBase64ImagePath);
  // Raw image bytes; the route's bodyLimit caps them. Media-type parameters (`image/jpeg; charset=binary`) are allowed.
  for (const type of ['application/octet-stream', /^image\/[\w.+-]+\s*(;.*)?$/i]) {
    app.addContentTypeParser(type, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  }
  // One file part and a top_k field, parsed from the body the intake buffered (multipart.ts).
  useMultipartParser(app, config.maxImageBytes);

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
      throw new ServerError(
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

  const prefix = app.prefix;
  app.setErrorHandler(async (err, _request, reply) => sendError(reply, err));
  // Unknown URLs under the plugin's prefix get the JSON 404 too (at the root, the host app's handler decides).
  if (prefix !== '') {
    app.setNotFoundHandler(async (request, reply) =>
      sendError(reply, notFound(request), { unmatchedUnder: prefix }),
    );
  }

  registerPredictRoute(app, ctx);
  registerHealthRoutes(app, ctx);
  registerMetricsRoute(app, ctx);
  registerOipRoutes(app, ctx, { maxImagesPerRequest: config.maxImagesPerRequest });
  registerPageRoutes(app, ctx);
};
