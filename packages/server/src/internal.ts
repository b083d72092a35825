/**
 * `@mtailor/server/internal`: the server's building blocks, for its own tests and benches and for `@mtailor/cli`
 * (`classify --inputs-from` downloads URLs with {@link fetchImage}; the packages are released together). Not part
 * of the public API: no stability promise.
 * @module
 */
export { bearerChecker } from './auth.js';
export { clientErrorReply, toErrorReply } from './errors.js';
export {
  BodyBudget,
  type BudgetedReader,
  IntakeGate,
  type IntakeHookOptions,
  IntakePass,
  intakeHook,
  intakePassOf,
} from './intake-gate.js';
export {
  LARGE_JSON_STRING_BYTES,
  type LargeStringRule,
  largeJsonString,
  largeJsonValue,
  MAX_JSON_DEPTH,
  parseJsonKeepingLargeStrings,
  useLargeStringJsonParser,
} from './json-body.js';
export { MULTIPART_LIMITS, MultipartForm, parseMultipart } from './multipart.js';
export { isBase64ImagePath } from './plugin.js';
export { DEFAULT_MAX_IMAGES_PER_REQUEST } from './routes/oip-v2.js';
export { AddressPolicy, type AddressVerdict, AllowlistError, embeddedIPv4 } from './url/address-policy.js';
export {
  createSystemResolver,
  type FetchedImage,
  type FetchImageOptions,
  fetchImage,
  type ResolveOptions,
  type SystemResolverOptions,
  systemResolver,
  URL_FETCH_LIMITS,
} from './url/fetch-image.js';
export { runtimeVersions, SERVER_VERSION } from './versions.js';
