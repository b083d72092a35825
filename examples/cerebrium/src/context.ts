/**
 * What the route modules share: config, the engine (once loaded), metrics and the `image_url` policy.
 * @module
 */
import type { ServerConfig } from './config.js';
import { HttpError } from './http-errors.js';
import type { InferenceEngine } from './inference/engine.js';
import type { IntakeGate } from './intake-gate.js';
import type { ServerMetrics } from './metrics.js';
import type { AddressPolicy } from './url/address-policy.js';
import type { ConnectHook, Resolver } from './url/fetch-image.js';

/** Test and integration hooks for `image_url` downloads. */
export interface UrlFetchHooks {
  /** Resolves host names (default: the system resolver). */
  resolve?: Resolver;
  /** Sees (and may refuse) every outgoing connection after its address was checked. */
  onConnect?: ConnectHook;
}

/** Holds the engine while it loads; routes that need it answer 503 `NOT_READY` until then. */
export class EngineSlot {
  private engine: InferenceEngine | undefined;
  private failure: Error | undefined;
  /** Settles when the engine is loaded (or failed). */
  readonly loaded: Promise<InferenceEngine>;

  constructor(source: InferenceEngine | Promise<InferenceEngine>) {
    this.loaded = Promise.resolve(source).then(
      (engine) => {
        this.engine = engine;
        return engine;
      },
      (err: unknown) => {
        this.failure = err instanceof Error ? err : new Error(String(err));
        throw this.failure;
      },
    );
    // The failure is reported by whoever awaits `loaded` (main.ts exits); do not crash on an unhandled rejection.
    this.loaded.catch(() => {});
  }

  /** The engine, or undefined while loading. */
  get current(): InferenceEngine | undefined {
    return this.engine;
  }

  /** Why loading failed, if it did. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** The engine when it is ready to serve, else 503 `NOT_READY`. */
  require(): InferenceEngine {
    if (this.engine?.ready) return this.engine;
    const why = this.failure
      ? `the model failed to load: ${this.failure.message}`
      : this.engine
        ? 'the model is loaded but not ready'
        : 'the model is still loading';
    throw new HttpError(503, 'NOT_READY', why);
  }
}

/** Everything a route module needs. */
export interface RouteContext {
  config: ServerConfig;
  engine: EngineSlot;
  metrics: ServerMetrics;
  /** Paces how many inference requests are read and worked on at once. */
  intake: IntakeGate;
  policy: AddressPolicy;
  urlFetch: UrlFetchHooks;
  startedAt: Date;
}
