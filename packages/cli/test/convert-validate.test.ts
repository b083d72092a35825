/**
 * `mtailor convert` and `mtailor validate` as a user runs them (the built bin in a child process): real PyTorch
 * export of mobilenet_v2 with the shared weights, JSON reports, and the exit codes 0 / 1 / 2.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTorch, python, shared } from '../../../test/support/shared-data.js';
import { variant } from '../../converter-bridge/test/support/onnx-builder.js';
import { mtailor } from './support/run-cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mtailor-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mtailor validate', () => {
  it('a valid model → exit 0, readable report', async () => {
    const r = await mtailor(
      'validate',
      shared.int8Model,
      '--num-classes',
      '1000',
      '--input-shape',
      '1,3,224,224',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(': VALID');
    expect(r.stdout).toContain('input  input float32 [batch, 3, 224, 224]');
  });

  it('--json → { ok, errors, warnings, model }', async () => {
    const r = await mtailor('validate', shared.floatModel, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; errors: unknown[]; model: { irVersion: number } };
    expect(report).toMatchObject({
      ok: true,
      errors: [],
      warnings: [],
      model: { irVersion: 7, nodeCount: 170 },
    });
  });

  it('an invalid model (expectations not met) → exit 1 with the codes', async () => {
    const r = await mtailor(
      'validate',
      shared.floatModel,
      '--num-classes',
      '10',
      '--opset-min',
      '14',
      '--json',
    );
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { ok: boolean; errors: { code: string }[] };
    expect(report.ok).toBe(false);
    expect(report.errors.map((e) => e.code).sort()).toEqual(['OPSET_OUT_OF_RANGE', 'OUTPUT_CLASSES']);
  });

  it('a model onnxruntime refuses → exit 1 (ORT_LOAD_FAILED); --no-load skips that check', async () => {
    const file = path.join(dir, 'flatten-axis-7.onnx');
    writeFileSync(
      file,
      variant((m) => {
        m.graph.node![1]!.attribute = [{ name: 'axis', type: 2, i: 7 }];
      }),
    );
    const loaded = await mtailor('validate', file, '--json');
    expect(loaded.code).toBe(1);
    expect(JSON.parse(loaded.stdout).errors.map((e: { code: string }) => e.code)).toEqual([
      'ORT_LOAD_FAILED',
    ]);
    expect((await mtailor('validate', file, '--no-load')).code).toBe(0);
  });

  it('unreadable model → exit 2', async () => {
    const garbage = path.join(dir, 'garbage.onnx');
    writeFileSync(garbage, 'definitely not protobuf \u0000\u00ff');
    const parse = await mtailor('validate', garbage, '--json');
    expect(parse.code).toBe(2);
    expect(JSON.parse(parse.stdout).errors[0].code).toBe('PARSE_FAILED');
    const missing = await mtailor('validate', path.join(dir, 'missing.onnx'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('MODEL_UNREADABLE');
  });

  it('usage errors → exit 2', async () => {
    expect((await mtailor('validate')).code).toBe(2);
    expect((await mtailor('validate', shared.floatModel, '--bogus')).code).toBe(2);
    expect((await mtailor('validate', shared.floatModel, '--input-shape', '1,3,224')).code).toBe(2);
    expect((await mtailor('validate', shared.floatModel, '--num-classes', 'many')).code).toBe(2);
    const tolerance = await mtailor('validate', shared.floatModel, '--tolerance', '1e-3');
    expect(tolerance.code).toBe(2); // a tolerance without --parity would silently do nothing
    expect(tolerance.stderr).toContain(
      '--tolerance/--rtol/--atol/--float32-error-factor apply to the parity check',
    );
    const help = await mtailor('validate', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: mtailor validate');
  });
});

const torchOk = hasTorch();

describe.skipIf(!torchOk)('mtailor convert (real PyTorch) then validate --parity', () => {
  const out = path.join(dir, 'mobilenet_v2.onnx');
  let convert: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    convert = await mtailor(
      'convert',
      '--arch',
      'mobilenet_v2',
      '--weights',
      shared.mobilenetWeights,
      '--out',
      out,
      '--python',
      python,
      '--calibration-images',
      shared.tench,
      shared.mudTurtle,
    );
  });

  it('converts, validates and proves parity → exit 0, progress on stderr', () => {
    expect(convert.code).toBe(0);
    expect(convert.stderr).toContain('[1/7] importing torch');
    expect(convert.stderr).toContain('[7/7]');
    expect(convert.stdout).toContain(': VALID');
    expect(convert.stdout).toMatch(/parity: OK max \|Δ\| .* top-1 2\/2 agree/);
  });

  it('validate --parity --json reports the parity result; exit 0', async () => {
    const r = await mtailor(
      'validate',
      out,
      '--json',
      '--num-classes',
      '1000',
      '--parity',
      `${out}.parity.json`,
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      parity: { ok: boolean; maxAbsDiff: number; top1Agreement: number };
    };
    expect(report.ok).toBe(true);
    expect(report.parity.ok).toBe(true);
    expect(report.parity.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(report.parity.top1Agreement).toBe(1);
  });

  it('a parity tolerance nothing can meet → exit 1, the worst logit named', async () => {
    const r = await mtailor('validate', out, '--parity', `${out}.parity.json`, '--tolerance', '0');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('parity: FAILED');
    const strict = await mtailor(
      'validate',
      out,
      '--parity',
      `${out}.parity.json`,
      '--rtol',
      '0',
      '--atol',
      '0',
      '--float32-error-factor',
      '0',
    );
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/rule \|Δ\| ≤ 0 \+ 0·\|torch\|: [1-9]\d* outside/);
    expect(strict.stdout).toMatch(
      /worst logit: sample \d class \d+: torch \S+ onnx \S+ \|Δ\| \S+ \(rel \S+\), allowed 0\.00e\+0/,
    );
  });

  it('convert wrote the manifest; bad manifest or recipe options are usage errors (exit 2)', async () => {
    expect(convert.stderr).toContain(
      `wrote ${path.join(dir, 'mobilenet_v2.manifest.json')} (recipe torchvision`,
    );
    const base = [
      'convert',
      '--arch',
      'mobilenet_v2',
      '--weights',
      shared.mobilenetWeights,
      '--out',
      path.join(dir, 'y.onnx'),
    ];
    const both = await mtailor(...base, '--manifest', path.join(dir, 'y.json'), '--no-manifest');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give --manifest <file> or --no-manifest, not both');
    const recipe = await mtailor(...base, '--recipe', 'no-such-preset', '--python', python);
    expect(recipe.code).toBe(2);
    expect(recipe.stderr).toContain('INVALID_OPTION: Invalid recipe');
    const noVerify = await mtailor(...base, '--no-verify', '--rtol', '1e-3');
    expect(noVerify.code).toBe(2);
  });

  it('conversion errors → exit 1 with the code; missing required flags → exit 2', async () => {
    const unknown = await mtailor(
      'convert',
      '--arch',
      'nonet',
      '--weights',
      shared.mobilenetWeights,
      '--out',
      path.join(dir, 'x.onnx'),
      '--python',
      python,
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('UNKNOWN_ARCH');
    const usage = await mtailor(
      'convert',
      '--weights',
      shared.mobilenetWeights,
      '--out',
      path.join(dir, 'x.onnx'),
    );
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--arch is required');
    const kwargs = await mtailor(
      'convert',
      '--arch',
      'googlenet',
      '--weights',
      shared.mobilenetWeights,
      '--out',
      path.join(dir, 'x.onnx'),
      '--arch-kwargs',
      '[1]',
    );
    expect(kwargs.code).toBe(2);
    expect(kwargs.stderr).toContain('--arch-kwargs expects a JSON object');
  });
});
