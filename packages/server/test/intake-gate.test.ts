/**
 * Intake: the gate (complete requests beyond `maxActive` wait for a work slot in arrival order; past `maxQueue`
 * requests are refused with 503 OVERLOADED; a client that hangs up while waiting gives its place back) and the body
 * budget (bodies are read without a slot, their bytes bounded by `maxBufferedBytes`). Then the same on the real
 * server — raw sockets on 127.0.0.1 send bodies partly, so they are "still arriving" — and `/health` answering while
 * libuv's thread pool is completely blocked.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { OverloadedError } from '@mtailor/core';
import { BodyBudget, IntakeGate } from '@mtailor/server/internal';
import { afterEach, describe, expect, it } from 'vitest';
import {
  images,
  json,
  postJson,
  shared,
  startServer,
  type TestServer,
  TOKEN,
} from '../../../test/support/server.js';

/** The largest shared image (438 KB): 64 of them keep the only work slot busy for a while. */
const flatworm = readFileSync(shared.image('n01924916_flatworm.JPEG'));

const settle = () => new Promise((r) => setImmediate(r));

// Raw sockets the tests opened: destroyed before their servers close, so a failed test cannot hold one open.
const sockets: net.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

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

describe('BodyBudget', () => {
  /** A reader that records whether it is paused. */
  const reader = () => {
    const r = { paused: false, pause: () => (r.paused = true), resume: () => (r.paused = false) };
    return r;
  };

  it('pauses readers once the budget is spent and resumes them in arrival order as bytes come back', () => {
    const budget = new BodyBudget(100);
    const [a, b, c] = [reader(), reader(), reader()];
    budget.start(a);
    budget.start(b);
    budget.take(a, 50);
    budget.complete(a); // a's 50 bytes count until its request ends
    budget.take(b, 60); // 110 ≥ 100, and a complete body will give bytes back: b waits
    expect(b.paused).toBe(true);
    budget.start(c); // a newcomer queues behind paused readers
    expect(c.paused).toBe(true);
    expect(budget).toMatchObject({ bufferedBytes: 110, reading: 2, pausedCount: 2 });
    budget.give(50); // a's request ended: 60 < 100, b and c resume, in that order
    expect([b.paused, c.paused]).toEqual([false, false]);
    budget.complete(b);
    budget.complete(c);
    budget.give(60);
    expect(budget).toMatchObject({ bufferedBytes: 0, reading: 0, pausedCount: 0 });
  });

  it('when only bodies still arriving hold the budget, the one with the most bytes in reads past it', () => {
    const budget = new BodyBudget(100);
    const [trickle, upload, other] = [reader(), reader(), reader()];
    budget.start(trickle); // first to arrive, sends a byte now and then
    budget.start(upload);
    budget.start(other);
    budget.take(trickle, 1);
    budget.take(other, 30);
    budget.take(upload, 80); // 111 ≥ 100, all of it arriving: the upload leads and goes on
    expect(upload.paused).toBe(false);
    budget.take(trickle, 1); // the others wait
    budget.take(other, 10);
    expect([trickle.paused, other.paused]).toEqual([true, true]);
    budget.take(upload, 200); // past the budget, by at most its own body
    expect(upload.paused).toBe(false);
    budget.complete(upload); // its bytes now wait to be given back: nobody reads past the budget any more
    expect([trickle.paused, other.paused]).toEqual([true, true]);
    budget.give(280);
    expect([trickle.paused, other.paused]).toEqual([false, false]);
    budget.abandon(trickle);
    budget.complete(other);
    budget.give(42);
    expect(budget).toMatchObject({ bufferedBytes: 0, reading: 0, pausedCount: 0 });
  });

  it('checks its limit', () => {
    expect(() => new BodyBudget(0)).toThrow(
      'Expected positive integer for maxBytes but received 0 of type number',
    );
  });
});

/**
 * Opens a raw socket and sends the headers and the first `sent` bytes of a `/predict` body, so its body is "still
 * arriving"; `finish()` sends the rest, `reply` is the raw HTTP answer.
 */
function partialRequest(
  serverUrl: string,
  body: Buffer,
  sent: number,
  type = 'image/jpeg',
): { socket: net.Socket; finish: () => void; reply: Promise<string> } {
  const socket = net.connect(Number(new URL(serverUrl).port), '127.0.0.1');
  sockets.push(socket);
  socket.write(
    `POST /predict?top_k=1 HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: ${type}\r\n` +
      `authorization: Bearer ${TOKEN}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`,
  );
  socket.write(body.subarray(0, sent));
  const reply = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(text));
  });
  return { socket, finish: () => socket.write(body.subarray(sent)), reply };
}

describe('intake on the real server', () => {
  const body = JSON.stringify({ image_base64: images.tench.toString('base64'), top_k: 1 });
  const healthOf = (server: TestServer) => async () =>
    json(await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } }));

  it('a body still arriving holds no work slot: complete requests are served meanwhile, each at once', async () => {
    // One work slot and 30 uploads that have sent 1 KB of their body. Before, each took the slot in turn for the
    // 250 ms slow-body window: a complete request waited ≈ 30 × 250 ms behind them.
    const server = await startServer({ maxActive: 1, maxQueue: 64 });
    try {
      const health = healthOf(server);
      const trickling = Array.from({ length: 30 }, () => partialRequest(server.url, images.tench, 1000));
      await until(async () => (await health()).intake.reading === 30);
      expect((await health()).intake).toMatchObject({ active: 0, waiting: 0, reading: 30, in_progress: 30 });
      for (let i = 0; i < 3; i++) {
        const res = await postJson(`${server.url}/predict`, body, { 'x-request-id': `complete-${i}` });
        expect(res.status).toBe(200);
        expect(res.body.prediction.class_id).toBe(0);
        // Generous: a starvation bound (seconds before), not a speed figure.
        expect(res.body.timings_ms.queue).toBeLessThan(1000);
      }
      expect((await health()).intake.reading).toBe(30);
      for (const t of trickling) t.finish();
      for (const t of trickling) expect(await t.reply).toMatch(/^HTTP\/1\.1 200[\s\S]*"class_id":0/);
      await until(async () => (await health()).intake.in_progress === 0);
      expect((await health()).intake).toMatchObject({ active: 0, waiting: 0, reading: 0, buffered_bytes: 0 });
    } finally {
      await server.close();
    }
  });

  it('complete requests past maxActive wait in order; past maxQueue (bodies arriving count) → 503 at once', async () => {
    // A large body limit: the slot holder below is 64 images (≈ 37 MB of base64).
    const server = await startServer({ maxActive: 1, maxQueue: 4, maxBodyBytes: 64 * 1024 * 1024 });
    try {
      const health = healthOf(server);
      const arriving = partialRequest(server.url, images.tench, 1000);
      await until(async () => (await health()).intake.reading === 1);
      // The only slot is taken by a request with 64 images to decode (≈ 0.5 s or more on 2 cores) …
      const heavy = JSON.stringify({
        inputs: [
          {
            name: 'images',
            datatype: 'BYTES',
            shape: [64],
            data: Array.from({ length: 64 }, () => flatworm.toString('base64')),
          },
        ],
        outputs: [{ name: 'logits', parameters: { classification: 1 } }],
      });
      const holder = postJson(`${server.url}/v2/models/mobilenet_v2_int8_qdq/infer`, heavy);
      await until(async () => (await health()).intake.active === 1);
      // … so two complete requests wait for it, in arrival order.
      const answered: string[] = [];
      const first = postJson(`${server.url}/predict`, body, { 'x-request-id': 'queued-1' }).then((r) => {
        answered.push(r.body.run_id);
        return r;
      });
      await until(async () => (await health()).intake.waiting === 1);
      const second = postJson(`${server.url}/predict`, body, { 'x-request-id': 'queued-2' }).then((r) => {
        answered.push(r.body.run_id);
        return r;
      });
      await until(async () => (await health()).intake.waiting === 2);
      const metrics = await (
        await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).text();
      expect(metrics).toMatch(/mtailor_intake_waiting_requests 2/);
      expect(metrics).toMatch(/mtailor_intake_reading_requests 1/);
      // 4 in progress (one body arriving, one working, two waiting): the fifth is refused without its body read.
      const refused = await postJson(`${server.url}/predict`, body);
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('OVERLOADED');
      expect(refused.headers.get('connection')).toBe('close');

      expect((await holder).status).toBe(200);
      const [one, two] = await Promise.all([first, second]);
      expect(one.status).toBe(200);
      expect(two.status).toBe(200);
      expect(one.body.prediction.class_id).toBe(0);
      expect(two.body.run_id).toBe('queued-2');
      // Served in arrival order (one slot: the second waited for the first too); the wait is queue time.
      expect(answered).toEqual(['queued-1', 'queued-2']);
      expect(one.body.timings_ms.queue).toBeGreaterThan(0);
      expect(one.body.timings_ms.total).toBeGreaterThanOrEqual(one.body.timings_ms.queue);
      arriving.finish();
      expect(await arriving.reply).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      await server.close();
    }
  });

  it('the memory budget: past MTAILOR_MAX_BUFFERED_BYTES other bodies pause (the leading upload goes on), then resume', async () => {
    const server = await startServer({ maxActive: 4, maxQueue: 16, maxBufferedBytes: 64 * 1024 });
    try {
      const health = healthOf(server);
      const big = Buffer.concat([images.tench, Buffer.alloc(200_000 - images.tench.length)]);
      // A trickling upload holds a few bytes; then one sends 150 KB of 200 KB: over the 64 KiB budget, and still
      // reading (only bodies still arriving hold the budget, and it has the most bytes in).
      const trickle = partialRequest(server.url, images.tench, 10);
      await until(async () => (await health()).intake.reading === 1);
      const upload = partialRequest(server.url, big, 150_000, 'application/octet-stream');
      await until(async () => (await health()).intake.buffered_bytes >= 150_000);
      // A newer one sends 100 KB: it is paused, so most of that stays in the kernel, not in the server.
      const newer = partialRequest(server.url, images.tench, 100_000);
      await until(async () => (await health()).intake.paused === 1);
      const paused = (await health()).intake;
      expect(paused.reading).toBe(3);
      // At most one socket read of the paused one was taken in.
      expect(paused.buffered_bytes).toBeLessThanOrEqual(150_000 + 65_536);
      // The upload completes (its padding after the JPEG is ignored by the decoder) and is answered; its bytes
      // leave the budget; the newer one resumes and completes.
      upload.finish();
      expect(await upload.reply).toMatch(/^HTTP\/1\.1 200[\s\S]*"class_id":0/);
      newer.finish();
      expect(await newer.reply).toMatch(/^HTTP\/1\.1 200[\s\S]*"class_id":0/);
      trickle.finish();
      expect(await trickle.reply).toMatch(/^HTTP\/1\.1 200[\s\S]*"class_id":0/);
      await until(async () => (await health()).intake.in_progress === 0);
      expect((await health()).intake).toMatchObject({ reading: 0, paused: 0, buffered_bytes: 0 });
    } finally {
      await server.close();
    }
  });

  it('Expect: 100-continue — refusals come without the 100; the 100 comes once the body can be taken in', async () => {
    const server = await startServer({ maxActive: 1, maxQueue: 8, maxBufferedBytes: 64 * 1024 });
    try {
      const health = healthOf(server);
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

      // The budget is spent by a body still arriving: the next request is not told to continue until it is freed.
      const big = Buffer.concat([images.tench, Buffer.alloc(200_000 - images.tench.length)]);
      const holder = partialRequest(server.url, big, 100_000, 'application/octet-stream');
      await until(async () => (await health()).intake.buffered_bytes >= 100_000);
      const waiting = expecting(`authorization: Bearer ${TOKEN}\r\ncontent-length: ${bytes.length}\r\n`);
      await until(async () => (await health()).intake.paused === 1);
      expect(waiting.received()).toBe('');
      holder.finish();
      expect(await holder.reply).toMatch(/^HTTP\/1\.1 200/);
      expect(await waiting.reply).toMatch(
        /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 [\s\S]*"class_id":0/,
      );
      // With room in the budget, the 100 comes at once, whatever the work slots.
      const free = await expecting(`authorization: Bearer ${TOKEN}\r\ncontent-length: ${bytes.length}\r\n`)
        .reply;
      expect(free).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    } finally {
      await server.close();
    }
  });

  it('a body not complete within bodyTimeoutMs is answered 408 REQUEST_TIMEOUT and its connection closed', async () => {
    const strict = await startServer({ maxActive: 1, maxQueue: 10, bodyTimeoutMs: 300 });
    try {
      const stalled = partialRequest(strict.url, Buffer.from(body), 1000, 'application/json');
      const reply = await stalled.reply; // resolves when the server closes the connection
      expect(reply).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).toEqual({
        error: { code: 'REQUEST_TIMEOUT', message: 'the request body did not arrive within 300 ms' },
      });
      const health = healthOf(strict);
      await until(async () => (await health()).intake.in_progress === 0);
      expect((await health()).intake).toMatchObject({ reading: 0, buffered_bytes: 0 });
      const next = await postJson(`${strict.url}/predict`, body);
      expect(next.status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  it('a client that hangs up while its body arrives leaves no trace (in progress, bytes)', async () => {
    const server = await startServer({ maxActive: 1, maxQueue: 10 });
    try {
      const health = healthOf(server);
      const quitter = partialRequest(server.url, images.tench, 50_000);
      await until(async () => (await health()).intake.buffered_bytes >= 50_000);
      quitter.socket.destroy();
      await until(async () => (await health()).intake.in_progress === 0);
      expect((await health()).intake).toMatchObject({ reading: 0, buffered_bytes: 0, active: 0 });
      const after = await postJson(`${server.url}/predict`, body);
      expect(after.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('a chunked body that outgrows the body limit is refused 413 without reading the rest', async () => {
    const server = await startServer({ maxBodyBytes: 64 * 1024 });
    try {
      const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
      sockets.push(socket);
      const reply = new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (d) => {
          text += d.toString('latin1');
        });
        socket.on('error', () => {});
        socket.on('close', () => resolve(text));
      });
      socket.write(
        `POST /predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: image/jpeg\r\nauthorization: Bearer ${TOKEN}\r\n` +
          `transfer-encoding: chunked\r\n\r\n`,
      );
      const chunk = images.tench.subarray(0, 40_000);
      for (let i = 0; i < 2; i++)
        socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString('latin1')}\r\n`, 'latin1');
      const text = await reply;
      expect(text).toMatch(/^HTTP\/1\.1 413 /);
      expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).error.code).toBe('PAYLOAD_TOO_LARGE');
      await until(async () => (await healthOf(server)()).intake.in_progress === 0);
    } finally {
      await server.close();
    }
  });

  it('/health answers while every libuv thread-pool thread is blocked (it never waits on the pool)', async () => {
    const server = await startServer();
    // Opening a FIFO for reading blocks a pool thread until a writer comes: block all of them.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-fifo-'));
    const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    const fifos = Array.from({ length: poolSize }, (_, i) => path.join(dir, `fifo-${i}`));
    for (const f of fifos) execFileSync('mkfifo', [f]);
    const blocked = fifos.map((f) => readFile(f));
    try {
      const reply = await fetch(`${server.url}/health`, {
        headers: { authorization: `Bearer ${TOKEN}` },
        signal: AbortSignal.timeout(5000),
      });
      expect(reply.status).toBe(200);
      const snapshot = await json(reply);
      expect(snapshot.status).toBe('ok');
      expect(snapshot.disk.free_bytes).toBeGreaterThan(0);
    } finally {
      for (const f of fifos) writeFileSync(f, 'x');
      await Promise.all(blocked);
      rmSync(dir, { recursive: true });
      await server.close();
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
      const health = async () =>
        json(await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } }));
      await until(async () => (await health()).intake.in_progress === 1);
      socket.destroy();
      await closedByServer; // the image host saw the download go away (the test times out otherwise)
      await until(async () => (await health()).intake.in_progress === 0);
    } finally {
      await server.close();
      origin.close();
    }
  });
});

describe('closing the server with requests in progress', () => {
  it('finishes a request whose body is still arriving and the requests waiting for a slot, then closes', async () => {
    const server = await startServer({ maxActive: 1, maxQueue: 10 });
    try {
      const body = JSON.stringify({ image_base64: images.mudTurtle.toString('base64'), top_k: 1 });
      const arriving = partialRequest(server.url, Buffer.from(body), 1000, 'application/json');
      const health = async () =>
        json(await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } }));
      await until(async () => (await health()).intake.reading === 1);
      const others = [1, 2, 3].map((n) =>
        postJson(`${server.url}/predict`, body, { 'x-request-id': `w${n}` }),
      );
      await until(async () => (await health()).intake.in_progress === 4);
      // Close (what SIGTERM does) while one body arrives and three requests are in progress.
      const closed = server.close();
      await new Promise((r) => setTimeout(r, 100));
      arriving.finish();
      expect(await arriving.reply).toMatch(/^HTTP\/1\.1 200[\s\S]*"class_id":35/);
      for (const reply of await Promise.all(others)) {
        expect(reply.status).toBe(200);
        expect(reply.body.prediction.class_id).toBe(35);
      }
      await closed;
    } finally {
      for (const s of sockets.splice(0)) s.destroy();
    }
  });
});
