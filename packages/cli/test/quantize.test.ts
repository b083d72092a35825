/**
 * `mtailor quantize` as a user runs it (the built bin in a child process): the shared float MobileNetV2 with a
 * manifest → an int8 model and its manifest that `mtailor classify` and `mtailor validate` take; exit codes 0 / 1 / 2
 * and the JSON report.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shared } from '../../../test/support/shared-data.js';
import { mtailor } from './support/run-cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mtailor-cli-quantize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mtailor quantize', () => {
  it('quantizes with the manifest of the float model; classify and validate take the result', async () => {
    const manifest = path.join(dir, 'float.manifest.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        model: shared.floatModel,
        recipe: 'resize-224',
        labels: 'imagenet1k',
        numClasses: 1000,
      }),
    );
    const out = path.join(dir, 'models', 'q.onnx');
    const outManifest = path.join(dir, 'models', 'q.manifest.json');
    const r = await mtailor(
      'quantize',
      '--manifest',
      manifest,
      '--calibration',
      shared.images,
      '--calibration-size',
      '26',
      '--eval',
      shared.tench,
      '--eval',
      shared.mudTurtle,
      '--out',
      out,
      '--no-speed',
      '--json',
    );
    expect(r.stderr).toContain('[calibrate] calibrating 64 tensors on 26 images (percentile)');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      ok: true,
      files: { float: shared.floatModel, int8: out, manifest: outManifest },
      settings: { method: 'percentile', percentile: 99.999, calibrationImages: 26, recipe: 'resize-224' },
      kernels: { int8: { QLinearConv: 52, QLinearAdd: 10, QGemm: 1, QLinearGlobalAveragePool: 1 } },
      accuracy: { eval: { images: 2 } },
      judgedOn: 'eval',
      speed: null,
      validation: { ok: true },
    });
    expect(report.accuracy.eval.perClass.meanAbs).toHaveLength(1000);
    // The worst classes carry the manifest's labels.
    expect(typeof report.accuracy.eval.perClass.worst[0].label).toBe('string');

    // The manifest travels with the model: same recipe and labels, model path relative to the new manifest.
    expect(JSON.parse(readFileSync(outManifest, 'utf8'))).toEqual({
      model: 'q.onnx',
      recipe: 'resize-224',
      labels: 'imagenet1k',
      numClasses: 1000,
    });
    const classify = await mtailor('classify', '--manifest', outManifest, shared.tench, '--json');
    expect(classify.code).toBe(0);
    expect(JSON.parse(classify.stdout).predictions[0]).toMatchObject({ index: 0, label: 'tench' });
    const validate = await mtailor('validate', out, '--num-classes', '1000', '--input-shape', '?,3,224,224');
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain(': VALID');
  });

  it('finds the manifest `mtailor convert` writes beside the float model and writes the int8 one the same way', async () => {
    // convert's naming: build/m.onnx → build/m.manifest.json. A recipe other than the default proves it was read.
    const build = path.join(dir, 'build');
    mkdirSync(build, { recursive: true });
    symlinkSync(shared.floatModel, path.join(build, 'm.onnx'));
    writeFileSync(
      path.join(build, 'm.manifest.json'),
      JSON.stringify({ model: 'm.onnx', recipe: 'imagenet-eval', labels: 'imagenet1k', numClasses: 1000 }),
    );
    const out = path.join(build, 'int8', 'm-int8.onnx');
    const r = await mtailor(
      'quantize',
      path.join(build, 'm.onnx'),
      '--calibration',
      shared.tench,
      '--calibration',
      shared.mudTurtle,
      '--min-agreement',
      '0',
      '--no-speed',
      '--json',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    const manifest = path.join(build, 'int8', 'm-int8.manifest.json');
    expect(JSON.parse(r.stdout)).toMatchObject({
      files: { int8: out, manifest },
      settings: { recipe: 'imagenet-eval', calibrationImages: 2, folds: 2 },
      // No --eval: judged held out, each image measured on a model calibrated on the other one.
      judgedOn: 'cross-validation',
      accuracy: {
        calibration: { images: 2 },
        eval: null,
        crossValidated: {
          folds: 2,
          perFold: [
            { calibrationImages: 1, heldOutImages: 1 },
            { calibrationImages: 1, heldOutImages: 1 },
          ],
          heldOut: { images: 2 },
        },
      },
    });
    expect(r.stderr).toContain('[cross-validate] fold 2 of 2: calibrating on 1 image\n');
    expect(JSON.parse(readFileSync(manifest, 'utf8'))).toEqual({
      model: 'm-int8.onnx',
      recipe: 'imagenet-eval',
      labels: 'imagenet1k',
      numClasses: 1000,
    });
  });

  it('text report; exit 1 exactly when the agreement is below --min-agreement', async () => {
    const out = path.join(dir, 'q-text.onnx');
    const r = await mtailor(
      'quantize',
      shared.floatModel,
      '--calibration',
      shared.tench,
      '--calibration',
      shared.mudTurtle,
      '--eval',
      shared.images,
      '--method',
      'minmax',
      '--min-agreement',
      '1',
      '--speed-runs',
      '5',
      '--out',
      out,
    );
    // Two calibration images give rough ranges: against 104 held-out images, --min-agreement 1 is very likely missed;
    // whichever way it goes, the exit code must follow the printed verdict.
    const verdict = r.stdout.trim().split('\n').at(-1)!;
    expect(verdict).toMatch(/^(OK|FAILED): top-1 agreement [\d.]+ % on the evaluation images [≥<] 100\.0 %$/);
    expect(r.code).toBe(verdict.startsWith('OK') ? 0 : 1);
    expect(r.stdout).toContain(`wrote ${out} (`);
    expect(r.stdout).toContain(
      'onnxruntime kernels: 52 QLinearConv, 10 QLinearAdd, 1 QGemm, 1 QLinearGlobalAveragePool',
    );
    expect(r.stdout).toMatch(
      /speed \(onnxruntime, 1 thread, batch 1, 5 interleaved runs each\): float [\d.]+ ms/,
    );
    expect(r.stdout).toMatch(/evaluation images \(104 images\): top-1 [\d.]+ % \(\d+\/104\)/);
  });

  it('an already quantized model → exit 1 with the typed error (also as JSON)', async () => {
    const r = await mtailor(
      'quantize',
      shared.int8Model,
      '--calibration',
      shared.images,
      '--out',
      path.join(dir, 'never.onnx'),
      '--json',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('mtailor quantize: ALREADY_QUANTIZED: The model is already quantized');
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'ALREADY_QUANTIZED' } });
  });

  it('usage errors and unreadable inputs → exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['quantize', shared.floatModel, '--calibration', shared.images], /--out <int8.onnx> is required/],
      [['quantize', shared.floatModel, '--out', 'x.onnx'], /--calibration <folder or images> is required/],
      [
        ['quantize', shared.floatModel, '--calibration', shared.images, '--out', 'x.onnx', '--method', 'kl'],
        /--method expects one of percentile, minmax, entropy, mse, got 'kl'/,
      ],
      [
        [
          'quantize',
          shared.floatModel,
          '--calibration',
          shared.images,
          '--out',
          'x.onnx',
          '--method',
          'minmax',
          '--percentile',
          '99',
        ],
        /--percentile applies to --method percentile only/,
      ],
      [
        [
          'quantize',
          shared.floatModel,
          '--calibration',
          shared.images,
          '--out',
          'x.onnx',
          '--min-agreement',
          '97',
        ],
        /--min-agreement expects a fraction in \[0, 1\], got '97'/,
      ],
      [
        ['quantize', shared.floatModel, '--calibration', shared.images, '--out', 'x.onnx', '--folds', '1'],
        /--folds expects an integer ≥ 2, got '1'/,
      ],
      [
        [
          'quantize',
          shared.floatModel,
          '--calibration',
          shared.images,
          '--eval',
          shared.tench,
          '--out',
          'x.onnx',
          '--folds',
          '3',
        ],
        /--folds and --no-folds apply without --eval/,
      ],
      [
        [
          'quantize',
          path.join(dir, 'missing.onnx'),
          '--calibration',
          shared.images,
          '--out',
          path.join(dir, 'x.onnx'),
        ],
        /MODEL_UNREADABLE: Cannot read model/,
      ],
      [
        [
          'quantize',
          shared.floatModel,
          '--calibration',
          shared.images,
          '--out',
          path.join(dir, 'x.onnx'),
          '--exclude',
          'no-such-node',
        ],
        /INVALID_OPTION: Expected node names for exclude but received "no-such-node"/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await mtailor(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
