/**
 * Prometheus metrics (prom-client), one registry per server so that several servers (or an embedding app's own
 * registry) never collide: requests by route and status, latency histograms, batch sizes, queue depth, model
 * load time, plus prom-client's default process metrics.
 * @module
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Where the gauges read live values from. */
export interface MetricsSources {
  /** Preprocessed images waiting for a batch. */
  queueDepth: () => number;
  /** Requests admitted by the engine and not finished. */
  inFlight: () => number;
  /** Requests waiting for a work slot, bodies complete. */
  intakeWaiting: () => number;
  /** Requests whose bodies are still arriving. */
  intakeReading: () => number;
  /** Bytes of request bodies held in memory. */
  intakeBufferedBytes: () => number;
}

/**
 * The server's metrics.
 *
 * @example
 * ```ts
 * const metrics = new ServerMetrics();
 * metrics.observeBatch(8, 12.5);
 * const text = await metrics.registry.metrics();
 * ```
 */
export class ServerMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status_code'>;
  readonly requestDuration: Histogram<'method' | 'route'>;
  readonly batchSize: Histogram;
  readonly inferenceDuration: Histogram;
  readonly queueDepth: Gauge;
  readonly inFlight: Gauge;
  readonly intakeWaiting: Gauge;
  readonly intakeReading: Gauge;
  readonly intakeBufferedBytes: Gauge;
  readonly modelLoadSeconds: Gauge;
  #sources: Partial<MetricsSources> = {};

  constructor(options: { prefix?: string; registry?: Registry; defaultMetrics?: boolean } = {}) {
    const p = options.prefix ?? 'mtailor_';
    this.registry = options.registry ?? new Registry();
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: p });
    const registers = [this.registry];
    this.requests = new Counter({
      name: `${p}http_requests_total`,
      help: 'HTTP requests by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: `${p}http_request_duration_seconds`,
      help: 'HTTP request latency by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10],
      registers,
    });
    this.batchSize = new Histogram({
      name: `${p}batch_size`,
      help: 'Images per onnxruntime run (dynamic micro-batching)',
      buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64],
      registers,
    });
    this.inferenceDuration = new Histogram({
      name: `${p}inference_duration_seconds`,
      help: 'onnxruntime time per batch',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
      registers,
    });
    // Gauges read at scrape time from wherever the value lives (attached later: the engine loads in the background).
    const live = (name: string, help: string, source: keyof MetricsSources): Gauge => {
      const read = () => this.#sources[source]?.() ?? 0;
      return new Gauge({
        name: `${p}${name}`,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    this.queueDepth = live('queue_depth', 'Preprocessed images waiting for a batch', 'queueDepth');
    this.inFlight = live(
      'in_flight_requests',
      'Inference requests admitted and not finished (decoding, queued or running)',
      'inFlight',
    );
    this.intakeWaiting = live(
      'intake_waiting_requests',
      'Inference requests waiting for a work slot, bodies complete (MTAILOR_MAX_ACTIVE are worked on at once)',
      'intakeWaiting',
    );
    this.intakeReading = live(
      'intake_reading_requests',
      'Inference requests whose bodies are still arriving',
      'intakeReading',
    );
    this.intakeBufferedBytes = live(
      'intake_buffered_bytes',
      'Bytes of request bodies held in memory (MTAILOR_MAX_BUFFERED_BYTES bounds them)',
      'intakeBufferedBytes',
    );
    this.modelLoadSeconds = new Gauge({
      name: `${p}model_load_seconds`,
      help: 'Time to load the model and warm it up',
      registers,
    });
  }

  /** Connects gauges to where their values live (the engine once loaded, the intake gate). */
  attach(sources: Partial<MetricsSources>): void {
    this.#sources = { ...this.#sources, ...sources };
  }

  /** Records one batch: its size and onnxruntime time. */
  observeBatch(size: number, runMs: number): void {
    this.batchSize.observe(size);
    this.inferenceDuration.observe(runMs / 1000);
  }
}
