/**
 * `@mtailor/example-cerebrium`: a production inference server for `@mtailor/core` models — Fastify routes as a
 * reusable plugin ({@link mtailorPlugin}), a ready server ({@link buildServer}) and its parts.
 *
 * @example
 * ```ts
 * import { buildServer, loadConfig } from '@mtailor/example-cerebrium';
 * const app = await buildServer(loadConfig());
 * await app.listen({ port: 8080, host: '0.0.0.0' });
 * ```
 * @module
 */
export { bearerChecker } from './auth.js';
export type { LogLevel, RecipeName, ResizeEngine, ServerConfig } from './config.js';
export { ConfigError, DEFAULT_MODEL_PATH, loadConfig, resolveConfig } from './config.js';
export type { RouteContext, UrlFetchHooks } from './context.js';
export { EngineSlot } from './context.js';
export { availableCpus, cgroupCpuQuota } from './cpu.js';
export {
  clientErrorReply,
  type ErrorBody,
  HttpError,
  type ServerErrorCode,
  toErrorReply,
} from './http-errors.js';
export { decodeBase64Image } from './image-input.js';
export { type BatchedResult, MicroBatcher, type MicroBatcherOptions } from './inference/batcher.js';
export {
  type Classification,
  type EngineModel,
  type EngineOptions,
  InferenceEngine,
  type Prediction,
  type SelfTestResult,
} from './inference/engine.js';
export { KNOWN_TEST_CLASSES, renderSyntheticTestImage, SYNTHETIC_SVG } from './inference/test-image.js';
export { IntakeGate, IntakePass, intakeHook, intakePassOf } from './intake-gate.js';
export {
  LARGE_JSON_STRING_BYTES,
  type LargeStringRule,
  largeJsonString,
  largeJsonValue,
  MAX_JSON_DEPTH,
  parseJsonKeepingLargeStrings,
  useLargeStringJsonParser,
} from './json-body.js';
export { ServerMetrics } from './metrics.js';
export { isBase64ImagePath, type MtailorPluginOptions, mtailorPlugin } from './plugin.js';
export type { HealthReply } from './routes/health.js';
export {
  DEFAULT_MAX_IMAGES_PER_REQUEST,
  type OipInferReply,
  type OipInferRequest,
  type OipRouteOptions,
  type OipTensor,
} from './routes/oip-v2.js';
export type { PredictJsonBody, PredictReply } from './routes/predict.js';
export { type BuildServerOptions, buildServer } from './server.js';
export { AddressPolicy, type AddressVerdict, AllowlistError, embeddedIPv4 } from './url/address-policy.js';
export {
  type ConnectHook,
  type ConnectTarget,
  createSystemResolver,
  type FetchedImage,
  type FetchImageOptions,
  fetchImage,
  type ResolvedAddress,
  type ResolveOptions,
  type Resolver,
  type SystemResolverOptions,
  systemResolver,
} from './url/fetch-image.js';
export { runtimeVersions, SERVER_VERSION } from './versions.js';
