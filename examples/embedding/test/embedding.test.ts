/**
 * The embedding examples on real data: the plugin mounted under /ml in an existing Fastify app (on 127.0.0.1), and
 * @mtailor/core used as a library.
 */
import type { AddressInfo } from 'node:net';
import { buildShopApp, classifyFiles } from '@mtailor/example-embedding';
import { resolveConfig } from '@mtailor/server';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images, json, shared } from '../../../test/support/server.js';

describe('the plugin mounted in an existing app', () => {
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    app = await buildShopApp(
      resolveConfig({
        modelPath: shared.int8Model,
        preprocessWorkers: 1,
        intraOpThreads: 1,
        logLevel: 'silent',
      }),
    );
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    // Wait for the plugin's model to load (its /ml/ready turns 200).
    for (let i = 0; i < 300; i++) {
      if ((await fetch(`${url}/ml/ready`)).status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => app?.close());

  it('the app keeps its own routes and its own error format', async () => {
    expect(await json(await fetch(`${url}/api/products`))).toHaveLength(2);
    const missing = await fetch(`${url}/api/products/9`);
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({ message: 'no product 9' });
    // Outside the prefix, Fastify's default 404 (not the plugin's error shape).
    const outside = await json(await fetch(`${url}/elsewhere`));
    expect(outside.error).toBe('Not Found');
  });

  it('serves /ml/predict (tench → 0, mud turtle → 35), /ml/health, /ml/v2, JSON errors under /ml', async () => {
    const tench = await fetch(`${url}/ml/predict`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: images.tench,
    });
    expect((await json(tench)).prediction).toMatchObject({ class_id: 0, label: 'tench' });
    const turtle = await fetch(`${url}/ml/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image_base64: images.mudTurtle.toString('base64') }),
    });
    expect((await json(turtle)).prediction).toMatchObject({ class_id: 35, label: 'mud turtle' });
    expect((await json(await fetch(`${url}/ml/health`))).model.status).toBe('ready');
    const meta = await json(await fetch(`${url}/ml/v2/models/mobilenet_v2_int8_qdq`));
    expect(meta.inputs[0].shape).toEqual([-1, 3, 224, 224]);
    const notFound = await fetch(`${url}/ml/nope`);
    expect(notFound.status).toBe(404);
    expect((await json(notFound)).error.code).toBe('NOT_FOUND');
    const bad = await fetch(`${url}/ml/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.code).toBe('INVALID_INPUT');
  });
});

describe('@mtailor/core as a library', () => {
  it('classifies the shared tench and mud turtle', async () => {
    const results = await classifyFiles(shared.int8Model, [shared.tench, shared.mudTurtle]);
    expect(results.map((r) => [r.classId, r.label])).toEqual([
      [0, 'tench'],
      [35, 'mud turtle'],
    ]);
    for (const r of results) expect(r.probability).toBeGreaterThan(0.5);
  });
});
