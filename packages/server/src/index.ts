/**
 * `@mtailor/server`: an inference server for `@mtailor/core` image classifiers — Fastify routes as a plugin you can
 * mount in your own app ({@link mtailorPlugin}), a ready server ({@link createServer}) and the whole process
 * ({@link runServer}, the `mtailor-server` command): `POST /predict`, `GET /health`, `GET /ready`, `GET /metrics`
 * and the Open Inference Protocol v2 under `/v2`.
 *
 * @example
 * ```ts
 * import { createServer, loadConfig } from '@mtailor/server';
 * const app = await createServer(loadConfig({ ...process.env, MTAILOR_MODEL: 'model.onnx' }));
 * await app.listen({ port: 8080, host: '127.0.0.1' });
 * ```
 * @module
 */
export {
  ConfigError,
  DEFAULT_MODEL_PATH,
  type LogLevel,
  loadConfig,
  resolveConfig,
  type ServerConfig,
} from './config.js';
export { ClassifierSlot, type UrlFetchHooks } from './context.js';
export {
  type ErrorBody,
  type ErrorCode,
  type OipErrorBody,
  ServerError,
  type ServerErrorCode,
  STATUS_BY_CODE,
} from './errors.js';
export { ServerMetrics } from './metrics.js';
export { classifierOptionsFrom, type MtailorPluginOptions, mtailorPlugin } from './plugin.js';
export type { HealthReply, HealthStatus, PublicHealthReply } from './routes/health.js';
export type { OipInferReply, OipInferRequest, OipTensor } from './routes/oip-v2.js';
export type { PredictionJson, PredictJsonBody, PredictReply } from './routes/predict.js';
export { runServer } from './run.js';
export { type CreateServerOptions, createServer } from './server.js';
export type { ConnectHook, ConnectTarget, ResolvedAddress, Resolver } from './url/fetch-image.js';
