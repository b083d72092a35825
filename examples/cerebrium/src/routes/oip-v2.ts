/**
 * The Open Inference Protocol v2 REST API (KServe v2 / Triton), so KServe and Triton clients can call the model:
 * server and model metadata, liveness and readiness, and `infer` with JSON tensors — FP32 `[N, 3, H, W]` (or
 * `[N, H, W, 3]` for NHWC models; data flat or nested) or BYTES `[N]` holding base64-encoded images (KServe's
 * JSON convention for binary BYTES elements). The output is the model's own output tensor (logits `[N, classes]`);
 * asking for it with `parameters: { classification: k }` returns Triton's classification extension instead:
 * BYTES `[N, k]` of `"score:index:label"`.
 *
 * One deviation, for a single error shape across the server: errors are `{ error: { code, message } }`, where the
 * spec's example has `{ error: "message" }`; clients that print `error` still print something useful.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.js';
import { HttpError } from '../http-errors.js';
import type { ImageBytesInput, InferenceEngine } from '../inference/engine.js';
import { intakeHook, intakePassOf } from '../intake-gate.js';
import { largeJsonString } from '../json-body.js';
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

/** Flattens nested JSON arrays (row-major), as the spec allows for tensor data. */
function flatten(data: unknown[], out: unknown[] = []): unknown[] {
  for (const item of data) {
    if (Array.isArray(item)) flatten(item, out);
    else out.push(item);
  }
  return out;
}

const product = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

function modelMetadata(engine: InferenceEngine) {
  const m = engine.model;
  const imageShape =
    m.inputLayout === 'NCHW' ? [3, m.inputHeight, m.inputWidth] : [m.inputHeight, m.inputWidth, 3];
  const batch = m.batchDim === 'dynamic' ? -1 : m.batchDim;
  return {
    name: m.name,
    versions: [MODEL_VERSION],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: m.inputName, datatype: 'FP32', shape: [batch, ...imageShape] }],
    outputs: [{ name: m.outputName, datatype: 'FP32', shape: [batch, m.numClasses] }],
    parameters: {
      sha256: m.sha256,
      layout: m.inputLayout,
      max_batch_size: m.maxBatchSize,
      bytes_input: 'also accepted: a BYTES tensor [N] of base64-encoded images (any input name)',
    },
  };
}

function imagesFromFp32(engine: InferenceEngine, input: OipTensor): Float32Array[] {
  const m = engine.model;
  const expected =
    m.inputLayout === 'NCHW' ? [3, m.inputHeight, m.inputWidth] : [m.inputHeight, m.inputWidth, 3];
  const [n, ...rest] = input.shape;
  if (n === undefined || n < 1 || rest.length !== 3 || rest.some((d, i) => d !== expected[i])) {
    throw new HttpError(
      400,
      'INVALID_INPUT',
      `FP32 input ${input.name} must have shape [N, ${expected.join(', ')}] (${m.inputLayout}), not [${input.shape.join(', ')}]`,
    );
  }
  if (input.name !== m.inputName) {
    throw new HttpError(
      400,
      'INVALID_INPUT',
      `unknown FP32 input ${JSON.stringify(input.name)}; the model's input is ${JSON.stringify(m.inputName)}`,
    );
  }
  const flat = flatten(input.data);
  if (flat.length !== product(input.shape)) {
    throw new HttpError(
      400,
      'INVALID_INPUT',
      `input ${input.name} has ${flat.length} values; shape [${input.shape.join(', ')}] needs ${product(input.shape)}`,
    );
  }
  const per = m.elementsPerImage;
  const images: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const img = new Float32Array(per);
    for (let j = 0; j < per; j++) {
      const v = flat[i * per + j];
      if (typeof v !== 'number') {
        throw new HttpError(
          400,
          'INVALID_INPUT',
          `input ${input.name}: element ${i * per + j} is not a number`,
        );
      }
      img[j] = v;
    }
    images.push(img);
  }
  return images;
}

function bytesElements(body: unknown, input: OipTensor): ImageBytesInput[] {
  const flat = flatten(input.data);
  const n = input.shape[0];
  if (n === undefined || n < 1 || product(input.shape) !== n || flat.length !== n) {
    throw new HttpError(
      400,
      'INVALID_INPUT',
      `BYTES input ${input.name} must have shape [N] or [N, 1] with N base64 strings, not shape [${input.shape.join(', ')}] with ${flat.length} elements`,
    );
  }
  return flat.map((v, i) => {
    if (typeof v !== 'string') {
      throw new HttpError(
        400,
        'INVALID_INPUT',
        `BYTES input ${input.name}: element ${i} must be a base64 string`,
      );
    }
    const field = `${input.name}[${i}]`;
    // A large element arrives as the body's bytes (json-body.ts), moved to the decode worker, never a V8 string.
    const bytes = largeJsonString(body, v);
    return bytes ? { base64: bytes, transfer: true, field } : { base64: v, field };
  });
}

/** Registers the OIP v2 routes. */
export function registerOipRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const publicRoute = { public: ctx.config.publicHealth };
  const errorReplies = { '4xx': { $ref: 'mtailor.error#' }, '5xx': { $ref: 'mtailor.error#' } };

  const modelFor = (name: string, version?: string): InferenceEngine => {
    if (name !== ctx.config.modelName || (version !== undefined && version !== MODEL_VERSION)) {
      throw new HttpError(
        404,
        'MODEL_NOT_FOUND',
        `no model ${JSON.stringify(name)}${version ? ` version ${JSON.stringify(version)}` : ''}; this server serves ${JSON.stringify(ctx.config.modelName)} version ${MODEL_VERSION}`,
      );
    }
    return ctx.engine.require();
  };

  app.get('/v2', async () => ({ name: 'mtailor', version: SERVER_VERSION, extensions: ['classification'] }));
  app.get('/v2/health/live', { config: publicRoute }, async () => ({ live: true }));
  app.get('/v2/health/ready', { config: publicRoute }, async () => {
    ctx.engine.require();
    return { ready: true };
  });

  type ModelParams = { name: string; version?: string };
  for (const prefix of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get<{ Params: ModelParams }>(prefix, async (request) => {
      const { name, version } = request.params;
      return modelMetadata(modelFor(name, version));
    });
    app.get<{ Params: ModelParams }>(`${prefix}/ready`, async (request) => {
      const { name, version } = request.params;
      if (name !== ctx.config.modelName || (version !== undefined && version !== MODEL_VERSION))
        modelFor(name, version);
      ctx.engine.require();
      return { name, ready: true };
    });
    app.post<{ Params: ModelParams; Body: OipInferRequest }>(
      `${prefix}/infer`,
      {
        bodyLimit: ctx.config.maxBodyBytes,
        preParsing: intakeHook(ctx.intake, ctx.config.maxBodyBytes, ctx.config.slowBodyMs),
        schema: { body: inferBodySchema, response: errorReplies },
      },
      async (request, reply) => {
        const { name, version } = request.params;
        const engine = modelFor(name, version);
        const body = request.body;
        if (body.inputs.length !== 1) {
          throw new HttpError(
            400,
            'INVALID_INPUT',
            `send exactly one input tensor, not ${body.inputs.length}`,
          );
        }
        const input = body.inputs[0] as OipTensor;
        const m = engine.model;
        let classification: number | undefined;
        for (const out of body.outputs ?? []) {
          if (out.name !== m.outputName) {
            throw new HttpError(
              400,
              'INVALID_INPUT',
              `unknown output ${JSON.stringify(out.name)}; the model's output is ${JSON.stringify(m.outputName)}`,
            );
          }
          const k = out.parameters?.classification;
          if (k !== undefined) {
            if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > m.numClasses) {
              throw new HttpError(
                400,
                'INVALID_INPUT',
                `parameters.classification must be an integer from 1 to ${m.numClasses}`,
              );
            }
            classification = k;
          }
        }
        // A slot for the CPU work (given back if the body was slow to arrive).
        await intakePassOf(request)?.reclaim();
        const logits = await engine.admit(async () => {
          let tensors: Float32Array[];
          if (input.datatype === 'FP32') {
            tensors = imagesFromFp32(engine, input);
          } else if (input.datatype === 'BYTES') {
            const encoded = bytesElements(body, input);
            tensors = (await Promise.all(encoded.map((b) => engine.prepare(b)))).map((p) => p.tensor);
          } else {
            throw new HttpError(
              400,
              'INVALID_INPUT',
              `datatype ${JSON.stringify(input.datatype)} is not supported; send FP32 or BYTES`,
            );
          }
          return Promise.all(tensors.map((t) => engine.infer(t)));
        });
        const n = logits.length;
        let output: OipTensor;
        if (classification !== undefined) {
          const k = classification;
          output = {
            name: m.outputName,
            datatype: 'BYTES',
            shape: [n, k],
            data: logits.flatMap((r) =>
              engine.predictions(r.logits, k).map((p) => `${p.confidence}:${p.class_id}:${p.label}`),
            ),
          };
        } else {
          const data: number[] = [];
          for (const r of logits) for (const v of r.logits) data.push(v);
          output = { name: m.outputName, datatype: 'FP32', shape: [n, m.numClasses], data };
        }
        const answer: OipInferReply = {
          model_name: m.name,
          model_version: MODEL_VERSION,
          ...(body.id !== undefined ? { id: body.id } : {}),
          parameters: {
            batch_sizes: logits.map((r) => r.batchSize),
            total_ms: reply.elapsedTime,
          },
          outputs: [output],
        };
        return answer;
      },
    );
  }
}
