/**
 * The server's own page (`GET /`, `MTAILOR_PAGE`), in Debian's Chromium driven by playwright-core: a file upload,
 * the test image and a wrong token, each through the form, against the real server on 127.0.0.1; and the page
 * under a prefix when the plugin is mounted in another app. Screenshots go to `tmp/screenshots/` (git-ignored).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, mtailorPlugin } from '@mtailor/server';
import Fastify from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../../../test/support/chromium.js';
import { shared, startServer, type TestServer, TOKEN } from '../../../test/support/server.js';

const screenshots = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'tmp', 'screenshots');
const chromium = hasChromium();

describe('GET / off by default', () => {
  it('answers 404 without MTAILOR_PAGE', async () => {
    const server = await startServer();
    try {
      expect((await fetch(`${server.url}/`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(!chromium)('the page in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startServer({ page: true });
    browser = await launchChromium();
    mkdirSync(screenshots, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('is served without a token, with a strict CSP, and its assets too', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await res.text()).toContain('<form id="form">');
    expect((await fetch(`${server.url}/page/page.js`)).headers.get('content-type')).toBe(
      'text/javascript; charset=utf-8',
    );
    // The API behind it still wants the token.
    expect((await fetch(`${server.url}/predict`, { method: 'POST' })).status).toBe(401);
  });

  it('classifies an uploaded tench through the form with the token: tench → 0, run_id and timings shown', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/`);
    await page.fill('#token', TOKEN);
    await page.setInputFiles('#file', shared.tench);
    await page.click('#go');
    await page.waitForSelector('#bars li');
    // Runs in the page; typed structurally because the test typecheck has no DOM library.
    type Li = { getAttribute(name: string): string | null; textContent: string | null };
    const bars = await page.$$eval('#bars li', (lis: Li[]) =>
      lis.map((li) => ({ id: Number(li.getAttribute('data-class-id')), text: li.textContent ?? '' })),
    );
    expect(bars).toHaveLength(5);
    expect(bars[0]).toMatchObject({ id: 0 });
    expect(bars[0]?.text).toMatch(/^tench \(0\)\d+\.\d\d %$/);
    expect(await page.textContent('#status')).toBe('top-1: tench');
    expect(await page.textContent('#detail-run_id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(await page.textContent('#detail-inference-ms'))).toBeGreaterThan(0);
    expect(await page.isVisible('#preview')).toBe(true);
    await page.screenshot({ path: path.join(screenshots, 'server-page.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the test image (test_mode) through the form, and a wrong token shows the 401', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.fill('#token', TOKEN);
    await page.check('input[name=source][value=test]');
    await page.click('#go');
    await page.waitForSelector('#bars li');
    expect(await page.textContent('#detail-test_mode')).toBe('passed: expected class 722');
    await page.fill('#token', 'not-the-token-0123456789');
    await page.click('#go');
    await page.waitForSelector('#status.error');
    expect(await page.textContent('#status')).toMatch(/^401 UNAUTHORIZED: /);
    expect(await page.$$('#bars li')).toHaveLength(0);
    await page.close();
  });
});

describe.skipIf(!chromium)('the page under a prefix (the plugin mounted in another app)', () => {
  it('/ml redirects to /ml/, and the form posts to /ml/predict', async () => {
    const app = Fastify({ logger: false });
    app.get('/', async () => ({ app: 'its own root' }));
    await app.register(mtailorPlugin, {
      prefix: '/ml',
      config: { ...loadConfig({ MTAILOR_MODEL: shared.int8Model }), page: true, preprocessWorkers: 1 },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const browser = await launchChromium();
    try {
      await app.ready();
      const url = `http://127.0.0.1:${port}`;
      const bare = await fetch(`${url}/ml`, { redirect: 'manual' });
      expect(bare.status).toBe(308);
      expect(bare.headers.get('location')).toBe('/ml/');
      expect(await (await fetch(`${url}/`)).json()).toEqual({ app: 'its own root' });
      const page = await browser.newPage();
      await page.goto(`${url}/ml`);
      expect(page.url()).toBe(`${url}/ml/`);
      await page.setInputFiles('#file', shared.mudTurtle);
      await page.click('#go');
      await page.waitForSelector('#bars li', { timeout: 60_000 });
      expect(await page.textContent('#status')).toBe('top-1: mud turtle');
    } finally {
      await browser.close();
      await app.close();
    }
  });
});
