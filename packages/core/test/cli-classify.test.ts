/**
 * `mtailor classify`, run as users run it: `node packages/cli/bin/mtailor.js classify …` in a child process.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasTorch, repoRoot, shared, sharedImages } from '../../../test/support/shared-data.js';
import { makeTinyModel } from './support/tiny-models.js';

const bin = path.join(repoRoot, 'packages', 'cli', 'bin', 'mtailor.js');
const torch = hasTorch();

function mtailor(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}) {
  const env: Record<string, string | undefined> = {
    ...process.env,
    MTAILOR_MODEL: shared.int8Model,
    ...opts.env,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const r = spawnSync(process.execPath, [bin, 'classify', ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: env as NodeJS.ProcessEnv,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe('mtailor classify', () => {
  it('--json: one object per image with file, predictions and timings; exit 0', () => {
    const r = mtailor([shared.tench, shared.mudTurtle, '--json', '--top-k', '3']);
    expect(r.stderr).not.toContain('Error');
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => l.file)).toEqual([shared.tench, shared.mudTurtle]);
    expect(lines[0].predictions).toHaveLength(3);
    expect(lines[0].predictions[0]).toMatchObject({ index: 0, label: 'tench' });
    expect(lines[1].predictions[0]).toMatchObject({ index: 35, label: 'mud turtle' });
    expect(Object.keys(lines[0].timings).sort()).toEqual([
      'batchSize',
      'decodeMs',
      'inferenceMs',
      'preprocessMs',
      'queueMs',
      'readMs',
      'totalMs',
    ]);
  });

  it('a folder with bad files among good ones: every file reported, bad ones with their error code, exit 1', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-cli-'));
    mkdirSync(path.join(dir, 'sub'));
    symlinkSync(shared.tench, path.join(dir, 'a_tench.jpg'));
    symlinkSync(shared.mudTurtle, path.join(dir, 'sub', 'c_turtle.JPEG'));
    const tench = readFileSync(shared.tench);
    writeFileSync(path.join(dir, 'b_truncated.jpg'), tench.subarray(0, tench.length >> 2));
    writeFileSync(path.join(dir, 'b_notes.png'), 'not an image\n');
    writeFileSync(path.join(dir, 'readme.txt'), 'not picked from a folder: not an image extension\n');
    const r = mtailor([dir, '--json', '--batch-size', '2']);
    expect(r.code).toBe(1);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => path.relative(dir, l.file))).toEqual([
      'a_tench.jpg',
      'b_notes.png',
      'b_truncated.jpg',
      path.join('sub', 'c_turtle.JPEG'),
    ]);
    expect(lines[0].predictions[0].index).toBe(0);
    expect(lines[1].error.code).toBe('UNSUPPORTED_IMAGE');
    expect(lines[2].error.code).toBe('INVALID_IMAGE');
    expect(lines[3].predictions[0].index).toBe(35);
    expect(r.stderr).toContain(`${path.join(dir, 'b_notes.png')}: UNSUPPORTED_IMAGE: `);
    expect(r.stderr).toContain(`${path.join(dir, 'b_truncated.jpg')}: INVALID_IMAGE: `);
    expect(r.stderr).toContain('2 of 4 images classified');
    expect(r.stderr).toContain('2 failed');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack traces
  });

  it('human output: one line per image with label, index and probability; a missing file fails alone', () => {
    const r = mtailor([
      shared.tench,
      '/nonexistent/x.jpg',
      shared.mudTurtle,
      '--top-k',
      '2',
      '--resize',
      'fast',
    ]);
    expect(r.code).toBe(1);
    const out = r.stdout.trim().split('\n');
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/n01440764_tench\.JPEG {2}tench \(0\) \d+\.\d\d% · .+ \(\d+\) \d+\.\d\d%$/);
    expect(out[1]).toMatch(/mud turtle \(35\)/);
    expect(r.stderr).toContain('/nonexistent/x.jpg: IMAGE_READ_FAILED');
  });

  it('the 104 shared images, decoded in 2 worker threads: all classified, exit 0', () => {
    const r = mtailor([shared.images, '--json', '--top-k', '1', '--workers', '2']);
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => l.file)).toEqual(sharedImages());
    expect(lines.find((l) => l.file === shared.tench).predictions[0].index).toBe(0);
  });

  it('the model: --model beats MTAILOR_MODEL, which beats the default', () => {
    const ref = (name: string) =>
      JSON.parse(readFileSync(shared.reference(name), 'utf8')).images['n01440764_tench.JPEG']
        .probs[0] as number;
    const prob = (r: { stdout: string }) => jsonLines(r.stdout)[0].predictions[0].probability as number;
    const viaEnv = mtailor([shared.tench, '--json'], { env: { MTAILOR_MODEL: shared.floatModel } });
    expect(prob(viaEnv)).toBeCloseTo(ref('torch_mobilenet_v2_float.json'), 4);
    const viaFlag = mtailor([shared.tench, '--json', '--model', shared.int8Model], {
      env: { MTAILOR_MODEL: shared.floatModel },
    });
    expect(prob(viaFlag)).toBeCloseTo(ref('ort_mobilenet_v2_int8_on_torchvision_tensors.json'), 4);
    // In this repository `pnpm mtailor` (the README's first command) supplies the default: the shared int8 model.
    const env: Record<string, string | undefined> = { ...process.env, MTAILOR_SHARED_DIR: shared.dir };
    delete env.MTAILOR_MODEL;
    const viaDefault = spawnSync('pnpm', ['--silent', 'mtailor', 'classify', shared.tench, '--json'], {
      cwd: repoRoot,
      env: env as NodeJS.ProcessEnv,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(viaDefault.status, viaDefault.stderr).toBe(0);
    expect(prob(viaDefault)).toBeCloseTo(ref('ort_mobilenet_v2_int8_on_torchvision_tensors.json'), 4);
  });

  it('--manifest (labels from the manifest) and --workers 0 (decode on the main thread)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-cli-manifest-'));
    symlinkSync(shared.int8Model, path.join(dir, 'model.onnx'));
    writeFileSync(
      path.join(dir, 'labels.txt'),
      Array.from({ length: 1000 }, (_, i) => `my-class-${i}`).join('\n'),
    );
    const manifest = path.join(dir, 'manifest.json');
    writeFileSync(
      manifest,
      JSON.stringify({ model: 'model.onnx', recipe: 'resize-224', labels: 'labels.txt', numClasses: 1000 }),
    );
    const r = mtailor([shared.tench, '--manifest', manifest, '--workers', '0', '--json', '--top-k', '1']);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)[0].predictions[0]).toMatchObject({ index: 0, label: 'my-class-0' });
    const both = mtailor([shared.tench, '--manifest', manifest, '--model', shared.int8Model]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give --model or --manifest, not both');
  });

  it.skipIf(spawnSync('script', ['--version']).status !== 0)(
    'a progress bar on stderr when it is a terminal and the input has folders',
    () => {
      // `script` runs the command on a pseudo-terminal, as a user's shell would.
      const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} classify ${JSON.stringify(shared.images)} --top-k 1 > /dev/null`;
      const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
        env: { ...process.env, MTAILOR_MODEL: shared.int8Model },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/classify \[.+\] 104\/104 images/);
      // Not a terminal (the other tests pipe stderr): no bar.
      expect(mtailor([shared.images, '--top-k', '1']).stderr).not.toContain('[');
    },
  );

  it('--no-auto-orient reproduces torchvision on the EXIF-rotated can opener; the default turns it upright', () => {
    const file = shared.image('n02951585_can_opener.JPEG');
    const want = JSON.parse(
      readFileSync(shared.reference('ort_mobilenet_v2_int8_on_torchvision_tensors.json'), 'utf8'),
    ).images['n02951585_can_opener.JPEG'];
    const torchvision = jsonLines(mtailor([file, '--json', '--no-auto-orient']).stdout)[0].predictions;
    expect(torchvision.map((p: { index: number }) => p.index)).toEqual(want.top5);
    expect(torchvision[0].probability).toBeCloseTo(want.probs[0], 4);
    const upright = jsonLines(mtailor([file, '--json']).stdout)[0].predictions;
    expect(Math.abs(upright[0].probability - want.probs[0])).toBeGreaterThan(0.01);
  });

  it('no model anywhere (the installed CLI has no default): exactly what to pass, and exit 2', () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'mtailor-nomodel-'));
    const r = mtailor([shared.tench], { env: { MTAILOR_MODEL: undefined }, cwd });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('mtailor classify: no model given. Pass one of:');
    for (const what of [
      '--model <file.onnx>',
      '--manifest <file.json>',
      'MTAILOR_MODEL=<file.onnx>',
      'mtailor convert',
    ])
      expect(r.stderr).toContain(what);
    const flag = mtailor([shared.tench, '--model', '/nonexistent/model.onnx']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('model not found: /nonexistent/model.onnx (from --model)');
    const manifest = mtailor([shared.tench, '--manifest', '/nonexistent/m.json']);
    expect(manifest.code).toBe(2);
    expect(manifest.stderr).toContain('manifest not found: /nonexistent/m.json (from --manifest)');
  });

  it('--verbose says which int8 kernels run and why; the summary line names them; --int8-kernels native is taken', () => {
    const r = mtailor([shared.tench, '--verbose', '--top-k', '1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^mtailor classify: int8 kernels: (native|uint8-weights) \(exact; asked exact\): .+\. 53 int8 weight tensors.*; CPU \w+, int8 flags: .+; saturation probe: (exact|saturates)\n/,
    );
    expect(r.stderr).toMatch(
      /1 of 1 images classified in [\d.]+ s \(\d+ img\/s\); int8 kernels: (native|uint8-weights)\n$/,
    );
    const native = mtailor([shared.tench, '--int8-kernels', 'native', '--verbose']);
    expect(native.code).toBe(0);
    expect(native.stderr).toMatch(/int8 kernels: native \((exact|NOT exact); asked native\)/);
  });

  it('usage errors exit 2 with the usage text', () => {
    for (const args of [
      [],
      [shared.tench, '--top-k', 'abc'],
      [shared.tench, '--resize', 'bogus'],
      [shared.tench, '--int8-kernels', 'fast'],
    ]) {
      const r = mtailor(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('Usage: mtailor classify');
      expect(r.stdout).toBe('');
    }
  });

  it.skipIf(!torch)('a model that is not an image classifier: MODEL_SHAPE and exit 1', () => {
    const file = makeTinyModel({
      graph: 'gap',
      keep4: true,
      inputs: [{ name: 'image', shape: ['N', 3, 8, 8] }],
      outputs: [{ name: 'pooled', shape: ['N', 3, 1, 1] }],
    });
    const r = mtailor([shared.tench, '--model', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `MODEL_SHAPE: ${file}: output "pooled" has shape [N, 3, 1, 1] (rank 4); expected [N, C]`,
    );
  });
});
