/**
 * `createServer(config)`: a Fastify app with the inference plugin, JSON errors everywhere, request ids taken from
 * `X-Request-Id`, and a graceful close. The model loads in the background: `/health` answers at once, `/ready` and
 * the inference routes answer 503 `NOT_READY` until the model is loaded and its self-test passed.
 * @module
 */
import type { ImageClassifier } from '@mtailor/core';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { ServerConfig } from './config.js';
import type { ClassifierSlot, UrlFetchHooks } from './context.js';
import {
  clientErrorReply,
  notFound,
  rawErrorResponse,
  ServerError,
  sendError,
  sendRawError,
} from './errors.js';
import { ServerMetrics } from './metrics.js';
import { createClassifierSlot, mtailorPlugin } from './plugin.js';
import { requestIdFor } from './request-id.js';
import { ConnectionDrain, type DrainResult } from './shutdown.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The server's classifier slot and metrics (set by {@link createServer}). */
    mtailor: {
      classifier: ClassifierSlot;
      metrics: ServerMetrics;
      whenReady: () => Promise<ImageClassifier>;
      /**
       * Starts draining: `/ready` and the OIP readiness routes answer 503 `SHUTTING_DOWN` from now on (so the
       * platform stops routing here) and every reply closes its connection, while requests are still accepted and
       * served. `app.close()` starts draining too. Idempotent.
       */
      startDraining: () => void;
      /** Whether {@link startDraining} (or `close()`) was called. */
      readonly draining: boolean;
      /** What the last `close()` did with the open connections (undefined before). */
      readonly lastDrain: DrainResult | undefined;
    };
  }
}

/** Options of {@link createServer} beyond the config. */
export interface CreateServerOptions {
  /** Hooks for `image_url` downloads (tests inject a resolver and a connection guard). */
  urlFetch?: UrlFetchHooks;
  /** A pino logger config, `false` for none. Default: JSON logs at `config.logLevel`. */
  logger?: boolean | { level: string };
}

/**
 * Builds the inference server (not listening yet).
 *
 * @example
 * ```ts
 * import { createServer, loadConfig } from '@mtailor/server';
 * const app = await createServer(loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0' }));
 * await app.listen({ host: '127.0.0.1', port: 0 });
 * await app.mtailor.whenReady();
 * ```
 */
export async function createServer(
  config: ServerConfig,
  options: CreateServerOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    bodyLimit: config.maxBodyBytes,
    // What Node refuses before routing (bad HTTP, huge headers, timeouts) gets the same JSON error shape too.
    clientErrorHandler: clientErrorReply,
    // Node answers an HTTP/1.1 request without Host with a bare 400 of its own; checked in our onRequest hook instead.
    http: { requireHostHeader: false },
    // A malformed URL (`/%zz`) or an over-long path parameter: the one error shape, not Fastify's — OIP's under
    // /v2 (the plugin is mounted at the root here), so a KServe client reads every /v2 reply the same way.
    frameworkErrors: (err, _request, reply) =>
      void sendError(reply as FastifyReply, err, { unmatchedUnder: '' }),
    // Our own id from X-Request-Id (when it is a sane token) so logs and replies share the caller's id.
    requestIdHeader: false,
    genReqId: requestIdFor,
    // avvio bounds every close hook by this too: the drain (preClose below) may take MTAILOR_SHUTDOWN_TIMEOUT_MS.
    pluginTimeout: Math.max(10_000, config.shutdownTimeoutMs + 10_000),
    // Requests on connections accepted before the close are served, not refused (see the preClose hook below).
    return503OnClosing: false,
    // Connections are closed by our drain (shutdown.ts), which knows which ones are really idle.
    forceCloseConnections: false,
    // Unknown body fields are refused (400), not silently stripped (Fastify's default removes them).
    ajv: { customOptions: { removeAdditional: false } },
  });
  const metrics = new ServerMetrics();
  const slot = createClassifierSlot(config, metrics, app.log);
  // Tracks connections from the start, so a close can finish every one of them (see shutdown.ts).
  const connections = new ConnectionDrain(app.server);
  let draining = false;
  let lastDrain: DrainResult | undefined;
  app.decorate('mtailor', {
    classifier: slot,
    metrics,
    whenReady: () => slot.loaded,
    startDraining: () => {
      draining = true;
    },
    get draining() {
      return draining;
    },
    get lastDrain() {
      return lastDrain;
    },
  });
  // `Expect: 100-continue`: Node would say "continue" at once, before authentication and size checks, and the client
  // would upload a body only to be refused. Routed like any request instead: a refusal (401, 413, 415, 503) goes out
  // without the 100, and the inference routes send it when the request gets its intake slot (intake-gate.ts).
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res));
  // An `Expect` other than 100-continue: Node would answer a bare 417; the same answer, in the one shape.
  app.server.on('checkExpectation', (req, res) => {
    const error = new ServerError(
      'EXPECTATION_FAILED',
      `Expect: ${JSON.stringify(req.headers.expect)} is not supported (only 100-continue is)`,
    );
    sendRawError(res, error);
  });
  // CONNECT (a proxy tunnel): Node would drop the connection without a word.
  app.server.on('connect', (_req, socket: import('node:net').Socket) => {
    socket.end(
      rawErrorResponse(new ServerError('BAD_REQUEST', 'CONNECT is not supported: this is not a proxy')),
    );
  });
  // HTTP/1.1 requires Host (RFC 9112 §3.2); HTTP/1.0 may omit it.
  app.addHook('onRequest', async (request, reply) => {
    const { httpVersionMajor, httpVersionMinor } = request.raw;
    if (httpVersionMajor === 1 && httpVersionMinor >= 1 && request.headers.host === undefined) {
      reply.header('connection', 'close');
      throw new ServerError('BAD_REQUEST', 'an HTTP/1.1 request must carry a Host header');
    }
  });

  // Closing loses no request: Fastify runs preClose hooks before it closes the HTTP server, so by then the listening
  // socket is closed (after a loop turn that accepted the whole backlog) and every accepted connection has been
  // served — requests that arrive on them meanwhile are served too (Fastify's 503-on-close is off), each reply with
  // `Connection: close`. Only then do the onClose hooks close the classifier.
  app.addHook('preClose', async () => {
    draining = true;
    lastDrain = await connections.drain({ timeoutMs: config.shutdownTimeoutMs });
    if (lastDrain.forced > 0) {
      app.log.error(
        `${lastDrain.forced} connections were still busy after MTAILOR_SHUTDOWN_TIMEOUT_MS (${config.shutdownTimeoutMs} ms); closed`,
      );
    }
  });
  // While draining, every reply closes its connection: keep-alive clients reconnect (through a load balancer that
  // no longer routes here once /ready is 503), and no idle connection holds the shutdown open.
  app.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close');
  });
  app.addHook('onClose', async () => {
    // A model still loading must not hold the shutdown forever.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, config.shutdownTimeoutMs, undefined);
    });
    const classifier = await Promise.race([slot.loaded.catch(() => undefined), gaveUp]);
    clearTimeout(timer);
    await classifier?.close({ timeoutMs: config.shutdownTimeoutMs });
  });
  app.setErrorHandler(async (err, _request, reply) => sendError(reply, err));
  app.setNotFoundHandler(async (request, reply) =>
    sendError(reply, notFound(request), { unmatchedUnder: '' }),
  );
  await app.register(mtailorPlugin, {
    config,
    classifier: slot,
    metrics,
    urlFetch: options.urlFetch,
    draining: () => draining,
  });
  return app;
}
