/**
 * `POST /predict`: one image in (JSON with `image_base64` | `image_url` | `test_mode`, raw `image/*` or
 * `application/octet-stream` bytes, or `multipart/form-data` with one file), the top-k classes out.
 * @module
 */

import { performance } from 'node:perf_hooks';
import type { Base64Image, ClassifyResult, Prediction } from '@mtailor/core';
import { ImageTooLargeError, InvalidInputError } from '@mtailor/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteContext } from '../context.js';
import { ServerError } from '../errors.js';
import { intakeHook } from '../intake-gate.js';
import { largeJsonValue } from '../json-body.js';
import { MultipartForm } from '../multipart.js';
import { runIdOf } from '../request-id.js';
import { fetchImage } from '../url/fetch-image.js';

/** The JSON body of `POST /predict`. Exactly one of `image_base64`, `image_url`, `test_mode`. */
export interface PredictJsonBody {
  /** The encoded image (JPEG, PNG, WebP, GIF, TIFF, AVIF) in base64, or a `data:` URL. */
  image_base64?: string;
  /** An http(s) URL the server downloads the image from (subject to the address policy). */
  image_url?: string;
  /** Classify the built-in test image and check its expected class. */
  test_mode?: boolean;
  /** How many classes to return, 1–1000 (default 5). */
  top_k?: number;
}

/** One class in a reply, as the seed's clients read it. */
export interface PredictionJson {
  class_id: number;
  label: string;
  confidence: number;
}

/** The one mapping from `@mtailor/core`'s prediction to the wire format of `/predict`. */
export function toPredictionJson(p: Prediction): PredictionJson {
  return { class_id: p.index, label: p.label, confidence: p.probability };
}

/** The reply of `POST /predict`. */
export interface PredictReply {
  /** The request's `X-Request-Id` when it sent a valid one, else a generated id. */
  run_id: string;
  prediction: PredictionJson;
  top_k: PredictionJson[];
  /** Milliseconds per stage; `queue` is waiting (for a decode worker, then a batch); `total` is the whole request. */
  timings_ms: {
    fetch: number;
    decode: number;
    preprocess: number;
    queue: number;
    inference: number;
    total: number;
  };
  model: { name: string; sha256: string };
  /** Present for `test_mode` requests. */
  test_mode?: { passed: boolean; expected_class: number; source: string; expectation: string };
}

const predictionSchema = {
  type: 'object',
  required: ['class_id', 'label', 'confidence'],
  properties: { class_id: { type: 'integer' }, label: { type: 'string' }, confidence: { type: 'number' } },
} as const;

/** JSON schema of {@link PredictReply}. */
export const predictReplySchema = {
  type: 'object',
  required: ['run_id', 'prediction', 'top_k', 'timings_ms', 'model'],
  properties: {
    run_id: { type: 'string' },
    prediction: predictionSchema,
    top_k: { type: 'array', items: predictionSchema },
    timings_ms: {
      type: 'object',
      required: ['fetch', 'decode', 'preprocess', 'queue', 'inference', 'total'],
      properties: {
        fetch: { type: 'number' },
        decode: { type: 'number' },
        preprocess: { type: 'number' },
        queue: { type: 'number' },
        inference: { type: 'number' },
        total: { type: 'number' },
      },
    },
    model: {
      type: 'object',
      required: ['name', 'sha256'],
      properties: { name: { type: 'string' }, sha256: { type: 'string' } },
    },
    test_mode: {
      type: 'object',
      required: ['passed', 'expected_class', 'source', 'expectation'],
      properties: {
        passed: { type: 'boolean' },
        expected_class: { type: 'integer' },
        source: { type: 'string' },
        expectation: { type: 'string' },
      },
    },
  },
} as const;

const jsonBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // No minLength: ajv counts code points one by one, on the event loop, for a string of megabytes. Empty is
    // refused when decoding (400 INVALID_INPUT).
    image_base64: { type: 'string' },
    image_url: { type: 'string', minLength: 1, maxLength: 8192 },
    test_mode: { type: 'boolean' },
    top_k: { type: 'integer', minimum: 1, maximum: 1000 },
  },
} as const;

const querySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { top_k: { type: 'integer', minimum: 1, maximum: 1000 } },
} as const;

function parseTopK(value: unknown, where: string): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1000) {
    throw new InvalidInputError(`${where}: top_k must be an integer from 1 to 1000`);
  }
  return n;
}

interface ImageSource {
  bytes: Uint8Array | Base64Image;
  fetchMs: number;
  topK: number | undefined;
  testMode: boolean;
}

async function readImage(ctx: RouteContext, request: FastifyRequest): Promise<ImageSource> {
  const query = request.query as { top_k?: number };
  const body = request.body;
  if (body instanceof MultipartForm) {
    if (!body.file) throw new InvalidInputError('multipart: no file part');
    const topK = body.topK === undefined ? query.top_k : parseTopK(body.topK, 'multipart field');
    return { bytes: body.file, fetchMs: 0, topK, testMode: false };
  }
  if (Buffer.isBuffer(body)) {
    if (body.length > ctx.config.maxImageBytes) {
      throw new ImageTooLargeError(
        `the image is ${body.length} bytes; the limit is ${ctx.config.maxImageBytes}`,
      );
    }
    return { bytes: body, fetchMs: 0, topK: query.top_k, testMode: false };
  }
  if (typeof body !== 'object' || body === null) {
    throw new ServerError(
      'UNSUPPORTED_MEDIA_TYPE',
      'send JSON, image/* or application/octet-stream bytes, or multipart/form-data with one file',
    );
  }
  const json = body as PredictJsonBody;
  const given = (['image_base64', 'image_url', 'test_mode'] as const).filter(
    (k) => json[k] !== undefined && json[k] !== false,
  );
  if (given.length !== 1) {
    throw new InvalidInputError(
      given.length === 0
        ? 'send exactly one of image_base64, image_url or test_mode: true'
        : `send exactly one of image_base64, image_url or test_mode, not ${given.join(' and ')}`,
    );
  }
  const topK = json.top_k ?? query.top_k;
  if (json.image_base64 !== undefined) {
    // Decoded in a preprocess worker, not here on the event loop. A large value arrives as the body's own bytes
    // (json-body.ts), which are moved to the worker: nothing reads the body after this.
    const large = largeJsonValue(request.largeJsonStrings, json, 'image_base64');
    return {
      bytes: large ? { base64: large, transfer: true } : { base64: json.image_base64 },
      fetchMs: 0,
      topK,
      testMode: false,
    };
  }
  if (json.image_url !== undefined) {
    const url = json.image_url;
    // The download waits on the network, not on us: its intake slot goes to uploads already here meanwhile (the
    // handler takes one again before decoding). The pass's signal stops it if the client hangs up.
    const pass = request.intakePass;
    pass?.release();
    const t0 = performance.now();
    const fetched = await fetchImage(url, {
      policy: ctx.policy,
      maxBytes: ctx.config.maxImageBytes,
      connectTimeoutMs: ctx.config.urlConnectTimeoutMs,
      totalTimeoutMs: ctx.config.urlTimeoutMs,
      maxRedirects: ctx.config.urlMaxRedirects,
      resolve: ctx.urlFetch.resolve,
      onConnect: ctx.urlFetch.onConnect,
      signal: pass?.signal,
    });
    const fetchMs = performance.now() - t0;
    return { bytes: fetched.bytes, fetchMs, topK, testMode: false };
  }
  return { bytes: new Uint8Array(), fetchMs: 0, topK, testMode: true };
}

/** Registers `POST /predict`. */
export function registerPredictRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.post(
    '/predict',
    {
      bodyLimit: ctx.config.maxBodyBytes,
      preParsing: intakeHook({
        gate: ctx.intake,
        budget: ctx.bodies,
        bodyLimit: ctx.config.maxBodyBytes,
        bodyTimeoutMs: ctx.config.bodyTimeoutMs,
      }),
      schema: {
        querystring: querySchema,
        body: { content: { 'application/json': { schema: jsonBodySchema } } },
        response: {
          200: predictReplySchema,
          '4xx': { $ref: 'mtailor.error#' },
          '5xx': { $ref: 'mtailor.error#' },
        },
      },
    },
    async (request, reply) => {
      const classifier = ctx.classifier.require();
      const runId = runIdOf(request);
      const source = await readImage(ctx, request);
      const k = parseTopK(source.topK, 'top_k') ?? 5;
      const testImage = source.testMode ? await classifier.testImage() : undefined;
      // A slot for the CPU work (given back while a slow body arrived or an image_url downloaded).
      const pass = request.intakePass;
      await pass?.reclaim();
      const result: ClassifyResult = await classifier.classify(testImage ? testImage.bytes : source.bytes, {
        topK: k,
      });
      const topK = result.predictions.map(toPredictionJson);
      const top = topK[0];
      if (!top) throw new ServerError('INTERNAL', 'the model returned no classes');
      const answer: PredictReply = {
        run_id: runId,
        prediction: top,
        top_k: topK,
        timings_ms: {
          fetch: source.fetchMs,
          decode: result.timings.readMs + result.timings.decodeMs,
          preprocess: result.timings.preprocessMs,
          // Waiting at the intake gate (body unread) is waiting too.
          queue: result.timings.queueMs + (pass?.waitedMs ?? 0),
          inference: result.timings.inferenceMs,
          // From the request's arrival (Fastify's clock starts before the intake gate), not from this handler.
          total: reply.elapsedTime,
        },
        model: { name: ctx.config.modelName, sha256: classifier.model.sha256 },
      };
      if (testImage) {
        const expected = testImage.expectedClass ?? -1;
        if (top.class_id !== expected) {
          throw new ServerError(
            'TEST_MODE_MISMATCH',
            `test image classified as ${top.class_id} (${top.label}); expected ${expected}`,
          );
        }
        answer.test_mode = {
          passed: true,
          expected_class: expected,
          source: testImage.source,
          expectation: testImage.expectation,
        };
      }
      return answer;
    },
  );
}
