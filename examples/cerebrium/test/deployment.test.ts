/**
 * The deployment files agree with the server, and the image's exact command and environment run as a process:
 * - Dockerfile, cerebrium.toml and the KServe manifest name the same port, entrypoint, model path and health routes;
 * - the routes they name exist and answer;
 * - `CMD` with the image's `ENV` (HOST/PORT/MTAILOR_MODEL overridden only to bind 127.0.0.1, pick a free port and
 *   point at the model the image would carry) serves /health and /predict; on SIGTERM /ready turns 503 at once, the
 *   server serves on for the image's drain delay, finishes the in-flight request and exits 0;
 * - bad configuration exits with code 2 and says which variable is wrong.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  freePort,
  images,
  type JsonReply,
  postJson,
  type ServerProcess,
  shared,
  spawnServer,
  TOKEN,
} from '../../../test/support/server.js';
import { parseDockerfile, type Stage } from './support/dockerfile.js';

const exampleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (f: string) => readFileSync(path.join(exampleDir, f), 'utf8');

const stages = parseDockerfile(read('Dockerfile'));
const runtime = stages.at(-1) as Stage;
const instr = (op: string) => runtime.instructions.filter((i) => i.op === op).map((i) => i.args);
const cmd = JSON.parse(instr('CMD')[0] ?? '[]') as string[];
const toml = parseToml(read('cerebrium.toml')) as JsonReply;
const kserve = parseYaml(read('kserve/inferenceservice.yaml')) as JsonReply;
/** The longest a SIGTERM shutdown of the image's process can take (delay + drain + run.ts's 5 s margin), in ms. */
const shutdownBound =
  Number(runtime.env.MTAILOR_SHUTDOWN_DELAY_MS) + Number(runtime.env.MTAILOR_SHUTDOWN_TIMEOUT_MS) + 5000;

describe('Dockerfile, cerebrium.toml and the KServe manifest agree with the server', () => {
  it('Dockerfile: multi-stage Debian slim, CUDA download skipped, non-root, tini, EXPOSE, HEALTHCHECK', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.instructions[0]?.args).toMatch(/^node:20-bookworm-slim\b/);
    expect(stages[0]?.env.ONNXRUNTIME_NODE_INSTALL).toBe('skip');
    expect(stages[0]?.instructions.some((i) => i.op === 'RUN' && /pnpm .*deploy --prod/.test(i.args))).toBe(
      true,
    );
    expect(instr('USER')).toEqual(['node']);
    expect(instr('ENTRYPOINT')).toEqual(['["/usr/bin/tini", "--"]']);
    expect(instr('EXPOSE')).toEqual([runtime.env.PORT]);
    expect(instr('HEALTHCHECK')[0]).toMatch(/CMD \["node", "-e", .*\/health/);
    expect(instr('WORKDIR')).toEqual(['/app']);
  });

  it('the model is copied to the path MTAILOR_MODEL names', () => {
    const copies = instr('COPY').filter((c) => !c.startsWith('--from'));
    expect(copies).toContain(`model/model.onnx ${runtime.env.MTAILOR_MODEL}`);
    expect(runtime.env.MTAILOR_MODEL).toBe('/app/model/model.onnx');
  });

  it('cerebrium.toml: every listed key present, port/entrypoint/routes/Dockerfile match', () => {
    const { deployment, runtime: rt, hardware, scaling } = toml.cerebrium;
    expect(Object.keys(deployment).sort()).toEqual(['exclude', 'include', 'name']);
    expect(Object.keys(rt.custom).sort()).toEqual(
      ['dockerfile_path', 'entrypoint', 'healthcheck_endpoint', 'port', 'readycheck_endpoint'].sort(),
    );
    expect(Object.keys(hardware).sort()).toEqual(['compute', 'cpu', 'memory']);
    expect(Object.keys(scaling).sort()).toEqual(
      ['cooldown', 'max_replicas', 'min_replicas', 'replica_concurrency', 'response_grace_period'].sort(),
    );
    expect(String(rt.custom.port)).toBe(runtime.env.PORT);
    expect(rt.custom.entrypoint).toEqual(cmd);
    expect(rt.custom.healthcheck_endpoint).toBe('/health');
    expect(rt.custom.readycheck_endpoint).toBe('/ready');
    expect(rt.custom.dockerfile_path).toBe('./Dockerfile');
    expect(hardware.compute).toBe('CPU');
    // Cerebrium must wait for the whole shutdown before killing the process: the drain delay, the drain, and the
    // 5 s after which the process gives up by itself (run.ts).
    expect(scaling.response_grace_period * 1000).toBeGreaterThanOrEqual(shutdownBound);
  });

  it('KServe InferenceService: same port, model path, OIP v2 probes, grace period', () => {
    expect(kserve.apiVersion).toBe('serving.kserve.io/v1beta1');
    expect(kserve.kind).toBe('InferenceService');
    const predictor = kserve.spec.predictor;
    const container = predictor.containers[0];
    expect(container.ports[0].containerPort).toBe(Number(runtime.env.PORT));
    const env = Object.fromEntries(
      container.env.filter((e: JsonReply) => 'value' in e).map((e: JsonReply) => [e.name, e.value]),
    );
    expect(env.PORT).toBe(runtime.env.PORT);
    expect(env.MTAILOR_MODEL).toBe(runtime.env.MTAILOR_MODEL);
    expect(container.readinessProbe.httpGet).toEqual({
      path: '/v2/health/ready',
      port: Number(runtime.env.PORT),
    });
    expect(container.livenessProbe.httpGet).toEqual({
      path: '/v2/health/live',
      port: Number(runtime.env.PORT),
    });
    expect(predictor.containerConcurrency).toBe(toml.cerebrium.scaling.replica_concurrency);
    expect(predictor.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(shutdownBound);
    expect(predictor.terminationGracePeriodSeconds).toBe(toml.cerebrium.scaling.response_grace_period);
  });

  it('package.json start script is the image CMD, with the image GLIBC_TUNABLES and page unless the caller sets its own', () => {
    const pkg = JSON.parse(read('package.json'));
    expect(runtime.env.GLIBC_TUNABLES).toMatch(/^glibc\.malloc\./);
    expect(runtime.env.MTAILOR_PAGE).toBe('true');
    expect(pkg.scripts.start).toBe(
      `MTAILOR_PAGE=\${MTAILOR_PAGE:-${runtime.env.MTAILOR_PAGE}} GLIBC_TUNABLES=\${GLIBC_TUNABLES:-${runtime.env.GLIBC_TUNABLES}} ${cmd.join(' ')}`,
    );
  });
});

describe('the image command as a process', () => {
  let server: ServerProcess;
  let slow: http.Server;
  let slowPort = 0;
  let slowHit: (() => void) | undefined;

  beforeAll(async () => {
    // An image host that takes 1.5 s to answer: a request in flight while SIGTERM arrives.
    slow = http.createServer((_req, res) => {
      slowHit?.();
      setTimeout(() => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(images.tench), 1500);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    slowPort = (slow.address() as AddressInfo).port;
    const port = await freePort();
    const [command, ...args] = cmd;
    expect(command).toBe('node');
    server = await spawnServer(
      process.execPath,
      args,
      exampleDir,
      {
        ...runtime.env,
        // Only what a local run must change: bind loopback, a free port, the model the image would carry.
        HOST: '127.0.0.1',
        PORT: String(port),
        MTAILOR_MODEL: shared.int8Model,
        MTAILOR_API_KEY: TOKEN,
        MTAILOR_URL_ALLOWLIST: `127.0.0.1/32`,
        LOG_LEVEL: 'warn',
      },
      port,
    );
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    slow?.close();
  });

  it('serves /health, /ready and /predict', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    const res = await postJson(`${server.url}/predict`, {
      image_base64: images.mudTurtle.toString('base64'),
    });
    expect(res.status).toBe(200);
    expect(res.body.prediction).toMatchObject({ class_id: 35, label: 'mud turtle' });
  });

  it('SIGTERM: /ready 503 at once, serves on for the drain delay, finishes the in-flight request, exits 0', async () => {
    const delayMs = Number(runtime.env.MTAILOR_SHUTDOWN_DELAY_MS);
    expect(delayMs).toBeGreaterThan(0);
    // SIGTERM goes out once the server is provably mid-request: it has asked the slow host for the image.
    const hit = new Promise<void>((resolve) => {
      slowHit = resolve;
    });
    const inFlight = postJson(`${server.url}/predict`, {
      image_url: `http://127.0.0.1:${slowPort}/tench.jpg`,
    });
    await hit;
    const t0 = performance.now();
    server.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    // Within the delay: not ready (the platform stops routing here), alive, and still serving.
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as JsonReply).status).toBe('shutting_down');
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const during = await postJson(`${server.url}/predict`, {
      image_base64: images.mudTurtle.toString('base64'),
    });
    expect(during.status).toBe(200);
    expect(during.body.prediction.class_id).toBe(35);
    expect(during.headers.get('connection')).toBe('close');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body.prediction.class_id).toBe(0);
    expect(await server.exited).toBe(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(delayMs);
    // After: not listening any more.
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });
});

describe('configuration errors', () => {
  it('exit code 2 with a message naming each bad variable', () => {
    const result = spawnSync(process.execPath, ['dist/main.js'], {
      cwd: exampleDir,
      env: {
        PATH: process.env.PATH,
        PORT: 'eighty',
        MTAILOR_MODEL: '/nonexistent/model.onnx',
        MTAILOR_MAX_BATCH_SIZE: '0',
        MTAILOR_ENGINE: 'turbo',
        MTAILOR_INT8_KERNELS: 'fast',
        MTAILOR_URL_ALLOWLIST: '10.0.0.0/99',
        MTAILOR_MAX_ACTIVE: '64',
        MTAILOR_MAX_QUEUE: '32',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    for (const name of [
      'PORT',
      'MTAILOR_MODEL',
      'MTAILOR_MAX_BATCH_SIZE',
      'MTAILOR_ENGINE',
      'MTAILOR_INT8_KERNELS',
      'MTAILOR_URL_ALLOWLIST',
      'MTAILOR_MAX_ACTIVE: expected at most MTAILOR_MAX_QUEUE (32) but received 64',
    ]) {
      expect(result.stderr).toContain(name);
    }
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});
