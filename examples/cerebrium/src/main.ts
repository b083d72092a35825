/**
 * The Cerebrium / Docker / KServe entry point, exactly what the image runs (`node dist/main.js`): the
 * `@mtailor/server` process, configured by environment variables (see the README and `cerebrium.toml`).
 * @module
 */
import { runServer } from '@mtailor/server';

runServer().catch((err: unknown) => {
  console.error('mtailor-server: fatal:', err instanceof Error ? err.message : err);
  process.exit(1);
});
