/**
 * `image_url` against a network that misbehaves: name resolution that never answers (bounded by the connect and
 * total timeouts, and not delaying anyone else), the default c-ares resolver (driven by a fake DNS server on
 * 127.0.0.1, so no test sends a packet beyond loopback), and failed connections answered in short messages that
 * keep the socket's or OpenSSL's own text out of the reply. Every outgoing connection goes through the guard,
 * which refuses anything not on loopback.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import type { ConnectHook, Resolver } from '@mtailor/server';
import { AddressPolicy, createSystemResolver, fetchImage } from '@mtailor/server/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Not (yet) re-exported by the package index; the built module, as the package's own code uses it.
import {
  ConnectionGuard,
  fixedResolver,
  images,
  postJson,
  startFileServer,
  startServer,
  type TestServer,
} from '../../../test/support/server.js';

/** Wraps a resolver: `hang.example.test` never settles; every signal it was given is kept. */
function hangingResolver(inner: Resolver): Resolver & { signals: AbortSignal[]; hangs: number } {
  const signals: AbortSignal[] = [];
  const resolver = Object.assign(
    (hostname: string, options?: { signal?: AbortSignal }) => {
      if (options?.signal) signals.push(options.signal);
      if (hostname !== 'hang.example.test') return inner(hostname, options);
      resolver.hangs += 1;
      return new Promise<never>(() => {});
    },
    { signals, hangs: 0 },
  );
  return resolver;
}

const timed = async <T>(work: Promise<T>): Promise<{ value: T; ms: number }> => {
  const t0 = performance.now();
  const value = await work;
  return { value, ms: performance.now() - t0 };
};

describe('name resolution is bounded and does not hold anyone up', () => {
  let server: TestServer;
  let origin: Awaited<ReturnType<typeof startFileServer>>;
  const resolve = hangingResolver(fixedResolver({ 'images.example.test': ['127.0.0.1'] }));

  beforeAll(async () => {
    origin = await startFileServer({ '/tench.jpg': { type: 'image/jpeg', body: images.tench } });
    server = await startServer(
      { urlAllowlist: ['images.example.test'], urlConnectTimeoutMs: 400, urlTimeoutMs: 20_000 },
      resolve,
    );
  });
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  it('answers 504 (name resolution timed out) after the connect timeout, while a good URL is served at once', async () => {
    const hostile = Array.from({ length: 8 }, () =>
      timed(postJson(`${server.url}/predict`, { image_url: 'http://hang.example.test/x.jpg' })),
    );
    // Sent after the hostile ones, so it would queue behind them if resolution held a shared resource.
    const good = await timed(
      postJson(`${server.url}/predict`, { image_url: `http://images.example.test:${origin.port}/tench.jpg` }),
    );
    expect(good.value.status).toBe(200);
    expect(good.ms).toBeLessThan(3000);
    for (const { value, ms } of await Promise.all(hostile)) {
      expect(value.status).toBe(504);
      expect(value.body.error.code).toBe('URL_TIMEOUT');
      expect(value.body.error.message).toMatch(/name resolution/i);
      expect(value.body.error.message).toContain('hang.example.test');
      expect(value.body.error.message).toContain('400 ms');
      expect(ms).toBeGreaterThanOrEqual(350);
      expect(ms).toBeLessThan(3000);
    }
    expect(resolve.hangs).toBeGreaterThanOrEqual(8);
    // The resolver is told to give up (a c-ares query is cancelled through it).
    expect(resolve.signals.length).toBeGreaterThan(0);
    expect(server.guard.attempts.some((a) => a.hostname === 'hang.example.test')).toBe(false);
    expect(server.guard.refusedNonLoopback).toEqual([]);
  });

  it('is bounded by the total timeout when that ends first', async () => {
    const guard = new ConnectionGuard();
    const signals: AbortSignal[] = [];
    const { value: err, ms } = await timed(
      fetchImage('http://hang.example.test/x.jpg', {
        policy: new AddressPolicy(),
        maxBytes: 1000,
        connectTimeoutMs: 20_000,
        totalTimeoutMs: 300,
        maxRedirects: 0,
        resolve: (_hostname, options) => {
          if (options?.signal) signals.push(options.signal);
          return new Promise<never>(() => {});
        },
        onConnect: guard.hook,
      }).catch((e: unknown) => e),
    );
    expect(err).toMatchObject({ statusCode: 504, code: 'URL_TIMEOUT' });
    expect((err as Error).message).toMatch(
      /name resolution of hang\.example\.test timed out \(total timeout 300 ms\)/,
    );
    expect(ms).toBeLessThan(2000);
    expect(signals.length).toBe(1);
    expect(signals[0]?.aborted).toBe(true);
    expect(guard.attempts).toEqual([]);
  });
});

/** IPv6 text to its 16 bytes. */
function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return out;
}

/**
 * A DNS server on 127.0.0.1 (UDP) answering A/AAAA from a table; names marked `hang` are never answered, others
 * not in the table get NXDOMAIN. Each answer waits `delayMs`, so the test can see whether A and AAAA were asked
 * at once.
 */
async function startFakeDns(
  table: Record<string, { a?: string[]; aaaa?: string[]; hang?: boolean }>,
  delayMs = 0,
): Promise<{
  server: string;
  queries: Array<{ name: string; type: number; at: number }>;
  close: () => void;
}> {
  const socket = dgram.createSocket('udp4');
  const queries: Array<{ name: string; type: number; at: number }> = [];
  socket.on('message', (msg, from) => {
    const labels: string[] = [];
    let at = 12;
    while (at < msg.length && msg[at] !== 0) {
      const len = msg[at] as number;
      labels.push(msg.subarray(at + 1, at + 1 + len).toString('ascii'));
      at += len + 1;
    }
    const questionEnd = at + 5;
    const type = msg.readUInt16BE(at + 1);
    const name = labels.join('.').toLowerCase();
    queries.push({ name, type, at: performance.now() });
    const entry = table[name];
    if (entry?.hang) return;
    const rdatas = !entry
      ? []
      : type === 1
        ? (entry.a ?? []).map((a) => Buffer.from(a.split('.').map(Number)))
        : type === 28
          ? (entry.aaaa ?? []).map(ipv6Bytes)
          : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    header.writeUInt16BE(entry ? 0x8180 : 0x8183, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(rdatas.length, 6);
    const answers = rdatas.map((rdata) => {
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(type, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([rr, rdata]);
    });
    const reply = Buffer.concat([header, msg.subarray(12, questionEnd), ...answers]);
    setTimeout(() => socket.send(reply, from.port, from.address), delayMs);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { server: `127.0.0.1:${socket.address().port}`, queries, close: () => socket.close() };
}

describe('the default resolver (c-ares, asynchronous)', () => {
  it('asks A and AAAA at once through the configured servers and returns both', async () => {
    const dns = await startFakeDns(
      { 'cats.example.test': { a: ['93.184.215.14'], aaaa: ['2606:4700::6810:84e5'] } },
      150,
    );
    try {
      const resolve = createSystemResolver({ timeoutMs: 2000, servers: [dns.server] });
      const { value, ms } = await timed(resolve('cats.example.test'));
      expect(value).toEqual([
        { address: '93.184.215.14', family: 4 },
        { address: '2606:4700::6810:84e5', family: 6 },
      ]);
      expect(dns.queries.map((q) => q.type).sort()).toEqual([1, 28]);
      // Both questions arrived before the first (delayed) answer: they were in flight together.
      const [first, second] = dns.queries;
      expect(Math.abs((first?.at ?? 0) - (second?.at ?? 0))).toBeLessThan(100);
      expect(ms).toBeLessThan(290);
      await expect(resolve('nothing.example.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    } finally {
      dns.close();
    }
  });

  it('answers IP literals and localhost names itself, without a query', async () => {
    const dns = await startFakeDns({});
    try {
      const resolve = createSystemResolver({ timeoutMs: 2000, servers: [dns.server] });
      expect(await resolve('10.0.0.1')).toEqual([{ address: '10.0.0.1', family: 4 }]);
      expect(await resolve('::1')).toEqual([{ address: '::1', family: 6 }]);
      for (const name of ['localhost', 'LOCALHOST.', 'api.localhost']) {
        expect(await resolve(name)).toEqual([
          { address: '127.0.0.1', family: 4 },
          { address: '::1', family: 6 },
        ]);
      }
      expect(dns.queries).toEqual([]);
    } finally {
      dns.close();
    }
  });

  it('gives up after its timeout, can be cancelled, and leaves the libuv thread pool free meanwhile', async () => {
    const dns = await startFakeDns({ 'hang.example.test': { hang: true } });
    try {
      const resolve = createSystemResolver({ timeoutMs: 1500, servers: [dns.server] });
      // More never-answered lookups than the pool has threads (4) — dns.lookup would fill it.
      const pending = Array.from({ length: 8 }, () => resolve('hang.example.test').catch((e: unknown) => e));
      // Thread-pool work (file reads, as image decoding also runs there) is not held up by them.
      const { ms: poolMs } = await timed(
        Promise.all(Array.from({ length: 8 }, () => readFile(new URL(import.meta.url)))),
      );
      expect(poolMs).toBeLessThan(500);
      const { value: errors, ms } = await timed(Promise.all(pending));
      for (const err of errors) expect(err).toMatchObject({ code: 'ETIMEOUT' });
      expect(ms).toBeLessThan(3000);
      const aborter = new AbortController();
      const cancelled = resolve('hang.example.test', { signal: aborter.signal }).catch((e: unknown) => e);
      aborter.abort();
      expect(await cancelled).toMatchObject({ code: 'ECANCELLED' });
    } finally {
      dns.close();
    }
  });

  it('is what the server uses by default: localhost is refused as loopback without touching DNS', async () => {
    const server = await startServer();
    try {
      for (const url of ['http://localhost:1/x.jpg', 'http://img.localhost/x.jpg', 'http://[::1]:1/x.jpg']) {
        const res = await postJson(`${server.url}/predict`, { image_url: url });
        expect(res.status, url).toBe(400);
        expect(res.body.error.code, url).toBe('URL_FORBIDDEN_ADDRESS');
        expect(res.body.error.message, url).toMatch(/loopback/);
      }
      expect(server.guard.attempts).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('failed connections are answered in short messages', () => {
  let server: TestServer;
  let origin: Awaited<ReturnType<typeof startFileServer>>;
  let resetter: net.Server;
  let closedPort: number;

  beforeAll(async () => {
    origin = await startFileServer({ '/tench.jpg': { type: 'image/jpeg', body: images.tench } });
    // Accepts, reads the request, then resets the connection.
    resetter = net.createServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    await new Promise<void>((r) => resetter.listen(0, '127.0.0.1', r));
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    server = await startServer(
      { urlAllowlist: ['images.example.test'] },
      fixedResolver({ 'images.example.test': ['127.0.0.1'] }),
    );
  });
  afterAll(async () => {
    await server?.close();
    await origin?.close();
    resetter?.close();
  });

  const leaks = /SSL routines|error:[0-9A-F]{8}|ECONN|ENETUNREACH|Local \(|127\.0\.0\.1/;

  it.each([
    [
      'TLS handshake',
      () => `https://images.example.test:${origin.port}/tench.jpg`,
      /^TLS handshake with images\.example\.test:\d+ failed/,
    ],
    [
      'refused',
      () => `http://images.example.test:${closedPort}/x.jpg`,
      /^connection to images\.example\.test:\d+ refused/,
    ],
    [
      'reset',
      () => `http://images.example.test:${(resetter.address() as net.AddressInfo).port}/x.jpg`,
      /^connection to images\.example\.test:\d+ was reset/,
    ],
  ])('%s → 502 URL_FETCH_FAILED naming host:port only', async (_name, url, message) => {
    const res = await postJson(`${server.url}/predict`, { image_url: url() });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('URL_FETCH_FAILED');
    expect(res.body.error.message).toMatch(message);
    expect(res.body.error.message).not.toMatch(leaks);
    expect(server.guard.refusedNonLoopback).toEqual([]);
  });

  /** fetchImage of `url` on the allow-listed name images.example.test, resolved to 127.0.0.1; the error it throws. */
  const fetchFromLoopbackHost = (url: string, onConnect: ConnectHook) =>
    fetchImage(url, {
      policy: new AddressPolicy(['images.example.test']),
      maxBytes: 1e6,
      connectTimeoutMs: 1000,
      totalTimeoutMs: 5000,
      maxRedirects: 0,
      resolve: fixedResolver({ 'images.example.test': ['127.0.0.1'] }),
      onConnect,
    }).catch((e: unknown) => e);

  it('network unreachable → a short message, the original error kept as cause', async () => {
    const guard = new ConnectionGuard();
    const kernel = Object.assign(new Error('connect ENETUNREACH 10.9.8.7:443 - Local (:::0)'), {
      code: 'ENETUNREACH',
      syscall: 'connect',
    });
    // The guard records it (loopback, allowed); the kernel's answer for an unroutable address is simulated.
    const err = await fetchFromLoopbackHost(
      `http://images.example.test:${origin.port}/tench.jpg`,
      (target) => {
        guard.hook(target);
        throw kernel;
      },
    );
    expect(err).toMatchObject({ statusCode: 502, code: 'URL_FETCH_FAILED' });
    expect((err as Error).message).toMatch(/^network unreachable for images\.example\.test:\d+$/);
    expect((err as Error).cause).toBe(kernel);
    expect(guard.attempts.length).toBe(1);
    expect(guard.refusedNonLoopback).toEqual([]);
  });

  it('keeps the original error as cause (for the server log)', async () => {
    const err = await fetchFromLoopbackHost(
      `https://images.example.test:${origin.port}/${randomBytes(4).toString('hex')}`,
      server.guard.hook,
    );
    expect((err as Error).message).not.toMatch(leaks);
    expect(String(((err as Error).cause as Error | undefined)?.message)).toMatch(/SSL|TLS|wrong version/i);
  });
});
