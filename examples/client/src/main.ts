/**
 * Entry point of the `mtailor-client` bin.
 * @module
 */
import { runCli } from './cli.js';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`mtailor-client: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
