/**
 * The Open Inference Protocol v2 REST API (KServe v2 / Triton), so KServe and Triton clients can call the model:
 * server and model metadata, liveness and readiness, and `infer` with JSON tensors — FP32 `[N, 3, H, W]` (or
 * `[N, H, W, 3]` for NHWC models; data flat, or nested exactly as the shape) or BYTES `[N]` holding base64-encoded
 * images (KServe's JSON convention for binary BYTES elements), at most 64 images per request by default; other
 * content types than `application/json` are 415. The output is the model's own output tensor (logits
 * `[N, classes]`); asking for it with `parameters: { classification: k }` returns Triton's classification extension
 * instead: BYTES `[N, k]` of `"score:index:label"`.
 *
 * Errors on these routes are `{ "error": "<message>" }`, as the spec (`rest_predict_v2.yaml` in the kserve repository)
 * defines them — what OIP clients read; the other routes use `{ error: { code, message } }`. Both paths the spec
 * writes for server metadata answer: `GET /v2` and `GET /v2/`.
 * @module
 */

import type { Base64Image, ImageClassifier, ModelInfo } from '@mtailor/core';
import { ImageTooLargeError, InvalidInputError, ShuttingDownError } from '@mtailor/core';
import { base64HeadIsInvalid, maxBase64Length } from '@mtailor/core/internal';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteContext } from '../context.js';
import { ServerError } from '../errors.js';
import { intakeHook } from '../intake-gate.js';
import { type LargeJsonStrings, largeJsonString } from '../json-body.js';
import { SERVER_VERSION } from '../versions.js';

/** One tensor of an OIP v2 request or reply. */
export interface OipTensor {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Record<string, unknown>;
  data: unknown[];
}

/** The body of `POST /v2/models/{name}/infer`. */
export interface OipInferRequest {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: OipTensor[];
  outputs?: Array<{ name: string; parameters?: Record<string, unknown> }>;
}

/** The reply of `POST /v2/models/{name}/infer`. */
export interface OipInferReply {
  model_name: string;
  model_version: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: OipTensor[];
}

const MODEL_VERSION = '1';

const inferBodySchema = {
  type: 'object',
  required: ['inputs'],
  properties: {
    id: { type: 'string', maxLength: 256 },
    parameters: { type: 'object' },
    inputs: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['name', 'shape', 'datatype', 'data'],
        properties: {
          name: { type: 'string' },
          shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
          datatype: { type: 'string' },
          parameters: { type: 'object' },
          data: { type: 'array' },
        },
      },
    },
    outputs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string' }, parameters: { type: 'object' } },
      },
    },
  },
} as const;

const product = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** The shape of one image's tensor in the model's layout. */
function imageShape(m: ModelInfo): number[] {
  const { width, height } = m.inputSize;
  return m.inputLayout === 'NCHW' ? [3, height, width] : [height, width, 3];
}

function modelMetadata(classifier: ImageClassifier, name: string) {
  const m = classifier.model;
  const batch = m.batchDim === 'dynamic' ? -1 : m.batchDim;
  return {
    name,
    versions: [MODEL_VERSION],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: m.inputName, datatype: 'FP32', shape: [batch, ...imageShape(m)] }],
    outputs: [{ name: m.outputName, datatype: 'FP32', shape: [batch, m.numClasses] }],
    parameters: {
      sha256: m.sha256,
      layout: m.inputLayout,
      max_batch_size: classifier.maxBatchSize,
      bytes_input: 'also accepted: a BYTES tensor [N] of base64-encoded images (any input name)',
    },
  };
}

/**
 * Default of {@link OipRouteOptions.maxImagesPerRequest}. Without a cap a small body can ask for unbounded work:
 * a tiny image costs a few dozen bytes of base64 but a whole decode and a full-size tensor, so a body well under the
 * size limit could hold tens of thousands of them.
 */
export const DEFAULT_MAX_IMAGES_PER_REQUEST = 64;

/** Options of {@link registerOipRoutes}. */
export interface OipRouteOptions {
  /**
   * Most images one infer request may carry (the elements of a BYTES tensor, or N of an FP32 `[N, …]` tensor);
   * more is refused with 400 `INVALID_INPUT` before any work starts. Default {@link DEFAULT_MAX_IMAGES_PER_REQUEST}.
   */
  maxImagesPerRequest?: number;
}

/** The largest finite float32; a JSON number beyond it (give or take rounding) would become ±Infinity. */
const FLOAT32_MAX = 3.4028234663852886e38;

const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

const tooMany = (input: OipTensor, n: number, max: number): InvalidInputError =>
  new InvalidInputError(
    `input ${input.name} holds ${n} images; send at most ${max} per request (split larger batches)`,
  );

/** `data[i][j]…`: where the element at row-major `index` is in `data` as the client sent it. */
function elementPath(input: OipTensor, index: number, nested: boolean): string {
  if (!nested) return `data[${index}]`;
  const at: number[] = [];
  let rest = index;
  for (let k = input.shape.length - 1; k >= 0; k--) {
    const dim = input.shape[k] as number;
    at.unshift(rest % dim);
    rest = Math.floor(rest / dim);
  }
  return `data${at.map((i) => `[${i}]`).join('')}`;
}

const tooDeep = (input: OipTensor, index: number, nested: boolean): InvalidInputError =>
  new InvalidInputError(
    `input ${input.name}: ${elementPath(input, index, nested)} is an array, nested deeper than shape ${shapeText(input.shape)}; send data flat (${product(input.shape)} values) or nested exactly as the shape`,
  );

/**
 * The innermost arrays ("rows") of a tensor's `data`, in row-major order, checked against its shape. `data` is
 * either flat — `product(shape)` values, then it is the one row — or nested exactly as the shape: the array at
 * each level holds that dimension's count of items. Anything else (ragged, partly flat, nested deeper) is refused
 * with where it went wrong: counting only the leaves would accept rows of the wrong lengths as long as the total
 * matched. The walk keeps its own stack, so a client's nesting depth never becomes ours (a recursive walk would
 * overflow the call stack on deep nesting). Leaf values are checked by the caller; an array
 * there is nesting deeper than the shape ({@link tooDeep}).
 */
function tensorRows(input: OipTensor): { rows: unknown[][]; nested: boolean } {
  const { data, shape } = input;
  const total = product(shape);
  const fix = `send data flat (${total} values) or nested exactly as the shape`;
  const last = shape.length - 1;
  if (last < 1 || !Array.isArray(data[0])) {
    if (data.length !== total) {
      throw new InvalidInputError(
        `input ${input.name} has ${data.length} values; shape ${shapeText(shape)} needs ${total}`,
      );
    }
    return { rows: [data], nested: false };
  }
  if (data.length !== shape[0]) {
    throw new InvalidInputError(
      `input ${input.name}: data has ${data.length} items where shape ${shapeText(shape)} needs ${shape[0]}; ${fix}`,
    );
  }
  const rows: unknown[][] = [];
  // The array being walked at each level and the index of the next item in it (a parent's index is already past
  // the child being walked).
  const arrays: unknown[][] = [data];
  const next: number[] = [0];
  while (arrays.length > 0) {
    const level = arrays.length - 1;
    const array = arrays[level] as unknown[];
    const i = next[level] as number;
    if (i === array.length) {
      arrays.pop();
      next.pop();
      continue;
    }
    next[level] = i + 1;
    const item = array[i];
    const want = shape[level + 1] as number;
    if (!Array.isArray(item) || item.length !== want) {
      const where = `data${[...next.slice(0, level).map((n) => n - 1), i].map((n) => `[${n}]`).join('')}`;
      const found = Array.isArray(item) ? `has ${item.length} items` : 'is not an array';
      throw new InvalidInputError(
        `input ${input.name}: ${where} ${found} where shape ${shapeText(shape)} needs ${want}; ${fix}`,
      );
    }
    if (level + 1 === last) rows.push(item);
    else {
      arrays.push(item);
      next.push(0);
    }
  }
  return { rows, nested: true };
}

/** Checks an FP32 input's shape and name, and its image count against `maxImages`: nothing is read yet. */
function checkFp32Input(m: ModelInfo, input: OipTensor, maxImages: number): void {
  const expected = imageShape(m);
  const [n, ...rest] = input.shape;
  if (n === undefined || n < 1 || rest.length !== 3 || rest.some((d, i) => d !== expected[i])) {
    throw new InvalidInputError(
      `FP32 input ${input.name} must have shape [N, ${expected.join(', ')}] (${m.inputLayout}), not ${shapeText(input.shape)}`,
    );
  }
  if (input.name !== m.inputName) {
    throw new InvalidInputError(
      `unknown FP32 input ${JSON.stringify(input.name)}; the model's input is ${JSON.stringify(m.inputName)}`,
    );
  }
  if (n > maxImages) throw tooMany(input, n, maxImages);
}

/**
 * An FP32 input (checked by {@link checkFp32Input}) → one float32 tensor per image. Each value must be a number
 * that is finite as a float32: 1e39 would become Infinity and the model would answer junk logits.
 */
function imagesFromFp32(m: ModelInfo, input: OipTensor): Float32Array[] {
  const per = m.inputElementsPerImage;
  const { rows, nested } = tensorRows(input);
  const images: Float32Array[] = [];
  let image = new Float32Array(0);
  let j = per;
  let index = 0;
  for (const row of rows) {
    for (let r = 0; r < row.length; r++, index++) {
      const v = row[r];
      if (typeof v !== 'number') {
        if (Array.isArray(v)) throw tooDeep(input, index, nested);
        throw new InvalidInputError(
          `input ${input.name}: element ${index} (${elementPath(input, index, nested)}) is not a number`,
        );
      }
      const f = Math.fround(v);
      // f - f is NaN exactly when f is ±Infinity or NaN.
      if (f - f !== 0) {
        throw new InvalidInputError(
          `input ${input.name}: element ${index} (${elementPath(input, index, nested)}) is ${v}, outside the float32 range (±${FLOAT32_MAX})`,
        );
      }
      // Rows never straddle images when nested; flat data is one row holding them all.
      if (j === per) {
        image = new Float32Array(per);
        images.push(image);
        j = 0;
      }
      image[j++] = f;
    }
  }
  return images;
}

/**
 * A BYTES input → its elements, every one checked before any is decoded: shape, count (`maxImages`), type, and
 * cheaply size and the start of its base64 — so a bad element is refused without first decoding the others.
 */
function bytesElements(
  largeStrings: LargeJsonStrings | null,
  input: OipTensor,
  maxImages: number,
  maxImageBytes: number,
): Base64Image[] {
  const n = input.shape[0];
  if (n === undefined || n < 1 || product(input.shape) !== n) {
    throw new InvalidInputError(
      `BYTES input ${input.name} must have shape [N] or [N, 1] with N base64 strings, not shape ${shapeText(input.shape)}`,
    );
  }
  if (n > maxImages) throw tooMany(input, n, maxImages);
  const { rows, nested } = tensorRows(input);
  // The same early bound as the decoder's.
  const maxChars = maxBase64Length(maxImageBytes);
  const elements: Base64Image[] = [];
  for (const row of rows) {
    for (const v of row) {
      const i = elements.length;
      const field = `${input.name}[${i}]`;
      if (typeof v !== 'string') {
        if (Array.isArray(v)) throw tooDeep(input, i, nested);
        throw new InvalidInputError(`BYTES input ${input.name}: element ${i} must be a base64 string`);
      }
      // A large element arrives as the body's bytes (json-body.ts), moved to the decode worker, never a V8 string.
      const bytes = largeJsonString(largeStrings, v);
      const length = bytes ? bytes.length : v.length;
      if (length === 0) throw new InvalidInputError(`${field} is empty`);
      if (length > maxChars) {
        throw new ImageTooLargeError(`${field} is larger than the limit of ${maxImageBytes} bytes`);
      }
      const head = bytes
        ? Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(64, bytes.length)).toString('latin1')
        : v.slice(0, 64);
      if (base64HeadIsInvalid(head)) throw new InvalidInputError(`${field} is not valid base64`);
      elements.push(bytes ? { base64: bytes, transfer: true, field } : { base64: v, field });
    }
  }
  return elements;
}

/** One image's answer: the model's output row and, when asked for, its top-k. */
interface ImageAnswer {
  scores: Float32Array;
  topK: { index: number; label: string; probability: number }[];
  batchSize: number;
}

/**
 * Classifies the images of one request, a few at a time: at most two per decode worker are sent at once (enough to
 * keep each one busy, so a good request is no slower), and none after the first failure, so a request with a bad
 * element does not leave the workers decoding the rest of it for nobody while the next requests wait. Settles only
 * when nothing it sent is still running.
 */
async function classifyAll(
  classifier: ImageClassifier,
  images: readonly (Base64Image | { tensor: Float32Array })[],
  topK: number,
): Promise<ImageAnswer[]> {
  const answers: ImageAnswer[] = new Array(images.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < images.length) {
      const i = next++;
      try {
        const r = await classifier.classify(images[i] as Base64Image, { topK, includeScores: true });
        answers[i] = {
          scores: r.scores as Float32Array,
          topK: r.predictions,
          batchSize: r.timings.batchSize,
        };
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  // Ready tensors need no decoding: all of them at once, so they share batches.
  const encoded = images.some((image) => !('tensor' in image));
  const lanes = encoded ? Math.min(images.length, 2 * Math.max(1, classifier.workers)) : images.length;
  await Promise.all(Array.from({ length: lanes }, lane));
  if (failure) throw failure.error;
  return answers;
}

/**
 * A route's `onRequest` hook: only JSON is an OIP v2 infer body. Checked before the body is read, as the server's
 * parsers for `/predict` (raw bytes, multipart, text) would otherwise hand the route something the schema can
 * only call "body must be object" (400).
 */
async function requireJson(request: FastifyRequest): Promise<void> {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new ServerError(
      'UNSUPPORTED_MEDIA_TYPE',
      `send application/json (the OIP v2 JSON tensor format), not ${type ? type : 'a body without a content type'}`,
    );
  }
}

/** A request that names a model: `/v2/models/{name}` and `/v2/models/{name}/versions/{version}`. */
type ModelParams = { name: string; version?: string };

/** The classifier, when `name` (and `version`, if given) is the model this server serves; else 404. */
function modelFor(ctx: RouteContext, name: string, version?: string): ImageClassifier {
  if (name !== ctx.config.modelName || (version !== undefined && version !== MODEL_VERSION)) {
    throw new ServerError(
      'MODEL_NOT_FOUND',
      `no model ${JSON.stringify(name)}${version ? ` version ${JSON.stringify(version)}` : ''}; this server serves ${JSON.stringify(ctx.config.modelName)} version ${MODEL_VERSION}`,
    );
  }
  return ctx.classifier.require();
}

/** The classifier when the server is ready; 503 while draining for a shutdown (KServe then stops routing here). */
function requireReady(ctx: RouteContext): ImageClassifier {
  if (ctx.draining()) {
    throw new ShuttingDownError('the server is shutting down: requests are still served until it closes');
  }
  return ctx.classifier.require();
}

/**
 * The `outputs` a request asks for, checked against the model's one output: each asked for once, and the
 * classification extension's `k` when given. Returns that `k` (undefined: the raw output tensor).
 */
function classificationAsked(m: ModelInfo, outputs: OipInferRequest['outputs']): number | undefined {
  let classification: number | undefined;
  const asked = new Set<string>();
  for (const out of outputs ?? []) {
    if (out.name !== m.outputName) {
      throw new InvalidInputError(
        `unknown output ${JSON.stringify(out.name)}; the model's output is ${JSON.stringify(m.outputName)}`,
      );
    }
    // Twice with different parameters would leave one of them silently ignored.
    if (asked.has(out.name)) {
      throw new InvalidInputError(
        `output ${JSON.stringify(out.name)} is asked for more than once; ask for each output once`,
      );
    }
    asked.add(out.name);
    const k = out.parameters?.classification;
    if (k !== undefined) {
      if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > m.numClasses) {
        throw new InvalidInputError(`parameters.classification must be an integer from 1 to ${m.numClasses}`);
      }
      classification = k;
    }
  }
  return classification;
}

/**
 * The encoded images of a BYTES input, or undefined for an FP32 input: everything that can be checked without
 * decoding is checked here, before any work starts.
 */
function checkInput(
  largeStrings: LargeJsonStrings | null,
  input: OipTensor,
  m: ModelInfo,
  maxImages: number,
  maxImageBytes: number,
): Base64Image[] | undefined {
  if (input.datatype === 'FP32') {
    checkFp32Input(m, input, maxImages);
    return undefined;
  }
  if (input.datatype === 'BYTES') return bytesElements(largeStrings, input, maxImages, maxImageBytes);
  throw new InvalidInputError(
    `datatype ${JSON.stringify(input.datatype)} is not supported; send FP32 or BYTES`,
  );
}

/** The output tensor of a reply: Triton's classification strings for `k`, else the model's raw output. */
function outputTensor(
  m: ModelInfo,
  answers: readonly ImageAnswer[],
  classification: number | undefined,
): OipTensor {
  const n = answers.length;
  if (classification !== undefined) {
    return {
      name: m.outputName,
      datatype: 'BYTES',
      shape: [n, classification],
      data: answers.flatMap((r) => r.topK.map((p) => `${p.probability}:${p.index}:${p.label}`)),
    };
  }
  const data: number[] = [];
  for (const r of answers) for (const v of r.scores) data.push(v);
  return { name: m.outputName, datatype: 'FP32', shape: [n, m.numClasses], data };
}

/** The handler of `POST /v2/models/{name}[/versions/{version}]/infer`. */
function inferHandler(ctx: RouteContext, maxImages: number) {
  return async (
    request: FastifyRequest<{ Params: ModelParams; Body: OipInferRequest }>,
    reply: FastifyReply,
  ): Promise<OipInferReply> => {
    const { name, version } = request.params;
    const classifier = modelFor(ctx, name, version);
    const body = request.body;
    if (body.inputs.length !== 1) {
      throw new InvalidInputError(`send exactly one input tensor, not ${body.inputs.length}`);
    }
    const input = body.inputs[0] as OipTensor;
    const m = classifier.model;
    const classification = classificationAsked(m, body.outputs);
    const encoded = checkInput(request.largeJsonStrings, input, m, maxImages, ctx.config.maxImageBytes);
    // A slot for the CPU work (given back if the body was slow to arrive).
    await request.intakePass?.reclaim();
    const images = encoded ?? imagesFromFp32(m, input).map((tensor) => ({ tensor }));
    const answers = await classifyAll(classifier, images, classification ?? 1);
    return {
      model_name: name,
      model_version: MODEL_VERSION,
      ...(body.id !== undefined ? { id: body.id } : {}),
      parameters: { batch_sizes: answers.map((r) => r.batchSize), total_ms: reply.elapsedTime },
      outputs: [outputTensor(m, answers, classification)],
    };
  };
}

/** Registers the OIP v2 routes. */
export function registerOipRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  options: OipRouteOptions = {},
): void {
  const maxImages = options.maxImagesPerRequest ?? DEFAULT_MAX_IMAGES_PER_REQUEST;
  const publicRoute = { public: ctx.config.publicHealth };
  // OIP errors are `{ error: message }` (sendError reads `oip` from the route config).
  const oip = { oip: true };
  const errorReplies = { '4xx': { $ref: 'mtailor.oip-error#' }, '5xx': { $ref: 'mtailor.oip-error#' } };

  const serverMetadata = async () => ({
    name: 'mtailor',
    version: SERVER_VERSION,
    extensions: ['classification'],
  });
  app.get('/v2', { config: oip }, serverMetadata);
  app.get('/v2/', { config: oip }, serverMetadata);
  app.get('/v2/health/live', { config: { ...publicRoute, ...oip } }, async () => ({ live: true }));
  app.get('/v2/health/ready', { config: { ...publicRoute, ...oip } }, async () => {
    requireReady(ctx);
    return { ready: true };
  });

  for (const prefix of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get<{ Params: ModelParams }>(prefix, { config: oip }, async (request) => {
      const { name, version } = request.params;
      return modelMetadata(modelFor(ctx, name, version), name);
    });
    app.get<{ Params: ModelParams }>(`${prefix}/ready`, { config: oip }, async (request) => {
      const { name, version } = request.params;
      modelFor(ctx, name, version);
      requireReady(ctx);
      return { name, ready: true };
    });
    app.post<{ Params: ModelParams; Body: OipInferRequest }>(
      `${prefix}/infer`,
      {
        config: oip,
        bodyLimit: ctx.config.maxBodyBytes,
        onRequest: requireJson,
        preParsing: intakeHook({
          gate: ctx.intake,
          budget: ctx.bodies,
          bodyLimit: ctx.config.maxBodyBytes,
          bodyTimeoutMs: ctx.config.bodyTimeoutMs,
        }),
        schema: { body: inferBodySchema, response: errorReplies },
      },
      inferHandler(ctx, maxImages),
    );
  }
}
