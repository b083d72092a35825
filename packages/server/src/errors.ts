/**
 * Errors as replies: the one table from error code to HTTP status, the one error shape `{ error: { code, message } }`
 * (OIP v2 routes: `{ error: message }`, as KServe specifies), and Fastify's and Node's own errors mapped onto them.
 * @module
 */
import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { MtailorError, type MtailorErrorCode } from '@mtailor/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { lingerAfterReply } from './lingering-close.js';

/**
 * The one table from error code to HTTP status — `@mtailor/core`'s codes and the server's own. Everything below the
 * routes throws coded errors and knows nothing of HTTP; this table alone decides the status (like Fastify's
 * `lib/errors.js`).
 */
export const STATUS_BY_CODE = {
  // @mtailor/core
  INVALID_OPTION: 400,
  INVALID_INPUT: 400,
  UNSUPPORTED_IMAGE: 415,
  INVALID_IMAGE: 422,
  IMAGE_TOO_LARGE: 413,
  IMAGE_READ_FAILED: 500,
  OVERLOADED: 503,
  NOT_READY: 503,
  SHUTTING_DOWN: 503,
  INFERENCE_FAILED: 500,
  MODEL_LOAD_FAILED: 503,
  EXTERNAL_DATA_MISSING: 503,
  EXTERNAL_DATA_PATH: 503,
  MODEL_SHAPE: 503,
  INVALID_MANIFEST: 503,
  DISPOSED: 503,
  // the server
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  EXPECTATION_FAILED: 417,
  HEADERS_TOO_LARGE: 431,
  CLIENT_CLOSED: 499,
  INVALID_URL: 400,
  URL_SCHEME_NOT_ALLOWED: 400,
  URL_FORBIDDEN_ADDRESS: 400,
  URL_CONTENT_TYPE: 415,
  URL_FETCH_FAILED: 502,
  URL_TOO_MANY_REDIRECTS: 502,
  URL_TIMEOUT: 504,
  TEST_MODE_MISMATCH: 503,
  INTERNAL: 500,
} as const satisfies Record<MtailorErrorCode, number> & Record<string, number>;

/** Every error code a reply can carry. */
export type ErrorCode = keyof typeof STATUS_BY_CODE;

/** Codes of errors the server itself raises (core's codes pass through unchanged). */
export type ServerErrorCode = Exclude<ErrorCode, MtailorErrorCode>;

/** The JSON body of every error reply (the OIP v2 routes use {@link OipErrorBody}). */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** An error the server raises, with its stable code; the status comes from {@link STATUS_BY_CODE}. */
export class ServerError extends Error {
  readonly code: ServerErrorCode;
  constructor(code: ServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServerError';
    this.code = code;
  }

  /** The HTTP status it is answered with. */
  get statusCode(): number {
    return STATUS_BY_CODE[this.code];
  }
}

/** An error of ours or of `@mtailor/core`: it carries its stable code. */
export type CodedError = ServerError | MtailorError;

/** A coded error of ours or of `@mtailor/core`: it already says what went wrong, and is answered as it is. */
export function isCodedError(err: unknown): err is CodedError {
  return err instanceof ServerError || err instanceof MtailorError;
}

/** Fastify's own error codes (body parsing, validation, routing) and the code we answer them with. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_REQ_FILE_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_PARTS_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_FILES_LIMIT: 'BAD_REQUEST',
  FST_FIELDS_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_VALIDATION: 'INVALID_INPUT',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
};

const isKnownCode = (code: string): code is ErrorCode => Object.hasOwn(STATUS_BY_CODE, code);

/**
 * Code, status and message for any thrown value: coded errors (core's and ours) by the table, Fastify's by their
 * code; anything else is 500 `INTERNAL` without its message or stack (`internal: true`: log it).
 */
export function toErrorReply(err: unknown): {
  statusCode: number;
  code: ErrorCode;
  message: string;
  internal: boolean;
} {
  const e = err as {
    code?: unknown;
    statusCode?: unknown;
    message?: unknown;
    validation?: unknown;
    name?: unknown;
  };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : 'error';
  if (isCodedError(err) && code !== undefined && isKnownCode(code)) {
    const statusCode = STATUS_BY_CODE[code];
    return { statusCode, code, message, internal: statusCode >= 500 && statusCode !== 503 };
  }
  if (code !== undefined && FASTIFY_CODES[code] !== undefined) {
    const ours = FASTIFY_CODES[code] as ErrorCode;
    return { statusCode: STATUS_BY_CODE[ours], code: ours, message, internal: false };
  }
  if (e?.validation !== undefined)
    return { statusCode: 400, code: 'INVALID_INPUT', message, internal: false };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const fallback: ServerErrorCode =
      status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
    return { statusCode: STATUS_BY_CODE[fallback], code: fallback, message, internal: false };
  }
  return {
    statusCode: 500,
    code: 'INTERNAL',
    message: 'internal error (see the server log for this request id)',
    internal: true,
  };
}

/** The `{ error: { code, message } }` body of {@link toErrorReply}'s result. */
export function errorBody(reply: { code: string; message: string }): ErrorBody {
  return { error: { code: reply.code, message: reply.message } };
}

/** The error body of the OIP v2 routes, as KServe's `rest_predict_v2.yaml` specifies it: one message string. */
export interface OipErrorBody {
  error: string;
}

/** JSON schema of {@link ErrorBody}, used in every route's reply schemas. */
export const errorBodySchema = {
  $id: 'mtailor.error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

/** JSON schema of {@link OipErrorBody}, used in the OIP v2 routes' reply schemas. */
export const oipErrorBodySchema = {
  $id: 'mtailor.oip-error',
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string' } },
} as const;

/**
 * Whether an error reply to `request` takes OIP v2's `{ error: message }` shape: on an OIP route (route config
 * `oip`), and — when `unmatchedUnder` is given (the not-found handlers) — on any URL under `<unmatchedUnder>/v2`
 * that matched no route or was refused before routing (a malformed URL, an over-long path parameter), so a KServe
 * client reads every `/v2` reply the same way.
 */
export function repliesInOipShape(request: FastifyRequest, unmatchedUnder?: string): boolean {
  if (request.routeOptions?.config?.oip === true) return true;
  return unmatchedUnder !== undefined && isOipUrl(request.url, unmatchedUnder);
}

/** Whether a request URL is under `<prefix>/v2` (query ignored). */
export function isOipUrl(url: string, prefix = ''): boolean {
  const path = url.split('?')[0] ?? '';
  const under =
    prefix === '' || prefix === '/' ? path : path.startsWith(prefix) ? path.slice(prefix.length) : '';
  return under === '/v2' || under.startsWith('/v2/');
}

/** The JSON body of an error reply: `{ error: { code, message } }`, or OIP's `{ error: message }`. */
export function errorPayload(
  error: { code: string; message: string },
  oip: boolean,
): ErrorBody | OipErrorBody {
  return oip ? { error: error.message } : errorBody(error);
}

/** Options of {@link sendError}. */
export interface SendErrorOptions {
  /**
   * For a request that matched no route: where the inference plugin is mounted ('' at the root), so URLs under
   * `<prefix>/v2` answer in OIP's shape ({@link repliesInOipShape}).
   */
  unmatchedUnder?: string;
}

/**
 * Sends the error reply for any thrown value — the one place every error reply of the server is shaped: status and
 * code from {@link toErrorReply} (the one table), the code in `X-Error-Code`, `WWW-Authenticate` on a 401, the body
 * `{ error: { code, message } }` or OIP's `{ error: message }` ({@link repliesInOipShape}), and a log line (an
 * internal error with its stack; the others with their cause, which the client does not see). A request refused
 * before its body was read (413, 503 `OVERLOADED`) closes its connection instead of reading that body — work an
 * overloaded server should not do — with a lingering close, so a client still sending reads the status.
 *
 * @example
 * ```ts
 * app.setErrorHandler((err, request, reply) => sendError(reply, err));
 * ```
 */
export function sendError(reply: FastifyReply, err: unknown, options: SendErrorOptions = {}): FastifyReply {
  const error = toErrorReply(err);
  const { statusCode, code, message } = error;
  const request = reply.request;
  if (error.internal) request.log.error({ err }, 'request failed');
  else request.log.info({ code, statusCode, cause: (err as Error | undefined)?.cause }, message);
  if (statusCode === 401) reply.header('www-authenticate', 'Bearer');
  if (code === 'OVERLOADED' || statusCode === 413) {
    reply.header('connection', 'close');
    lingerAfterReply(reply.raw);
  }
  reply.code(statusCode).type('application/json').header('x-error-code', code);
  return reply.send(errorPayload(error, repliesInOipShape(request, options.unmatchedUnder)));
}

/** The error for a URL that matched no route. */
export function notFound(request: FastifyRequest): ServerError {
  return new ServerError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
}

/**
 * A whole HTTP/1.1 error response (status line, headers, JSON body, `Connection: close`) as text, for the few
 * places that must write to the socket themselves because no Fastify reply can be sent there; `oip` for a request
 * under `/v2` ({@link isOipUrl}).
 */
export function rawErrorResponse(err: ServerError, oip = false): string {
  const body = JSON.stringify(errorPayload(err, oip));
  const reason = STATUS_CODES[err.statusCode] ?? 'Error';
  return (
    `HTTP/1.1 ${err.statusCode} ${reason}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nX-Error-Code: ${err.code}\r\nConnection: close\r\n\r\n${body}`
  );
}

/**
 * Sends `err` on a Node response that no Fastify reply wraps (Node's `checkExpectation` event), in the one shape,
 * with its code in `X-Error-Code`, and closes the connection.
 */
export function sendRawError(res: ServerResponse, err: ServerError): void {
  const body = JSON.stringify(errorBody(err));
  res.writeHead(err.statusCode, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-error-code': err.code,
    connection: 'close',
  });
  res.end(body);
}

/**
 * Answers what Node rejects before Fastify sees a request — malformed HTTP (400 `BAD_REQUEST`), headers over
 * Node's size limit (431 `HEADERS_TOO_LARGE`), headers not received within Node's `headersTimeout` (408
 * `REQUEST_TIMEOUT`) — in the one error shape, then closes the connection (as Node and Fastify do). Use as
 * Fastify's `clientErrorHandler`.
 */
export function clientErrorReply(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset or already closed connection: nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const reply =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new ServerError('REQUEST_TIMEOUT', 'the request was not received in time')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new ServerError('HEADERS_TOO_LARGE', 'the request headers are too large')
        : new ServerError('BAD_REQUEST', 'malformed HTTP request');
  if (socket.writable) socket.write(rawErrorResponse(reply));
  socket.destroy(err);
}
