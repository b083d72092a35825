/**
 * Real PyTorch → ONNX conversions: the seed Classifier (ResNet-18) with random weights saved by this test, a
 * DataParallel-wrapped checkpoint with a static batch, and a user's own nn.Module; then validation and parity.
 * Plus every conversion error path with real inputs (wrong weights, unknown architecture, no Python, no torch).
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ConverterError,
  type ConvertProgress,
  type ConvertResult,
  checkParity,
  convertCheckpoint,
  readParityVectors,
  validateModel,
} from '@mtailor/converter-bridge';
import { readManifest } from '@mtailor/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { python, shared } from '../../../test/support/shared-data.js';
import { type Checkpoints, makeCheckpoints } from './support/checkpoints.js';
import { describeWithTorch, tempDir } from './support/torch-suite.js';

describeWithTorch('convertCheckpoint with real PyTorch', () => {
  const dir = tempDir('mtailor-convert-');
  let ckpt: Checkpoints;
  let seed: ConvertResult;
  const progress: ConvertProgress[] = [];

  beforeAll(async () => {
    ckpt = makeCheckpoints(dir);
    seed = await convertCheckpoint({
      arch: 'seed-resnet18',
      weights: ckpt.seed,
      out: path.join(dir, 'seed', 'classifier.onnx'),
      python,
      onProgress: (p) => progress.push(p),
    });
  });

  describe('seed Classifier (ResNet-18), random weights', () => {
    it('exports with input/logits, dynamic batch, the highest opset torch 1.13 and onnxruntime share', () => {
      expect(seed).toMatchObject({
        modelPath: path.join(dir, 'seed', 'classifier.onnx'),
        arch: 'seed-resnet18',
        opset: 17,
        exporter: 'torchscript', // torch < 2.9: the TorchScript exporter
        externalData: null,
        irVersion: 8,
        inputShape: ['batch', 3, 224, 224],
        outputShape: ['batch', 1000],
        numClasses: 1000,
        dynamicBatch: true,
        weightsLoad: 'weights_only',
        onnxChecker: 'passed',
      });
      expect(seed.fileBytes).toBeGreaterThan(40_000_000); // 11.7 M float32 parameters
    });

    it("writes the manifest beside the model: the seed's resize-224, ImageNet labels, read back by @mtailor/core", async () => {
      expect(seed.manifestPath).toBe(path.join(dir, 'seed', 'classifier.manifest.json'));
      expect(seed.manifest).toMatchObject({
        export: { exporter: 'torchscript', opset: 17, irVersion: 8 },
        model: 'classifier.onnx',
        recipe: 'resize-224',
        labels: 'imagenet1k',
        numClasses: 1000,
        outputKind: 'logits',
      });
      const manifest = await readManifest(seed.manifestPath!);
      expect(manifest.modelPath).toBe(seed.modelPath);
      expect(manifest.labels[0]).toBe('tench');
    });

    it('streams numbered progress lines', () => {
      expect(progress.map((p) => p.stage)).toEqual([
        'import',
        'build',
        'weights',
        'probe',
        'export',
        'check',
        'parity',
      ]);
      expect(progress.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(progress.every((p) => p.total === 7 && p.message.length > 0)).toBe(true);
    });

    it('is valid', async () => {
      const report = await validateModel(seed.modelPath, { inputShape: [1, 3, 224, 224], numClasses: 1000 });
      expect(report.errors).toEqual([]);
      expect(report.warnings).toEqual([]);
      expect(report.model!.inputs).toEqual([
        { name: 'input', type: 'float32', shape: ['batch', 3, 224, 224] },
      ]);
      expect(report.model!.outputs).toEqual([{ name: 'logits', type: 'float32', shape: ['batch', 1000] }]);
      expect(report.model!.opsets).toEqual([{ domain: 'ai.onnx', version: 17 }]);
    });

    it('matches PyTorch within 1e-4 on the seeded random parity inputs', async () => {
      const vectors = await readParityVectors(seed.parityFile!);
      expect(vectors.samples).toBe(4);
      expect(vectors.inputShape).toEqual([4, 3, 224, 224]);
      expect(vectors.meta.source).toMatchObject({ kind: 'random', seed: 0 });
      const parity = await checkParity(seed.modelPath, seed.parityFile!);
      expect(parity.maxAbsDiff).toBeLessThanOrEqual(1e-4);
      expect(parity.referenceScale).toBeGreaterThan(1); // random BN statistics keep the logits far from 0
      expect(parity.top1Agreement).toBe(1);
      expect(parity.ok).toBe(true);
    });

    it('parity fails when the stored PyTorch logits differ by more than the tolerance', async () => {
      const bad = path.join(dir, 'tampered');
      const vectors = JSON.parse(readFileSync(seed.parityFile!, 'utf8')) as { logits: { offset: number } };
      rmSync(bad, { recursive: true, force: true });
      mkdirSync(bad);
      copyFileSync(seed.parityFile!, path.join(bad, path.basename(seed.parityFile!)));
      const bin = readFileSync(seed.parityBinary!);
      const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
      const at = vectors.logits.offset + 4 * 7; // logit 7 of sample 0
      view.setFloat32(at, view.getFloat32(at, true) + 0.01, true);
      writeFileSync(path.join(bad, path.basename(seed.parityBinary!)), bin);
      const parity = await checkParity(seed.modelPath, path.join(bad, path.basename(seed.parityFile!)));
      expect(parity.ok).toBe(false);
      expect(parity.maxAbsDiff).toBeGreaterThan(0.009);
      expect(parity.perSample[0]!.maxAbsDiff).toBeGreaterThan(0.009);
      expect(parity.perSample[1]!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    });
  });

  it('a {state_dict: {module.*}} checkpoint, static batch, input size 160', async () => {
    const result = await convertCheckpoint({
      arch: 'seed-resnet18',
      weights: ckpt.seedWrapped,
      out: path.join(dir, 'wrapped.onnx'),
      python,
      staticBatch: true,
      inputSize: 160,
      noParity: true,
    });
    expect(result).toMatchObject({
      inputShape: [1, 3, 160, 160],
      dynamicBatch: false,
      parityFile: undefined,
    });
    // The seed's pipeline at the model's size: Resize((160, 160)).
    expect(result.manifest!.recipe).toMatchObject({
      name: 'resize-160',
      steps: [{ op: 'toRGB' }, { op: 'resize', width: 160, height: 160, filter: 'bilinear' }],
    });
    const report = await validateModel(result.modelPath, { inputShape: [1, 3, 160, 160], numClasses: 1000 });
    expect(report.ok).toBe(true);
    expect(report.warnings.map((w) => w.code)).toEqual(['BATCH_FIXED']);
    const wrongSize = await validateModel(result.modelPath, { inputShape: [1, 3, 224, 224] });
    expect(wrongSize.errors.map((e) => e.code)).toEqual(['INPUT_SIZE']);
  });

  it("a user's own nn.Module (module:Class with modulePaths), 10 classes, opset 13", async () => {
    const result = await convertCheckpoint({
      arch: 'tiny_net:TinyNet',
      modulePaths: [ckpt.userModuleDir],
      weights: ckpt.tiny,
      out: path.join(dir, 'tiny.onnx'),
      python,
      opset: 13,
      inputSize: 32,
      paritySamples: 3,
      seed: 7,
    });
    expect(result).toMatchObject({ opset: 13, numClasses: 10, outputShape: ['batch', 10] });
    expect(result.manifestPath).toBeUndefined(); // nothing says how to preprocess for TinyNet, or its labels
    expect(result.manifestSkipped).toBe(
      'no preprocessing known for tiny_net:TinyNet: pass recipe (--recipe <preset|file.json>)',
    );
    expect(existsSync(path.join(dir, 'tiny.manifest.json'))).toBe(false);
    const report = await validateModel(result.modelPath, { numClasses: 10, opsetMax: 13 });
    expect(report.errors).toEqual([]);
    const parity = await checkParity(result.modelPath, result.parityFile!);
    expect(parity).toMatchObject({ ok: true, samples: 3, top1Agreement: 1 });
  });

  it("a user's nn.Module with a recipe file and a labels file: manifest written, input size from the recipe", async () => {
    const recipeFile = path.join(dir, 'tiny-recipe.json');
    writeFileSync(
      recipeFile,
      JSON.stringify({
        name: 'tiny-40-32',
        steps: [
          { op: 'toRGB' },
          { op: 'resizeShorterSide', size: 40, filter: 'bicubic' },
          { op: 'centerCrop', width: 32, height: 32 },
        ],
        tensor: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
      }),
    );
    const labelsFile = path.join(dir, 'labels', 'tiny.txt');
    mkdirSync(path.dirname(labelsFile), { recursive: true });
    writeFileSync(labelsFile, `${Array.from({ length: 10 }, (_, i) => `digit ${i}`).join('\n')}\n`);
    const result = await convertCheckpoint({
      arch: 'tiny_net:TinyNet',
      modulePaths: [ckpt.userModuleDir],
      weights: ckpt.tiny,
      out: path.join(dir, 'tiny-manifest', 'tiny.onnx'),
      recipe: recipeFile,
      labels: labelsFile,
      noParity: true,
      python,
    });
    expect(result.inputShape).toEqual(['batch', 3, 32, 32]); // what the recipe makes
    expect(result.manifest).toMatchObject({
      model: 'tiny.onnx',
      labels: '../labels/tiny.txt',
      numClasses: 10,
    });
    const manifest = await readManifest(result.manifestPath!);
    expect(manifest.labels[9]).toBe('digit 9');
    expect(manifest.recipe).toMatchObject({ name: 'tiny-40-32' });
  });

  it('a bad recipe or labels option → INVALID_OPTION before Python starts', async () => {
    const base = {
      arch: 'seed-resnet18',
      weights: ckpt.seed,
      out: path.join(dir, 'never.onnx'),
      python: '/nonexistent',
    };
    await expect(convertCheckpoint({ ...base, recipe: 'no-such-preset' })).rejects.toThrow(
      /"no-such-preset" is neither a preset \(resize-224, imagenet-eval\) nor a readable JSON recipe file/,
    );
    await expect(convertCheckpoint({ ...base, recipe: 'imagenet-eval', inputSize: 160 })).rejects.toThrow(
      'The recipe makes 224×224 images but inputSize is 160',
    );
    await expect(
      convertCheckpoint({ ...base, recipe: { steps: [{ op: 'toRGB' }], tensor: {} } as never }),
    ).rejects.toThrow('The recipe must end with a square resize or center crop');
    await expect(convertCheckpoint({ ...base, labels: path.join(dir, 'none.txt') })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    await expect(convertCheckpoint({ ...base, manifest: base.out })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    await expect(convertCheckpoint({ ...base, torchvisionWeights: 'DEFAULT' })).rejects.toThrow(
      'torchvisionWeights applies to torchvision builders, not to seed-resnet18',
    );
  });

  it('a whole pickled nn.Module loads only with allowPickle (weights_only by default)', async () => {
    const refused = (await convertCheckpoint({
      arch: 'tiny_net:TinyNet',
      modulePaths: [ckpt.userModuleDir],
      weights: ckpt.tinyPickled,
      out: path.join(dir, 'never.onnx'),
      python,
    }).catch((e: unknown) => e)) as ConverterError;
    expect(refused.code).toBe('WEIGHTS_UNREADABLE');
    expect(refused.message).toContain('--allow-pickle');
    const result = await convertCheckpoint({
      arch: 'tiny_net:TinyNet',
      modulePaths: [ckpt.userModuleDir],
      weights: ckpt.tinyPickled,
      out: path.join(dir, 'tiny_pickled.onnx'),
      python,
      inputSize: 32,
      allowPickle: true,
      noParity: true,
    });
    expect(result.weightsLoad).toBe('pickle');
    expect((await validateModel(result.modelPath, { numClasses: 10 })).ok).toBe(true);
  });

  it('a malicious checkpoint cannot run code: weights_only refuses it before anything executes', async () => {
    const err = (await convertCheckpoint({
      arch: 'seed-resnet18',
      weights: ckpt.evil,
      out: path.join(dir, 'never.onnx'),
      python,
    }).catch((e: unknown) => e)) as ConverterError;
    expect(err.code).toBe('WEIGHTS_UNREADABLE');
    expect(existsSync(ckpt.evilMarker)).toBe(false);
  });

  describe('errors', () => {
    it('weights of another architecture → WEIGHTS_MISMATCH listing missing and unexpected keys', async () => {
      const err = (await convertCheckpoint({
        arch: 'seed-resnet18',
        weights: shared.mobilenetWeights,
        out: path.join(dir, 'never.onnx'),
        python,
      }).catch((e: unknown) => e)) as ConverterError;
      expect(err).toBeInstanceOf(ConverterError);
      expect(err.code).toBe('WEIGHTS_MISMATCH');
      const details = err.details as { missing: string[]; unexpected: string[] };
      expect(details.missing).toContain('layer1.0.conv1.weight');
      expect(details.missing).toContain('fc.weight');
      expect(details.unexpected).toContain('features.0.0.weight');
      expect(err.message).toMatch(/missing in checkpoint \(\d+\): .*conv1\.weight/);
      expect(err.message).toMatch(/unexpected in checkpoint \(\d+\): .*features\.0\.0\.weight/);
    });

    it('a head of the wrong size → WEIGHTS_MISMATCH with the shapes', async () => {
      const err = (await convertCheckpoint({
        arch: 'resnet18',
        numClasses: 10,
        weights: ckpt.seed,
        out: path.join(dir, 'never.onnx'),
        python,
      }).catch((e: unknown) => e)) as ConverterError;
      expect(err.code).toBe('WEIGHTS_MISMATCH');
      expect(err.details!.shapeMismatch).toEqual([
        { key: 'fc.bias', checkpoint: [1000], model: [10] },
        { key: 'fc.weight', checkpoint: [1000, 512], model: [10, 512] },
      ]);
      expect(err.message).toContain('shape mismatch fc.weight: checkpoint [1000, 512] vs model [10, 512]');
    });

    it('unknown architecture → UNKNOWN_ARCH (names, modules and classes)', async () => {
      const expected: [string, RegExp][] = [
        ['ResNet-18', /Unknown architecture 'ResNet-18'\. Did you mean resnet18/],
        ['no_such_module_xyz:Net', /Cannot import module 'no_such_module_xyz'/],
        ['tiny_net:NoSuchClass', /has no attribute 'NoSuchClass'/],
      ];
      for (const [arch, message] of expected) {
        const err = (await convertCheckpoint({
          arch,
          weights: ckpt.seed,
          out: path.join(dir, 'never.onnx'),
          python,
          modulePaths: [ckpt.userModuleDir],
        }).catch((e: unknown) => e)) as ConverterError;
        expect(err.code).toBe('UNKNOWN_ARCH');
        expect(err.message).toMatch(message);
      }
    });

    it('missing or non-checkpoint weights → WEIGHTS_NOT_FOUND / WEIGHTS_UNREADABLE', async () => {
      await expect(
        convertCheckpoint({
          arch: 'resnet18',
          weights: path.join(dir, 'nope.pth'),
          out: path.join(dir, 'n.onnx'),
          python,
        }),
      ).rejects.toMatchObject({ code: 'WEIGHTS_NOT_FOUND' });
      const text = path.join(dir, 'notes.pth');
      writeFileSync(text, 'this is not a checkpoint');
      await expect(
        convertCheckpoint({ arch: 'resnet18', weights: text, out: path.join(dir, 'n.onnx'), python }),
      ).rejects.toMatchObject({ code: 'WEIGHTS_UNREADABLE' });
    });

    it('an output path that cannot be created → OUTPUT_NOT_WRITABLE', async () => {
      const file = path.join(dir, 'a-regular-file');
      writeFileSync(file, 'not a folder');
      await expect(
        convertCheckpoint({
          arch: 'resnet18',
          weights: ckpt.seed,
          out: path.join(file, 'model.onnx'),
          python,
        }),
      ).rejects.toMatchObject({ code: 'OUTPUT_NOT_WRITABLE' });
    });

    it('an opset outside what torch and onnxruntime share → OPSET_UNSUPPORTED', async () => {
      await expect(
        convertCheckpoint({
          arch: 'resnet18',
          weights: ckpt.seed,
          out: path.join(dir, 'n.onnx'),
          python,
          opset: 99,
        }),
      ).rejects.toMatchObject({ code: 'OPSET_UNSUPPORTED' });
    });

    it('no such interpreter → PYTHON_NOT_FOUND', async () => {
      await expect(
        convertCheckpoint({
          arch: 'resnet18',
          weights: ckpt.seed,
          out: path.join(dir, 'n.onnx'),
          python: path.join(dir, 'no-python-here'),
        }),
      ).rejects.toMatchObject({ code: 'PYTHON_NOT_FOUND' });
    });

    it('a Python without torch → TORCH_MISSING', async () => {
      // The same interpreter without site-packages (-S -s): a real Python that cannot import torch.
      const bare = path.join(dir, 'python-without-site');
      writeFileSync(bare, `#!/bin/sh\nexec ${JSON.stringify(python)} -S -s "$@"\n`);
      chmodSync(bare, 0o755);
      const err = (await convertCheckpoint({
        arch: 'resnet18',
        weights: ckpt.seed,
        out: path.join(dir, 'n.onnx'),
        python: bare,
      }).catch((e: unknown) => e)) as ConverterError;
      expect(err.code).toBe('TORCH_MISSING');
      expect(err.message).toMatch(/PyTorch is not importable/);
    });

    it('an AbortSignal stops the conversion → ABORTED, no model written', async () => {
      const controller = new AbortController();
      const out = path.join(dir, 'aborted.onnx');
      await expect(
        convertCheckpoint({
          arch: 'seed-resnet18',
          weights: ckpt.seed,
          out,
          python,
          signal: controller.signal,
          onProgress: () => controller.abort(),
        }),
      ).rejects.toMatchObject({ code: 'ABORTED' });
      expect(existsSync(out)).toBe(false);
    });

    it('torchvision not importable → TORCHVISION_MISSING for torchvision names; seed-resnet18 needs only torch', async () => {
      // A torchvision package that fails to import, first on PYTHONPATH, shadows the real one.
      const fake = path.join(dir, 'broken-torchvision');
      mkdirSync(path.join(fake, 'torchvision'), { recursive: true });
      writeFileSync(
        path.join(fake, 'torchvision', '__init__.py'),
        'raise ImportError("torchvision is broken here")\n',
      );
      const wrapper = path.join(dir, 'python-broken-torchvision');
      writeFileSync(
        wrapper,
        `#!/bin/sh\nPYTHONPATH=${JSON.stringify(fake)} exec ${JSON.stringify(python)} "$@"\n`,
      );
      chmodSync(wrapper, 0o755);
      await expect(
        convertCheckpoint({
          arch: 'resnet18',
          weights: ckpt.seed,
          out: path.join(dir, 'n.onnx'),
          python: wrapper,
        }),
      ).rejects.toMatchObject({ code: 'TORCHVISION_MISSING' });
      const seedOnly = await convertCheckpoint({
        arch: 'seed-resnet18',
        weights: ckpt.seed,
        out: path.join(dir, 'seed-without-torchvision.onnx'),
        python: wrapper,
        inputSize: 64,
        noParity: true,
      });
      expect(seedOnly.torchvisionVersion).toBeNull();
      expect((await validateModel(seedOnly.modelPath, { numClasses: 1000 })).ok).toBe(true);
    });

    it('an onProgress callback that throws stops the export and rejects with its error', async () => {
      await expect(
        convertCheckpoint({
          arch: 'seed-resnet18',
          weights: ckpt.seed,
          out: path.join(dir, 'callback.onnx'),
          python,
          onProgress: () => {
            throw new Error('progress bar broke');
          },
        }),
      ).rejects.toThrow('progress bar broke');
      expect(existsSync(path.join(dir, 'callback.onnx'))).toBe(false);
    });

    it('bad options → INVALID_OPTION before Python starts', async () => {
      await expect(
        convertCheckpoint({ arch: '', weights: ckpt.seed, out: path.join(dir, 'n.onnx') }),
      ).rejects.toThrow('Expected non-empty string for arch but received "" of type string');
      await expect(
        convertCheckpoint({
          arch: 'resnet18',
          weights: ckpt.seed,
          out: path.join(dir, 'n.onnx'),
          inputSize: 0,
        }),
      ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    });
  });
});
