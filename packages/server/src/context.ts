/**
 * What the route modules share: config, the classifier (once loaded), metrics and the `image_url` policy.
 * @module
 */

import type { ImageClassifier } from '@mtailor/core';
import { NotReadyError } from '@mtailor/core';
import type { BodyBudget } from './body-budget.js';
import type { ServerConfig } from './config.js';
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

/** Holds the classifier while it loads; routes that need it answer 503 `NOT_READY` until then. */
export class ClassifierSlot {
  #classifier: ImageClassifier | undefined;
  #failure: Error | undefined;
  /** Settles when the classifier is loaded (or failed). */
  readonly loaded: Promise<ImageClassifier>;

  constructor(source: ImageClassifier | Promise<ImageClassifier>) {
    this.loaded = Promise.resolve(source).then(
      (classifier) => {
        this.#classifier = classifier;
        return classifier;
      },
      (err: unknown) => {
        this.#failure = err instanceof Error ? err : new Error(String(err));
        throw this.#failure;
      },
    );
    // The failure is reported by whoever awaits `loaded` (main.ts exits); do not crash on an unhandled rejection.
    this.loaded.catch(() => {});
  }

  /** The classifier, or undefined while loading. */
  get current(): ImageClassifier | undefined {
    return this.#classifier;
  }

  /** Why loading failed, if it did. */
  get error(): Error | undefined {
    return this.#failure;
  }

  /** The classifier when it is ready to serve, else 503 `NOT_READY`. */
  require(): ImageClassifier {
    if (this.#classifier?.status().ready) return this.#classifier;
    const why = this.#failure
      ? `the model failed to load: ${this.#failure.message}`
      : this.#classifier
        ? 'the model is loaded but not ready'
        : 'the model is still loading';
    throw new NotReadyError(why);
  }
}

/** Everything a route module needs. */
export interface RouteContext {
  config: ServerConfig;
  /** Whether the server is draining before a shutdown (readiness answers 503, everything else still serves). */
  draining: () => boolean;
  classifier: ClassifierSlot;
  metrics: ServerMetrics;
  /** Paces how many inference requests are worked on at once (their bodies complete). */
  intake: IntakeGate;
  /** Bounds the bytes of request bodies held in memory. */
  bodies: BodyBudget;
  policy: AddressPolicy;
  urlFetch: UrlFetchHooks;
  startedAt: Date;
}
