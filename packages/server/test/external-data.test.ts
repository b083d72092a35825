/**
 * `mtailor-server` on a model whose weights live in a data file beside it (as torch ≥ 2.9 exports by default),
 * started from another working directory: it starts and answers as the self-contained model does; without the
 * data file it refuses to start and names the file. The external-data model is written by the onnx Python package.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
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
import { hasTorch, python } from '../../../test/support/shared-data.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'mtailor-server.js');

describe.skipIf(!hasTorch())('mtailor-server on a model with external data', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mtailor-server-external-'));
  const model = path.join(root, 'models', 'mnv2.onnx');
  const elsewhere = path.join(root, 'elsewhere');
  let server: ServerProcess | undefined;
  const env = (port: number) => ({
    HOST: '127.0.0.1',
    PORT: String(port),
    MTAILOR_MODEL: model,
    MTAILOR_API_KEY: TOKEN,
    LOG_LEVEL: 'warn',
  });

  beforeAll(() => {
    mkdirSync(path.dirname(model));
    mkdirSync(elsewhere);
    execFileSync(python, [
      '-c',
      'import sys, onnx; onnx.save_model(onnx.load(sys.argv[1]), sys.argv[2], save_as_external_data=True, location="mnv2.onnx.data")',
      shared.floatModel,
      model,
    ]);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('starts from another folder and classifies the tench', async () => {
    const port = await freePort();
    server = await spawnServer(process.execPath, [bin], elsewhere, env(port), port);
    const reply = await postJson(`${server.url}/predict`, { image_base64: images.tench.toString('base64') });
    expect(reply.status).toBe(200);
    expect(reply.body.prediction).toMatchObject({ class_id: 0, label: 'tench' });
    await server.stop();
    server = undefined;
  });

  it('without its data file it does not start, and says which file is missing', () => {
    unlinkSync(path.join(path.dirname(model), 'mnv2.onnx.data'));
    const run = spawnSync(process.execPath, [bin], {
      cwd: elsewhere,
      env: { PATH: process.env.PATH ?? '', ...env(1) },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).not.toBe(0);
    const output = run.stdout + run.stderr;
    expect(output).toContain('EXTERNAL_DATA_MISSING');
    expect(output).toContain(path.join(path.dirname(model), 'mnv2.onnx.data'));
  });
});
