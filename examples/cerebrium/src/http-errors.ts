/**
 * The one error shape every route answers with, `{ error: { code, message } }`, and the mapping of
 * `@mtailor/core`'s error codes and Fastify's own errors onto HTTP statuses.
 * @module
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** Stable codes of errors the server itself raises (core's codes pass through unchanged). */
export type ServerErrorCode =
  | 'BAD_REQUEST'
  | 'INVALID_INPUT'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'MODEL_NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INVALID_URL'
  | 'URL_SCHEME_NOT_ALLOWED'
  | 'URL_FORBIDDEN_ADDRESS'
  | 'URL_FETCH_FAILED'
  | 'URL_TOO_MANY_REDIRECTS'
  | 'URL_CONTENT_TYPE'
  | 'URL_TIMEOUT'
  | 'TEST_MODE_MISMATCH'
  | 'NOT_READY'
  | 'OVERLOADED'
  | 'CLIENT_CLOSED'
  | 'REQUEST_TIMEOUT'
  | 'HEADERS_TOO_LARGE'
  | 'SHUTTING_DOWN'
  | 'INFERENCE_TIMEOUT'
  | 'INTERNAL';

/** The JSON body of every error reply. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** An error with the HTTP status and stable code it is answered with. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ServerErrorCode | string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpError';
  }
}

/** HTTP status of each `@mtailor/core` error code. */
const CORE_STATUS: Record<string, number> = {
  // Raised by our own code inside a worker thread (base64 decoding) and rebuilt on the main thread by code.
  INVALID_INPUT: 400,
  UNSUPPORTED_IMAGE: 415,
  INVALID_IMAGE: 422,
  IMAGE_TOO_LARGE: 413,
  INVALID_OPTION: 400,
  INFERENCE_FAILED: 500,
  MODEL_LOAD_FAILED: 503,
  MODEL_SHAPE: 503,
  INVALID_MANIFEST: 503,
  DISPOSED: 503,
};

/** Fastify's own error codes (body parsing, validation, routing) and what we answer. */
const FASTIFY_STATUS: Record<string, [number, ServerErrorCode]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE'],
  FST_REQ_FILE_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE'],
  FST_PARTS_LIMIT: [413, 'PAYLOAD_TOO_LARGE'],
  FST_FILES_LIMIT: [400, 'BAD_REQUEST'],
  FST_FIELDS_LIMIT: [413, 'PAYLOAD_TOO_LARGE'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'BAD_REQUEST'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'BAD_REQUEST'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'BAD_REQUEST'],
  FST_ERR_CTP_EMPTY_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_INVALID_MULTIPART_CONTENT_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_VALIDATION: [400, 'INVALID_INPUT'],
};

/** Status and body for any thrown value. Unknown errors become 500 `INTERNAL` without their message or stack. */
export function toErrorReply(err: unknown): { statusCode: number; body: ErrorBody; internal: boolean } {
  if (err instanceof HttpError) {
    return {
      statusCode: err.statusCode,
      body: { error: { code: err.code, message: err.message } },
      internal: false,
    };
  }
  const e = err as {
    code?: unknown;
    statusCode?: unknown;
    message?: unknown;
    validation?: unknown;
    name?: unknown;
  };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : 'error';
  if (code !== undefined && CORE_STATUS[code] !== undefined && e.name !== 'FastifyError') {
    const statusCode = CORE_STATUS[code] ?? 500;
    return { statusCode, body: { error: { code, message } }, internal: statusCode >= 500 };
  }
  if (code !== undefined && FASTIFY_STATUS[code] !== undefined) {
    const [statusCode, ourCode] = FASTIFY_STATUS[code] ?? [400, 'BAD_REQUEST'];
    return { statusCode, body: { error: { code: ourCode, message } }, internal: false };
  }
  if (e?.validation !== undefined) {
    return { statusCode: 400, body: { error: { code: 'INVALID_INPUT', message } }, internal: false };
  }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const fallback: ServerErrorCode =
      status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
    return { statusCode: status, body: { error: { code: fallback, message } }, internal: false };
  }
  return {
    statusCode: 500,
    body: { error: { code: 'INTERNAL', message: 'internal error (see the server log for this request id)' } },
    internal: true,
  };
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

/**
 * A whole HTTP/1.1 error response (status line, headers, JSON body, `Connection: close`) as text, for the few
 * places that must write to the socket themselves because no Fastify reply can be sent there.
 */
export function rawErrorResponse(err: HttpError): string {
  const body = JSON.stringify({ error: { code: err.code, message: err.message } } satisfies ErrorBody);
  const reason = STATUS_CODES[err.statusCode] ?? 'Error';
  return (
    `HTTP/1.1 ${err.statusCode} ${reason}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
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
      ? new HttpError(408, 'REQUEST_TIMEOUT', 'the request was not received in time')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new HttpError(431, 'HEADERS_TOO_LARGE', 'the request headers are too large')
        : new HttpError(400, 'BAD_REQUEST', 'malformed HTTP request');
  if (socket.writable) socket.write(rawErrorResponse(reply));
  socket.destroy(err);
}
