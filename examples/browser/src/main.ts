/**
 * `pnpm --filter ./examples/browser start`: serves the in-browser classifier page.
 * Environment: `PORT` (default 8081), `HOST` (default 127.0.0.1, loopback only), `MTAILOR_MODEL` (default the
 * shared int8 MobileNetV2).
 * @module
 */
import { BrowserServerError } from './errors.js';
import { startServer } from './server.js';

function portFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  // Number('') is 0 and Number('8e3') is 8000: accept digits only, and let startServer check the range.
  if (!/^\d+$/.test(value))
    throw new BrowserServerError(
      'INVALID_OPTION',
      `Expected integer between 0 and 65535 for PORT but received ${JSON.stringify(value)}`,
    );
  return Number(value);
}

Promise.resolve()
  .then(() => startServer({ port: portFromEnv(process.env.PORT), host: process.env.HOST || undefined }))
  .then(
    (server) => {
      console.log(`mtailor browser example: ${server.url}/ (model ${server.model})`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (err: unknown) => {
      console.error(`mtailor browser example: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
