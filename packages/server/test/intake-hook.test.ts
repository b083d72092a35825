/**
 * The intake hook in a small Fastify app on 127.0.0.1: what it hands Fastify's parser (the body and the length
 * received on the wire) and what it gives back to the memory budget when a body is refused.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyBudget, decorateIntake, IntakeGate, intakeHook } from '@mtailor/server/internal';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, expect, it } from 'vitest';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function gatedApp(bodyLimit: number) {
  const gate = new IntakeGate({ maxActive: 2, maxQueue: 8 });
  const budget = new BodyBudget(1024 * 1024);
  app = Fastify();
  decorateIntake(app);
  // What the parser is handed: the stream's receivedEncodedLength and its bytes.
  app.addContentTypeParser('application/x-probe', (_request, payload, done) => {
    const chunks: Buffer[] = [];
    payload.on('data', (c: Buffer) => chunks.push(c));
    payload.on('end', () =>
      done(null, {
        receivedEncodedLength: (payload as { receivedEncodedLength?: number }).receivedEncodedLength,
        bytes: Buffer.concat(chunks).length,
      }),
    );
  });
  app.post(
    '/in',
    { bodyLimit, preParsing: intakeHook({ gate, budget, bodyLimit, bodyTimeoutMs: 10_000 }) },
    async (request) => ({ ...(request.body as object), holding: request.intakePass?.holding }),
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { gate, budget, port };
}

it('hands the parser the buffered body with the length received on the wire', async () => {
  const { port, gate, budget } = await gatedApp(1024 * 1024);
  const body = Buffer.alloc(300_000, 7);
  const res = await fetch(`http://127.0.0.1:${port}/in`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-probe' },
    body,
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ receivedEncodedLength: 300_000, bytes: 300_000, holding: true });
  await new Promise((r) => setTimeout(r, 50));
  expect([gate.inProgress, gate.active, budget.bufferedBytes]).toEqual([0, 0, 0]);
});

it('a chunked body that outgrows the limit is 413 and gives back exactly the bytes it counted', async () => {
  const { port, gate, budget } = await gatedApp(100_000);
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/in',
        method: 'POST',
        headers: { 'content-type': 'application/x-probe' },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    // No Content-Length: chunked, 64 KB at a time, past the 100 000-byte limit.
    for (let i = 0; i < 3; i++) req.write(Buffer.alloc(64 * 1024, 1));
    req.end();
  });
  expect(status).toBe(413);
  for (let i = 0; i < 50 && gate.inProgress > 0; i++) await new Promise((r) => setTimeout(r, 20));
  // Not negative: the chunk that crossed the limit was never counted, so it is not given back either.
  expect([gate.inProgress, budget.bufferedBytes, budget.reading]).toEqual([0, 0, 0]);
});
