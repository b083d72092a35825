/**
 * `mtailor-client` as a process against the real server on 127.0.0.1 (shared int8 model).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  images,
  shared,
  startFileServer,
  startServer,
  type TestServer,
  TOKEN,
} from '../../../test/support/server.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/mtailor-client.js');

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

let server: TestServer;
let files: Awaited<ReturnType<typeof startFileServer>>;
let env: Record<string, string>;
beforeAll(async () => {
  files = await startFileServer({ '/turtle.jpg': { type: 'image/jpeg', body: images.mudTurtle } });
  server = await startServer({ urlAllowlist: ['127.0.0.1/32'] });
  env = { MTAILOR_ENDPOINT: server.url, MTAILOR_API_KEY: TOKEN };
});
afterAll(async () => {
  await server?.close();
  await files?.close();
});

describe('mtailor-client', () => {
  it('--health', async () => {
    const r = await run(['--health'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^health: ok {2}model mobilenet_v2_int8_qdq \(ready\) {2}latency [\d.]+ ms/);
  });

  it('--local-image prints class, label, confidence, top-5 and latency', async () => {
    const r = await run(['--local-image', shared.tench], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^class 0 {2}tench {2}confidence 0\.\d{4}/);
    expect(r.stdout).toContain('top-5:');
    expect(r.stdout.match(/^\s+\d\. /gm)).toHaveLength(5);
    expect(r.stdout).toMatch(/latency: [\d.]+ ms \(server: [\d.]+ ms\)/);
  });

  it('--remote-image with --json and --top-k, endpoint and token from flags', async () => {
    const r = await run([
      '--remote-image',
      `${files.origin}/turtle.jpg`,
      '--json',
      '--top-k',
      '3',
      '--endpoint',
      server.url,
      '--token',
      TOKEN,
    ]);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.prediction).toMatchObject({ class_id: 35, label: 'mud turtle' });
    expect(body.top_k).toHaveLength(3);
    expect(typeof body.latency_ms).toBe('number');
  });

  it('--repeat prints p50/p95/p99', async () => {
    const text = await run(['--local-image', shared.mudTurtle, '--repeat', '5'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/latency over 5 requests: p50 [\d.]+ ms {2}p95 [\d.]+ ms {2}p99 [\d.]+ ms/);
    const json = JSON.parse(
      (await run(['--local-image', shared.mudTurtle, '--repeat', '3', '--json'], env)).stdout,
    );
    expect(json.latency_ms).toMatchObject({ n: 3 });
    expect(json.latency_ms.p50).toBeLessThanOrEqual(json.latency_ms.p99);
  });

  it('exit 1 when the request fails (wrong token, not an image, server down)', async () => {
    const wrong = await run(['--local-image', shared.tench], {
      ...env,
      MTAILOR_API_KEY: 'wrong-token-wrong-token-wrong',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/HTTP 401 UNAUTHORIZED/);
    const notImage = await run(['--local-image', bin], env);
    expect(notImage.code).toBe(1);
    expect(notImage.stderr).toMatch(/HTTP 415 UNSUPPORTED_IMAGE/);
    const down = await run(['--health', '--endpoint', `http://127.0.0.1:${await freePort()}`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/ECONNREFUSED/);
  });

  it('exit 2 on usage errors', async () => {
    for (const args of [
      [],
      ['--health', '--local-image', 'x.jpg'],
      ['--health'],
      ['--health', '--endpoint', 'ftp://x'],
      ['--local-image', shared.tench, '--endpoint', 'http://127.0.0.1:9', '--top-k', '0'],
      ['--local-image', shared.tench, '--endpoint', 'http://127.0.0.1:9', '--repeat', 'many'],
      ['--local-image', '/no/such/file.jpg', '--endpoint', 'http://127.0.0.1:9'],
      ['--bogus'],
    ]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^mtailor-client: /);
    }
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: mtailor-client');
  });
});
