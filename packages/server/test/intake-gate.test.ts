/**
 * The intake gate: inference requests beyond `maxActive` wait with their bodies unread, in arrival order; past
 * `maxQueue` they are refused with 503 OVERLOADED; a client that hangs up while waiting gives its place back.
 * Then the same on the real server (raw sockets on 127.0.0.1 hold a slot with a half-sent body), and `/health`
 * answering while libuv's thread pool is completely blocked.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { OverloadedError } from '@mtailor/core';
import { IntakeGate } from '@mtailor/server/internal';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { images, json, postJson, startServer, type TestServer, TOKEN } from '../../../test/support/server.js';

const settle = () => new Promise((r) => setImmediate(r));

// Raw sockets the tests opened: destroyed before their servers close, so a failed test cannot hold one open.
const sockets: net.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

/**
 * Sends the headers and the first 1000 bytes of a `/predict` JSON body over a raw socket, so the request holds an
 * intake slot while "its body is still arriving"; `finish()` sends the rest, `reply` is the raw HTTP answer.
 */
function halfSentRequest(
  serverUrl: string,
  body: string,
): { socket: net.Socket; finish: () => void; reply: Promise<string> } {
  const socket = net.connect(Number(new URL(serverUrl).port), '127.0.0.1');
  sockets.push(socket);
  const bytes = Buffer.from(body);
  socket.write(
    `POST /predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
      `authorization: Bearer ${TOKEN}\r\ncontent-length: ${bytes.length}\r\nconnection: close\r\n\r\n`,
  );
  socket.write(bytes.subarray(0, 1000));
  const reply = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (d) => {
      text += d.toString();
    });
    socket.on('close', () => resolve(text));
  });
  return { socket, finish: () => socket.write(bytes.subarray(1000)), reply };
}

/** Polls `check` every 10 ms until it holds; fails after 5 s. */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached within 5 s');
}

describe('IntakeGate', () => {
  it('admits maxActive at once and the rest in arrival order', async () => {
    const gate = new IntakeGate({ maxActive: 2, maxQueue: 10 });
    const order: number[] = [];
    const a = await gate.enter();
    const b = await gate.enter();
    const waiting = [3, 4, 5].map(async (n) => {
      const pass = await gate.enter();
      order.push(n);
      return pass;
    });
    await settle();
    expect(gate.active).toBe(2);
    expect(gate.waiting).toBe(3);
    expect(order).toEqual([]);
    a.release();
    a.release(); // idempotent: must not admit a second waiter
    await settle();
    expect(order).toEqual([3]);
    expect(gate.active).toBe(2);
    b.release();
    await settle();
    expect(order).toEqual([3, 4]);
    for (const p of await Promise.all(waiting.slice(0, 2))) p.release();
    const last = (await waiting[2]) as Awaited<(typeof waiting)[number]>;
    expect(order).toEqual([3, 4, 5]);
    expect(last.waitedMs).toBeGreaterThanOrEqual(0);
    last.release();
    expect(gate.active).toBe(0);
    expect(gate.waiting).toBe(0);
  });

  it('checks its limits', () => {
    expect(() => new IntakeGate({ maxActive: 0, maxQueue: 10 })).toThrow(
      'Expected positive integer for maxActive but received 0 of type number',
    );
    expect(() => new IntakeGate({ maxActive: 2, maxQueue: 1.5 })).toThrow(/positive integer for maxQueue/);
    expect(() => new IntakeGate({ maxActive: 20, maxQueue: 10 })).toThrow(/at most maxQueue \(10\)/);
  });

  it('refuses with OVERLOADED once maxQueue requests are active or waiting', async () => {
    const gate = new IntakeGate({ maxActive: 1, maxQueue: 3 });
    const first = await gate.enter();
    const queued = [gate.enter(), gate.enter()];
    const refused = await gate.enter().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OverloadedError);
    expect(refused).toMatchObject({ code: 'OVERLOADED' });
    first.release();
    (await queued[0])?.release();
    (await queued[1])?.release();
    expect(gate.active).toBe(0);
  });

  it('maxQueue counts every request in progress, also those whose slot is lent out', async () => {
    const gate = new IntakeGate({ maxActive: 1, maxQueue: 2 });
    const downloading = await gate.enter();
    downloading.release(); // e.g. an image_url download: no slot, still in progress
    const working = await gate.enter();
    expect(gate.active).toBe(1);
    expect(gate.inProgress).toBe(2);
    await expect(gate.enter()).rejects.toMatchObject({ code: 'OVERLOADED' });
    downloading.end();
    expect(gate.inProgress).toBe(1);
    const next = gate.enter(); // room again (it waits for the working one's slot)
    working.end();
    (await next).end();
    expect(gate.inProgress).toBe(0);
    expect(gate.active).toBe(0);
  });

  it('a waiter whose client hangs up leaves the queue; the slot goes to the next one', async () => {
    const gate = new IntakeGate({ maxActive: 1, maxQueue: 10 });
    const holder = await gate.enter();
    const hangUp = new AbortController();
    const gone = gate.enter(hangUp.signal);
    const next = gate.enter();
    await settle();
    expect(gate.waiting).toBe(2);
    hangUp.abort(new Error('client went away'));
    await expect(gone).rejects.toThrow('client went away');
    expect(gate.waiting).toBe(1);
    holder.release();
    const pass = await next;
    expect(gate.active).toBe(1);
    pass.release();
    expect(gate.active).toBe(0);
  });

  it('release() lends the slot to the queue; reclaim() waits behind it and adds to waitedMs', async () => {
    const gate = new IntakeGate({ maxActive: 1, maxQueue: 10 });
    const downloader = await gate.enter();
    downloader.release();
    expect(downloader.holding).toBe(false);
    // While it "downloads", another request gets the only slot; then the downloader wants one back.
    const other = await gate.enter();
    const back = downloader.reclaim();
    await settle();
    expect(downloader.holding).toBe(false);
    expect(gate.waiting).toBe(1);
    setTimeout(() => other.release(), 20);
    await back;
    expect(downloader.holding).toBe(true);
    expect(downloader.waitedMs).toBeGreaterThan(5);
    await downloader.reclaim(); // holding: no-op
    downloader.end();
    expect(gate.active).toBe(0);
  });

  it('end() releases, cancels a pending reclaim, and refuses later ones with CLIENT_CLOSED', async () => {
    const gate = new IntakeGate({ maxActive: 1, maxQueue: 10 });
    const pass = await gate.enter();
    pass.release();
    const holder = await gate.enter();
    const pending = pass.reclaim();
    await settle();
    pass.end();
    await expect(pending).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    await expect(pass.reclaim()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(gate.waiting).toBe(0);
    holder.end();
    holder.end(); // idempotent
    expect(gate.active).toBe(0);
  });
});

describe('the gate on the real server', () => {
  let server: TestServer;
  beforeAll(async () => {
    // The half-sent requests below hold their slot however slow the test machine is.
    server = await startServer({ maxActive: 1, maxQueue: 3, slowBodyMs: 60_000 });
  });
  afterAll(async () => {
    await server?.close();
  });

  const body = JSON.stringify({ image_base64: images.tench.toString('base64'), top_k: 1 });
  const health = async () => json(await fetch(`${server.url}/health`));

  it('queues requests past maxActive, refuses past maxQueue, and serves the queue in order', async () => {
    const holder = halfSentRequest(server.url, body);
    await until(async () => (await health()).intake.active === 1);
    // The holder is reading its body: the next two wait at the gate, the fourth request is one too many.
    const queued = [
      postJson(`${server.url}/predict`, body, { 'x-request-id': 'queued-1' }),
      postJson(`${server.url}/predict`, body, { 'x-request-id': 'queued-2' }),
    ];
    await until(async () => (await health()).intake.waiting === 2);
    const metrics = await (
      await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).text();
    expect(metrics).toMatch(/mtailor_intake_waiting_requests 2/);
    const refused = await postJson(`${server.url}/predict`, body);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('OVERLOADED');
    // Its body was never read: the connection is closed rather than drained.
    expect(refused.headers.get('connection')).toBe('close');

    holder.finish();
    expect(await holder.reply).toMatch(/^HTTP\/1\.1 200[\s\S]*"class_id":0/);
    const [one, two] = await Promise.all(queued);
    expect(one?.status).toBe(200);
    expect(two?.status).toBe(200);
    expect(one?.body.prediction.class_id).toBe(0);
    expect(two?.body.run_id).toBe('queued-2');
    // They waited for the holder: the wait is reported as queue time and inside the total.
    expect(one?.body.timings_ms.queue).toBeGreaterThan(0);
    expect(one?.body.timings_ms.total).toBeGreaterThanOrEqual(one?.body.timings_ms.queue);
    expect((await health()).intake.waiting).toBe(0);
  });

  it('a waiting client that hangs up gives its place back', async () => {
    const holder = halfSentRequest(server.url, body);
    await until(async () => (await health()).intake.active === 1);
    const quitter = halfSentRequest(server.url, body); // waits at the gate (the holder has the slot)
    await until(async () => (await health()).intake.waiting === 1);
    quitter.socket.destroy();
    await until(async () => (await health()).intake.waiting === 0);
    holder.finish();
    expect(await holder.reply).toMatch(/^HTTP\/1\.1 200/);
    // The slot was not leaked: a new request goes straight through.
    const after = await postJson(`${server.url}/predict`, body);
    expect(after.status).toBe(200);
    expect(after.body.prediction.class_id).toBe(0);
  });

  it('Expect: 100-continue — refusals come without the 100; the 100 comes when the request gets its slot', async () => {
    const bytes = Buffer.from(body);
    /** Sends headers with Expect: 100-continue; sends the body only once the server says 100. */
    const expecting = (headers: string) => {
      const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
      sockets.push(socket);
      let text = '';
      let continued = false;
      const reply = new Promise<string>((resolve) => {
        socket.on('data', (d) => {
          text += d.toString();
          if (!continued && /^HTTP\/1\.1 100 Continue\r\n\r\n/.test(text)) {
            continued = true;
            socket.write(bytes);
          }
        });
        socket.on('close', () => resolve(text));
      });
      socket.write(
        `POST /predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nexpect: 100-continue\r\n` +
          `connection: close\r\n${headers}\r\n`,
      );
      return { reply, received: () => text };
    };
    const wrongToken = await expecting(
      `authorization: Bearer wrong-token-0123456789abcdef\r\ncontent-length: ${bytes.length}\r\n`,
    ).reply;
    expect(wrongToken).toMatch(/^HTTP\/1\.1 401 /); // no "100 Continue" first: the body was never asked for
    const tooLarge = await expecting(
      `authorization: Bearer ${TOKEN}\r\ncontent-length: ${server.config.maxBodyBytes + 1}\r\n`,
    ).reply;
    expect(tooLarge).toMatch(/^HTTP\/1\.1 413 /);

    // The only slot is taken: the next request is not told to continue until it gets the slot.
    const holder = halfSentRequest(server.url, body);
    await until(async () => (await health()).intake.active === 1);
    const waiting = expecting(`authorization: Bearer ${TOKEN}\r\ncontent-length: ${bytes.length}\r\n`);
    await until(async () => (await health()).intake.waiting === 1);
    expect(waiting.received()).toBe('');
    holder.finish();
    expect(await holder.reply).toMatch(/^HTTP\/1\.1 200/);
    expect(await waiting.reply).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 [\s\S]*"class_id":0/);
  });

  it('a body still arriving after slowBodyMs gives its slot back; it takes one again once complete', async () => {
    const slowServer = await startServer({ maxActive: 1, maxQueue: 10, slowBodyMs: 200 });
    try {
      const trickled = halfSentRequest(slowServer.url, body);
      const slowHealth = async () => json(await fetch(`${slowServer.url}/health`));
      // It took the only slot, then gave it back 200 ms later while its body was still incomplete …
      await until(async () => (await slowHealth()).intake.active === 1);
      await until(async () => (await slowHealth()).intake.active === 0);
      // … so a complete request is served meanwhile instead of waiting behind it.
      const meanwhile = await postJson(`${slowServer.url}/predict`, body, { 'x-request-id': 'meanwhile' });
      expect(meanwhile.status).toBe(200);
      expect(meanwhile.body.prediction.class_id).toBe(0);
      trickled.finish();
      expect(await trickled.reply).toMatch(/^HTTP\/1\.1 200[\s\S]*"class_id":0/);
      expect((await slowHealth()).intake).toMatchObject({ active: 0, waiting: 0 });
    } finally {
      for (const s of sockets.splice(0)) s.destroy();
      await slowServer.close();
    }
  });

  it('a body not complete within bodyTimeoutMs is answered 408 REQUEST_TIMEOUT and its connection closed', async () => {
    const strict = await startServer({ maxActive: 1, maxQueue: 10, slowBodyMs: 0, bodyTimeoutMs: 300 });
    try {
      const stalled = halfSentRequest(strict.url, body);
      const reply = await stalled.reply; // resolves when the server closes the connection
      expect(reply).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).toEqual({
        error: { code: 'REQUEST_TIMEOUT', message: 'the request body did not arrive within 300 ms' },
      });
      await until(async () => (await json(await fetch(`${strict.url}/health`))).intake.in_progress === 0);
      // Its slot is free: the next request goes straight through.
      const next = await postJson(`${strict.url}/predict`, body);
      expect(next.status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  it('slots lent out while bodies arrive still count against maxQueue', async () => {
    const small = await startServer({ maxActive: 1, maxQueue: 2, slowBodyMs: 50, bodyTimeoutMs: 0 });
    try {
      const smallHealth = async () => json(await fetch(`${small.url}/health`));
      const first = halfSentRequest(small.url, body);
      await until(async () => (await smallHealth()).intake.in_progress === 1);
      const second = halfSentRequest(small.url, body);
      // Both gave their slot back (their bodies are not arriving) but are still in progress …
      await until(async () => {
        const { intake } = await smallHealth();
        return intake.in_progress === 2 && intake.active === 0;
      });
      // … so a third is one too many, though no slot is in use.
      const refused = await postJson(`${small.url}/predict`, body);
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('OVERLOADED');
      first.finish();
      second.finish();
      expect(await first.reply).toMatch(/^HTTP\/1\.1 200/);
      expect(await second.reply).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      await small.close();
    }
  });

  it('/health answers while every libuv thread-pool thread is blocked (it never waits on the pool)', async () => {
    // Opening a FIFO for reading blocks a pool thread until a writer comes: block all of them.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-fifo-'));
    const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    const fifos = Array.from({ length: poolSize }, (_, i) => path.join(dir, `fifo-${i}`));
    for (const f of fifos) execFileSync('mkfifo', [f]);
    const blocked = fifos.map((f) => readFile(f));
    try {
      const reply = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(5000) });
      expect(reply.status).toBe(200);
      const snapshot = await json(reply);
      expect(snapshot.status).toBe('ok');
      expect(snapshot.disk.free_bytes).toBeGreaterThan(0);
    } finally {
      for (const f of fifos) writeFileSync(f, 'x');
      await Promise.all(blocked);
      rmSync(dir, { recursive: true });
    }
  });
});

describe('a client that hangs up during an image_url download', () => {
  it('stops the download (the pass signal aborts it) and ends the request', async () => {
    // An image host that sends headers, then nothing: the download is in progress until someone stops it.
    let downloadClosed: () => void = () => {};
    const closedByServer = new Promise<void>((resolve) => {
      downloadClosed = resolve;
    });
    const origin = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': '100000' });
      res.write(images.tench.subarray(0, 100));
      res.once('close', () => downloadClosed());
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    const server = await startServer({ urlAllowlist: ['127.0.0.1/32'], urlTimeoutMs: 60_000 });
    try {
      const port = (origin.address() as AddressInfo).port;
      const body = JSON.stringify({ image_url: `http://127.0.0.1:${port}/stall.jpg` });
      const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
      sockets.push(socket);
      socket.write(
        `POST /predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
          `authorization: Bearer ${TOKEN}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      await until(async () => (await json(await fetch(`${server.url}/health`))).intake.in_progress === 1);
      socket.destroy();
      await closedByServer; // the image host saw the download go away (the test times out otherwise)
      await until(async () => (await json(await fetch(`${server.url}/health`))).intake.in_progress === 0);
    } finally {
      await server.close();
      origin.close();
    }
  });
});

describe('closing the server with requests waiting at the gate', () => {
  it('finishes the request holding the slot and every waiting one, then closes', async () => {
    const server = await startServer({ maxActive: 1, maxQueue: 10, slowBodyMs: 60_000 });
    try {
      const body = JSON.stringify({ image_base64: images.mudTurtle.toString('base64'), top_k: 1 });
      const holder = halfSentRequest(server.url, body);
      const snapshot = async () => json(await fetch(`${server.url}/health`));
      await until(async () => (await snapshot()).intake.active === 1);
      const waiting = [1, 2].map((n) => postJson(`${server.url}/predict`, body, { 'x-request-id': `w${n}` }));
      await until(async () => (await snapshot()).intake.waiting === 2);
      // Close (what SIGTERM does) while one request reads its body and two wait for a slot.
      const closed = server.close();
      holder.finish();
      expect(await holder.reply).toMatch(/^HTTP\/1\.1 200[\s\S]*"class_id":35/);
      for (const reply of await Promise.all(waiting)) {
        expect(reply.status).toBe(200);
        expect(reply.body.prediction.class_id).toBe(35);
      }
      await closed;
    } finally {
      for (const s of sockets.splice(0)) s.destroy();
    }
  });
});
