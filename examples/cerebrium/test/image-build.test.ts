/**
 * The image, built without Docker (no engine runs here): the build context `stage-deploy` makes, the Dockerfile's
 * build-stage `RUN` commands executed in order on it (`/src` is the staged context, `/app` a temporary folder),
 * the runtime stage's `COPY`s, then its `CMD` with its `ENV` run from that pruned `/app` — not from the workspace,
 * where a dependency missing from `pnpm deploy --prod` would still resolve. Checks the result serves, the
 * `HEALTHCHECK` command passes, and the onnxruntime prune kept this platform's binary only.
 *
 * Deviations, each because a test must not change the machine or reach the network: `corepack enable` is skipped
 * (pnpm is already on PATH; enabling would rewrite global shims), and pnpm runs with `--offline` (the workspace
 * install already filled the store with every package; a test never contacts the registry). That works on a new
 * machine because nothing in the build resolves versions: `install --frozen-lockfile` and `deploy` (not `--legacy`,
 * which re-resolves every dependency and needs a metadata cache only a non-frozen install leaves behind) both read
 * the lockfile — `injectWorkspacePackages: true` in pnpm-workspace.yaml is what lets `deploy` use it.
 */
import { execSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  images,
  postJson,
  type ServerProcess,
  shared,
  spawnServer,
  TOKEN,
} from '../../../test/support/server.js';
import { parseDockerfile } from './support/dockerfile.js';

const exampleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stages = parseDockerfile(readFileSync(path.join(exampleDir, 'Dockerfile'), 'utf8'));
const build = stages[0];
const runtime = stages.at(-1);

let tmp = '';
let appDir = '';
let server: ServerProcess | undefined;
let healthcheck: string[] = [];
let port = 0;

/** An instruction's text with the image's absolute paths moved into our temporary folders. */
const relocate = (text: string): string => text.replaceAll('/app', appDir);

describe('the image, built by running the Dockerfile’s own commands', () => {
  beforeAll(async () => {
    if (!build || !runtime) throw new Error('the Dockerfile has no stages');
    tmp = mkdtempSync(path.join(os.tmpdir(), 'mtailor-image-'));
    const context = path.join(tmp, 'context');
    appDir = path.join(tmp, 'app');
    execSync(
      `"${process.execPath}" scripts/stage-deploy.mjs --out "${context}" --model "${shared.int8Model}"`,
      {
        cwd: exampleDir,
        stdio: 'pipe',
      },
    );
    const env = { ...process.env, ...build.env };
    for (const { op, args } of build.instructions) {
      if (op !== 'RUN' || args === 'corepack enable') continue;
      const command = relocate(args).replace(
        /\bpnpm (install|(?:--filter \S+ )?deploy)\b/g,
        'pnpm $1 --offline',
      );
      const run = spawnSync('/bin/sh', ['-c', command], { cwd: context, env, encoding: 'utf8' });
      if (run.status !== 0) {
        throw new Error(`RUN ${command}\nexited ${run.status}:\n${run.stdout}\n${run.stderr}`);
      }
    }
    // The runtime stage: COPY --from=build /app /app, then the model.
    for (const { op, args } of runtime.instructions) {
      if (op !== 'COPY' || args.startsWith('--from')) continue;
      const [from, to] = args.split(/\s+/) as [string, string];
      mkdirSync(path.dirname(relocate(to)), { recursive: true });
      copyFileSync(path.join(context, from), relocate(to));
    }
    healthcheck = JSON.parse(
      /CMD\s+(\[.*\])$/.exec(runtime.instructions.find((i) => i.op === 'HEALTHCHECK')?.args ?? '')?.[1] ??
        '[]',
    );
    const cmd = JSON.parse(runtime.instructions.find((i) => i.op === 'CMD')?.args ?? '[]') as string[];
    expect(cmd[0]).toBe('node');
    port = await freePort();
    const imageEnv = Object.fromEntries(Object.entries(runtime.env).map(([k, v]) => [k, relocate(v)]));
    server = await spawnServer(
      process.execPath,
      cmd.slice(1),
      appDir,
      // Only what a local run must change: bind loopback on a free port, and a token.
      { ...imageEnv, HOST: '127.0.0.1', PORT: String(port), MTAILOR_API_KEY: TOKEN, LOG_LEVEL: 'warn' },
      port,
    );
  }, 300_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('/app is a pruned production install: no dev tools, no workspace sources, one onnxruntime platform', () => {
    expect(existsSync(path.join(appDir, 'dist', 'main.js'))).toBe(true);
    expect(existsSync(path.join(appDir, 'model', 'model.onnx'))).toBe(true);
    const modules = readdirSync(path.join(appDir, 'node_modules', '.pnpm'));
    expect(modules.some((m) => m.startsWith('fastify@'))).toBe(true);
    for (const dev of ['vitest@', 'typescript@', '@biomejs+', 'smol-toml@', 'yaml@']) {
      expect(modules.filter((m) => m.startsWith(dev))).toEqual([]);
    }
    const ort = modules.find((m) => m.startsWith('onnxruntime-node@'));
    expect(ort).toBeDefined();
    const bin = path.join(
      appDir,
      'node_modules',
      '.pnpm',
      ort as string,
      'node_modules',
      'onnxruntime-node',
      'bin',
    );
    const platforms: string[] = [];
    for (const napi of readdirSync(bin)) {
      for (const platform of readdirSync(path.join(bin, napi))) {
        for (const arch of readdirSync(path.join(bin, napi, platform))) platforms.push(`${platform}/${arch}`);
      }
    }
    expect(platforms.length).toBeGreaterThan(0);
    expect(new Set(platforms)).toEqual(new Set([`linux/${process.arch}`]));
  });

  it('serves /ready and /predict from /app (mud turtle → 35)', async () => {
    expect((await fetch(`${server?.url}/ready`)).status).toBe(200);
    const res = await postJson(`${server?.url}/predict`, {
      image_base64: images.mudTurtle.toString('base64'),
    });
    expect(res.status).toBe(200);
    expect(res.body.prediction).toMatchObject({ class_id: 35, label: 'mud turtle' });
  });

  it('carries the mtailor CLI: a batch shard runs from /app (what examples/kubernetes-batch starts)', () => {
    const out = path.join(tmp, 'batch-out');
    const run = spawnSync(
      process.execPath,
      [
        relocate('/app/node_modules/@mtailor/cli/bin/mtailor.js'),
        'classify',
        shared.mudTurtle,
        '--out',
        out,
        '--model',
        relocate('/app/model/model.onnx'),
      ],
      {
        cwd: appDir,
        env: { PATH: process.env.PATH, JOB_COMPLETION_INDEX: '0', MTAILOR_SHARD_COUNT: '1' },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    const line = JSON.parse(readFileSync(path.join(out, 'part-00000-of-00001.jsonl'), 'utf8'));
    expect(line.predictions[0]).toMatchObject({ index: 35, label: 'mud turtle' });
    expect(existsSync(path.join(out, '_SUCCESS'))).toBe(true);
  });

  it('the HEALTHCHECK command passes against it', () => {
    expect(healthcheck[0]).toBe('node');
    const check = spawnSync(process.execPath, healthcheck.slice(1), {
      env: { PATH: process.env.PATH, PORT: String(port) },
      timeout: 10_000,
    });
    expect(check.status).toBe(0);
  });
});
