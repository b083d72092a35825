/**
 * `runServer()`: the server as a process — config from the environment (exit 2 when invalid), listen, load the model
 * in the background, and on SIGTERM/SIGINT shut down without losing a request:
 *
 * 1. `/ready` and the OIP readiness routes answer 503 at once (the platform takes the pod out of its endpoints);
 *    every reply from now on carries `Connection: close`;
 * 2. for `MTAILOR_SHUTDOWN_DELAY_MS` the server keeps accepting and serving (requests routed here before the
 *    endpoint removal reached every proxy still arrive);
 * 3. it stops listening after a loop turn that accepted every connection already in the kernel's backlog;
 * 4. it serves every request on every accepted connection (within `MTAILOR_SHUTDOWN_TIMEOUT_MS`);
 * 5. it closes the classifier (its workers finish what they hold) and exits 0.
 *
 * What the container image and the `mtailor-server` command run.
 * @module
 */
import { ConfigError, loadConfig, type ServerConfig } from './config.js';
import { createServer } from './server.js';

/**
 * Runs the server process from environment variables until SIGTERM/SIGINT; exits the process when done.
 *
 * @example
 * ```ts
 * import { runServer } from '@mtailor/server';
 * await runServer(); // MTAILOR_MODEL=model.onnx PORT=8080 node main.js
 * ```
 */
export async function runServer(env: Record<string, string | undefined> = process.env): Promise<void> {
  let config: ServerConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`mtailor-server: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }

  const app = await createServer(config);
  let stopping = false;
  const stop = async (signal: string, exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    app.mtailor.startDraining();
    app.log.info(
      { signal, delayMs: config.shutdownDelayMs, timeoutMs: config.shutdownTimeoutMs },
      'draining: /ready answers 503; serving for the shutdown delay, then finishing every accepted request',
    );
    // A request that never finishes must not keep the process alive forever: the platform would SIGKILL us.
    const guard = setTimeout(
      () => {
        app.log.error(
          `shutdown took longer than MTAILOR_SHUTDOWN_DELAY_MS + MTAILOR_SHUTDOWN_TIMEOUT_MS + 5 s; exiting`,
        );
        process.exit(1);
      },
      config.shutdownDelayMs + config.shutdownTimeoutMs + 5000,
    );
    guard.unref();
    try {
      if (config.shutdownDelayMs > 0) await new Promise((r) => setTimeout(r, config.shutdownDelayMs));
      await app.close();
      app.log.info({ connections: app.mtailor.lastDrain }, 'drained; bye');
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
    const classifier = await app.mtailor.whenReady();
    app.log.info(
      {
        model: config.modelName,
        sha256: classifier.model.sha256,
        loadMs: Math.round(classifier.model.loadMs),
        maxBatchSize: classifier.maxBatchSize,
        preprocessWorkers: classifier.workers,
        intraOpThreads: config.intraOpThreads,
        int8Kernels: classifier.model.int8Kernels,
        selfTest: classifier.status().selfTest,
      },
      'model ready',
    );
  } catch (err) {
    app.log.fatal({ err }, `model failed to load from ${config.modelPath}`);
    await app.close().catch(() => {});
    process.exit(1);
  }
}
