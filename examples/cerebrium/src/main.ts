/**
 * The server process, exactly as the container image runs it (`node dist/main.js`): config from env (exit 2 when
 * invalid), listen, load the model in the background, and on SIGTERM/SIGINT stop accepting, finish in-flight
 * requests, exit 0.
 * @module
 */
import { ConfigError, loadConfig, type ServerConfig } from './config.js';
import { buildServer } from './server.js';

async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`mtailor-server: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }

  const app = await buildServer(config);
  let stopping = false;
  const stop = async (signal: string, exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'draining: no new connections, finishing in-flight requests');
    // A request that never finishes must not keep the process alive forever: the platform would SIGKILL us.
    const guard = setTimeout(() => {
      app.log.error(`drain took longer than ${config.shutdownTimeoutMs} ms; exiting`);
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000);
    guard.unref();
    try {
      await app.close();
      app.log.info('drained; bye');
      process.exit(exitCode);
    } catch (err) {
      app.log.error({ err }, 'error while closing');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM', 0));
  process.once('SIGINT', () => void stop('SIGINT', 0));

  await app.listen({ port: config.port, host: config.host });
  if (config.apiKey === undefined) {
    app.log.warn('MTAILOR_API_KEY is not set: authentication is OFF; every route is open');
  }
  try {
    const engine = await app.mtailor.whenReady();
    app.log.info(
      {
        model: engine.model.name,
        sha256: engine.model.sha256,
        loadMs: Math.round(engine.model.loadMs),
        maxBatchSize: engine.model.maxBatchSize,
        preprocessWorkers: config.preprocessWorkers,
        intraOpThreads: config.intraOpThreads,
        selfTest: engine.status().selfTest,
      },
      'model ready',
    );
  } catch (err) {
    app.log.fatal({ err }, `model failed to load from ${config.modelPath}`);
    await app.close().catch(() => {});
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  console.error('mtailor-server: fatal:', err instanceof Error ? err.message : err);
  process.exit(1);
});
