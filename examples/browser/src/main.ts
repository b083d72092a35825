/**
 * `pnpm --filter ./examples/browser start`: serves the in-browser classifier page.
 * Environment: `PORT` (default 8081), `HOST` (default 127.0.0.1, loopback only), `MTAILOR_MODEL` (default the
 * shared int8 MobileNetV2).
 * @module
 */
import { startServer } from './server.js';

function portFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  // Number('') is 0 and Number('8e3') is 8000: accept digits only, and let startServer check the range.
  return /^\d+$/.test(value) ? Number(value) : Number.NaN;
}

startServer({ port: portFromEnv(process.env.PORT), host: process.env.HOST || undefined }).then(
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
