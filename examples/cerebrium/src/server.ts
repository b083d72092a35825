/**
 * `buildServer(config)`: a Fastify app with the inference plugin, JSON errors everywhere, request ids taken from
 * `X-Request-Id`, and a graceful close. The model loads in the background: `/health` answers at once, `/ready` and
 * the inference routes answer 503 `NOT_READY` until the model is loaded and its self-test passed.
 * @module
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ServerConfig } from './config.js';
import { EngineSlot, type UrlFetchHooks } from './context.js';
import { clientErrorReply, HttpError, toErrorReply } from './http-errors.js';
import { InferenceEngine as Engine, type InferenceEngine } from './inference/engine.js';
import { ServerMetrics } from './metrics.js';
import { engineOptionsFrom, mtailorPlugin } from './plugin.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The server's engine slot and metrics (set by {@link buildServer}). */
    mtailor: { engine: EngineSlot; metrics: ServerMetrics; whenReady: () => Promise<InferenceEngine> };
  }
}

/** Options of {@link buildServer} beyond the config. */
export interface BuildServerOptions {
  /** Hooks for `image_url` downloads (tests inject a resolver and a connection guard). */
  urlFetch?: UrlFetchHooks;
  /** A pino logger config, `false` for none. Default: JSON logs at `config.logLevel`. */
  logger?: boolean | { level: string };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Builds the inference server (not listening yet).
 *
 * @example
 * ```ts
 * import { buildServer, loadConfig } from '@mtailor/example-cerebrium';
 * const app = await buildServer(loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0' }));
 * await app.listen({ host: '127.0.0.1', port: 0 });
 * await app.mtailor.whenReady();
 * ```
 */
export async function buildServer(
  config: ServerConfig,
  options: BuildServerOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    bodyLimit: config.maxBodyBytes,
    // What Node refuses before routing (bad HTTP, huge headers, timeouts) gets the same JSON error shape too.
    clientErrorHandler: clientErrorReply,
    // Our own id from X-Request-Id (when it is a sane token) so logs and replies share the caller's id.
    requestIdHeader: false,
    genReqId: (req) => {
      const header = req.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    },
    // Draining is answered by our hook below, in the one error shape.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Unknown body fields are refused (400), not silently stripped (Fastify's default removes them).
    ajv: { customOptions: { removeAdditional: false } },
  });
  const metrics = new ServerMetrics();
  const slot = new EngineSlot(Engine.start(engineOptionsFrom(config, metrics, (m) => app.log.warn(m))));
  app.decorate('mtailor', { engine: slot, metrics, whenReady: () => slot.loaded });
  // `Expect: 100-continue`: Node would say "continue" at once, before authentication and size checks, and the client
  // would upload a body only to be refused. Routed like any request instead: a refusal (401, 413, 415, 503) goes out
  // without the 100, and the inference routes send it when the request gets its intake slot (intake-gate.ts).
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res));

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down');
  });
  // While draining, every reply closes its connection: a keep-alive socket that goes idle after close() began
  // would otherwise hold the shutdown open until its keep-alive timeout.
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onClose', async () => {
    // A model still loading must not hold the shutdown forever.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, config.shutdownTimeoutMs, undefined);
    });
    const engine = await Promise.race([slot.loaded.catch(() => undefined), gaveUp]);
    clearTimeout(timer);
    await engine?.close(config.shutdownTimeoutMs);
  });
  app.setErrorHandler(async (err, request, reply) => {
    const { statusCode, body, internal } = toErrorReply(err);
    if (internal) request.log.error({ err }, 'request failed');
    reply.code(statusCode).type('application/json');
    return body;
  });
  app.setNotFoundHandler(async (request, reply) => {
    reply.code(404);
    return toErrorReply(
      new HttpError(404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
    ).body;
  });
  await app.register(mtailorPlugin, { config, engine: slot, metrics, urlFetch: options.urlFetch });
  return app;
}
