/**
 * `@mtailor/example-client`: the client library behind the `mtailor-client` CLI.
 * @module
 */

export { type CliArgs, parseCliArgs, runCli, UsageError } from './cli.js';
export {
  type ClientOptions,
  getHealth,
  latencyStats,
  type Prediction,
  type PredictResult,
  predictBytes,
  predictUrl,
  RequestFailedError,
} from './client.js';
