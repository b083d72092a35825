/**
 * `image_url` safety. Every refused target is also guarded: the server's connect hook records each outgoing
 * connection and fails any that is not loopback, and the tests assert no connection was even attempted to a
 * refused address. Names resolve through an injected resolver, so no test touches real DNS.
 */
import { AddressPolicy, embeddedIPv4, fetchImage } from '@mtailor/server/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fixedResolver,
  images,
  postJson,
  startFileServer,
  startServer,
  type TestServer,
} from '../../../test/support/server.js';

describe('AddressPolicy', () => {
  const policy = new AddressPolicy();
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fd00:ec2::254', 'unique local'],
    ['fe80::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['::10.0.0.1', 'private'],
    // SIIT IPv4-translated (::ffff:0:0/96), 6to4 (2002::/16 carries the IPv4 in bits 16–47), local-use NAT64.
    ['::ffff:0:7f00:1', 'loopback'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['2002:a00:1::', 'private'],
    ['2002:a9fe:a9fe:1:2:3:4:5', 'link-local'],
    ['64:ff9b:1::a00:1', 'local-use NAT64'],
    ['64:ff9b:1:ffff::808:808', 'local-use NAT64'],
  ])('refuses %s (%s)', (address, reason) => {
    const verdict = policy.check(address);
    expect(verdict.allowed).toBe(false);
    if (!verdict.allowed) expect(verdict.reason).toContain(reason);
  });

  it.each([
    '93.184.215.14',
    '8.8.8.8',
    '2606:4700::6810:84e5',
    '::ffff:8.8.8.8',
    '2002:808:808::1',
    '::ffff:0:808:808',
  ])('allows public %s', (address) => {
    expect(policy.check(address)).toEqual({ allowed: true });
  });

  it('allow-lists CIDRs (also through IPv4-mapped IPv6) and host names', () => {
    const allow = new AddressPolicy(['10.1.0.0/16', 'images.internal', '::1']);
    expect(allow.check('10.1.2.3').allowed).toBe(true);
    expect(allow.check('::ffff:10.1.2.3').allowed).toBe(true);
    expect(allow.check('10.2.0.1').allowed).toBe(false);
    expect(allow.check('::1').allowed).toBe(true);
    expect(allow.check('192.168.0.1', 'IMAGES.internal').allowed).toBe(true);
    expect(allow.check('192.168.0.1', 'other.internal').allowed).toBe(false);
    // The IPv4 a 6to4 or SIIT address carries is allow-listed as that IPv4; local-use NAT64 only by its IPv6.
    expect(allow.check('2002:a01:203::1').allowed).toBe(true);
    expect(allow.check('::ffff:0:a01:203').allowed).toBe(true);
    expect(allow.check('2002:a02:1::1').allowed).toBe(false);
    expect(allow.check('64:ff9b:1::a01:203').allowed).toBe(false);
    expect(new AddressPolicy(['64:ff9b:1::/48']).check('64:ff9b:1::a01:203').allowed).toBe(true);
    expect(() => new AddressPolicy(['10.0.0.0/33'])).toThrow(/CIDR/);
    expect(() => new AddressPolicy(['http://x'])).toThrow(/CIDR/);
  });

  it('reads the IPv4 inside IPv6 embeddings', () => {
    expect(embeddedIPv4('::ffff:192.168.0.1')).toBe('192.168.0.1');
    expect(embeddedIPv4('64:ff9b::c0a8:1')).toBe('192.168.0.1');
    expect(embeddedIPv4('::ffff:0:c0a8:1')).toBe('192.168.0.1');
    expect(embeddedIPv4('2002:c0a8:1::')).toBe('192.168.0.1');
    expect(embeddedIPv4('2001:db8::1')).toBeUndefined();
    // Local-use NAT64 is refused as a whole, whatever it carries.
    expect(embeddedIPv4('64:ff9b:1::c0a8:1')).toBeUndefined();
  });
});

describe('image_url through the server', () => {
  let server: TestServer;
  let trusted: Awaited<ReturnType<typeof startFileServer>>;
  let internal: Awaited<ReturnType<typeof startFileServer>>;

  beforeAll(async () => {
    // "internal" plays a loopback service that must stay unreachable; "trusted" is allow-listed by name and
    // answers with redirects, wrong types, big bodies.
    internal = await startFileServer({ '/secret.jpg': { type: 'image/jpeg', body: images.tench } });
    trusted = await startFileServer({
      '/tench.jpg': { type: 'image/jpeg', body: images.tench },
      '/to-loopback': { status: 302, location: `${internal.origin}/secret.jpg` },
      '/to-localhost-name': {
        status: 302,
        location: `http://sneaky.example.test:${internal.port}/secret.jpg`,
      },
      '/to-metadata': { status: 307, location: 'http://169.254.169.254/latest/meta-data/' },
      '/to-file': { status: 302, location: 'file:///etc/passwd' },
      '/to-gopher': { status: 302, location: 'gopher://images.example.test:70/1' },
      '/to-garbage': { status: 302, location: 'http://[not-an-address/x.jpg' },
      '/empty-204': { status: 204 },
      '/empty-200': { type: 'image/jpeg', body: '' },
      '/hop1': { status: 302, location: '/hop2' },
      '/hop2': { status: 302, location: '/hop3' },
      '/hop3': { status: 302, location: '/hop4' },
      '/hop4': { status: 302, location: '/tench.jpg' },
      '/page.html': { type: 'text/html', body: '<html></html>' },
      '/big.jpg': { type: 'image/jpeg', body: Buffer.alloc(64 * 1024, 1) },
      '/gone': { status: 404 },
    });
    const resolve = fixedResolver({
      'images.example.test': ['127.0.0.1'],
      'sneaky.example.test': ['127.0.0.1'],
      'mixed.example.test': ['93.184.215.14', '10.0.0.7'],
      'metadata.example.test': ['fd00:ec2::254'],
    });
    server = await startServer({ urlAllowlist: ['images.example.test'], urlMaxRedirects: 3 }, resolve);
  });
  afterAll(async () => {
    await server?.close();
    await trusted?.close();
    await internal?.close();
  });

  const predictUrl = (url: string) => postJson(`${server.url}/predict`, { image_url: url });

  it('fetches from the allow-listed host name', async () => {
    const res = await predictUrl(`http://images.example.test:${trusted.port}/tench.jpg`);
    expect(res.status).toBe(200);
    expect(res.body.prediction.class_id).toBe(0);
  });

  it.each([
    ['http://127.0.0.1:1/x.jpg', '127.0.0.1'],
    ['http://10.0.0.1/x.jpg', '10.0.0.1'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['http://[::1]:1/x.jpg', '::1'],
    ['http://[fd00:ec2::254]/latest', 'fd00:ec2::254'],
    ['http://[::ffff:127.0.0.1]:1/x.jpg', '::ffff:7f00:1'],
    ['http://sneaky.example.test:1/x.jpg', '127.0.0.1'],
    ['http://metadata.example.test/latest', 'fd00:ec2::254'],
    ['http://mixed.example.test/x.jpg', '10.0.0.7'],
    ['http://[64:ff9b:1::a00:1]/', '64:ff9b:1::a00:1'],
    ['http://[2002:a00:1::]/', '2002:a00:1::'],
    ['http://[::ffff:0:7f00:1]/', '::ffff:0:7f00:1'],
  ])('refuses %s without connecting', async (url, address) => {
    const before = server.guard.attempts.length;
    const res = await predictUrl(url);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('URL_FORBIDDEN_ADDRESS');
    expect(res.body.error.message).toContain(address);
    expect(server.guard.attempts.length).toBe(before);
    expect(server.guard.refusedNonLoopback).toEqual([]);
  });

  it('refuses a redirect to loopback (by IP or by a name resolving to it), to metadata', async () => {
    for (const path of ['/to-loopback', '/to-localhost-name', '/to-metadata']) {
      const res = await predictUrl(`http://images.example.test:${trusted.port}${path}`);
      expect(res.status, path).toBe(400);
      expect(res.body.error.code, path).toBe('URL_FORBIDDEN_ADDRESS');
    }
    expect(internal.hits.size).toBe(0);
    expect(server.guard.attempts.every((a) => a.hostname === 'images.example.test')).toBe(true);
    expect(server.guard.refusedNonLoopback).toEqual([]);
  });

  it('blames the origin, not the client, for a redirect to another scheme or to no URL (502)', async () => {
    for (const [path, scheme] of [
      ['/to-file', 'file'],
      ['/to-gopher', 'gopher'],
    ] as const) {
      const res = await predictUrl(`http://images.example.test:${trusted.port}${path}`);
      expect(res.status, path).toBe(502);
      expect(res.body.error.code, path).toBe('URL_FETCH_FAILED');
      expect(res.body.error.message, path).toContain(`${scheme}:`);
      expect(res.body.error.message, path).toMatch(/redirected/);
    }
    const garbage = await predictUrl(`http://images.example.test:${trusted.port}/to-garbage`);
    expect(garbage.status).toBe(502);
    expect(garbage.body.error.code).toBe('URL_FETCH_FAILED');
    expect(internal.hits.size).toBe(0);
    expect(server.guard.attempts.every((a) => a.hostname === 'images.example.test')).toBe(true);
    expect(server.guard.refusedNonLoopback).toEqual([]);
  });

  it('answers 502 when the origin sends no image bytes (204, or an empty 200)', async () => {
    for (const [path, text] of [
      ['/empty-204', '204'],
      ['/empty-200', 'empty'],
    ]) {
      const res = await predictUrl(`http://images.example.test:${trusted.port}${path}`);
      expect(res.status, path).toBe(502);
      expect(res.body.error.code, path).toBe('URL_FETCH_FAILED');
      expect(res.body.error.message, path).toContain(text);
    }
  });

  it('stops after N redirects, checks content type and status, caps bytes', async () => {
    const hops = await predictUrl(`http://images.example.test:${trusted.port}/hop1`);
    expect(hops.status).toBe(502);
    expect(hops.body.error.code).toBe('URL_TOO_MANY_REDIRECTS');
    const html = await predictUrl(`http://images.example.test:${trusted.port}/page.html`);
    expect(html.status).toBe(415);
    expect(html.body.error.code).toBe('URL_CONTENT_TYPE');
    const gone = await predictUrl(`http://images.example.test:${trusted.port}/gone`);
    expect(gone.status).toBe(502);
    expect(gone.body.error.code).toBe('URL_FETCH_FAILED');
    const bad = await predictUrl('ftp://images.example.test/x.jpg');
    expect(bad.body.error.code).toBe('URL_SCHEME_NOT_ALLOWED');
    const unknown = await predictUrl('http://no-such-host.example.test/x.jpg');
    expect(unknown.status).toBe(502);
  });

  it('enforces the byte cap while streaming and the total timeout (fetchImage directly)', async () => {
    const base = {
      policy: new AddressPolicy(['images.example.test']),
      connectTimeoutMs: 1000,
      totalTimeoutMs: 5000,
      maxRedirects: 0,
      resolve: fixedResolver({ 'images.example.test': ['127.0.0.1'] }),
      onConnect: server.guard.hook,
    };
    await expect(
      fetchImage(`http://images.example.test:${trusted.port}/big.jpg`, { ...base, maxBytes: 1000 }),
    ).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    const ok = await fetchImage(`http://images.example.test:${trusted.port}/big.jpg`, {
      ...base,
      maxBytes: 65536,
    });
    expect(ok.bytes.length).toBe(65536);
    // A server that accepts the connection but never answers.
    const net = await import('node:net');
    const hang = net.createServer(() => {});
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const port = (hang.address() as import('node:net').AddressInfo).port;
    await expect(
      fetchImage(`http://images.example.test:${port}/x.jpg`, {
        ...base,
        maxBytes: 1000,
        totalTimeoutMs: 300,
      }),
    ).rejects.toMatchObject({ statusCode: 504, code: 'URL_TIMEOUT' });
    hang.close();
  });
});
