/**
 * The request-id policy, in one place: a request's `X-Request-Id` becomes its id (in logs, the reply header and
 * `/predict`'s `run_id`) when it is a sane token, else the server makes a UUID.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';

/** What a client's `X-Request-Id` may be: 1–128 of `A–Z a–z 0–9 . _ : -`. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's `genReqId`: the request's `X-Request-Id` if it is a sane token, else a new UUID. */
export function requestIdFor(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * The run id of a request: its `X-Request-Id` if it is a sane token, else Fastify's request id (the same unless
 * the plugin is mounted in an app with its own `genReqId`).
 */
export function runIdOf(request: FastifyRequest): string {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : String(request.id);
}
