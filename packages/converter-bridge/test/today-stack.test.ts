/**
 * The converter on today's PyTorch (torch 2.14 / torchvision 0.29 / onnx 1.23 / onnxscript 0.7, `.venv-today`,
 * from python/today.lock), where torch.onnx.export defaults to the new exporter (torch.export + onnxscript).
 *
 * Which tests run on which stack, and why (CI has 2 cores; every conversion here costs 20–60 s):
 * - Debian's torch 1.13 (the oldest supported stack) runs the whole converter suite as before: convert-checkpoint,
 *   convert-mobilenet, zoo (resnet50, inception_v3, googlenet, efficientnet_b0, tiny ViT / Swin V2), quantize.
 * - Today's stack runs what changed with torch 2.x, not a second copy of everything: the new exporter's dynamic batch
 *   (batch 1, 3 and 8 against PyTorch), opsets 20/23 against the regenerated op table (no warnings, Gelu known),
 *   the TorchScript fallback, external data written on request and found from any working directory, and the zoo
 *   sample whose export paths differ most between the exporters (torchvision's own ViT attention and Swin V2 blocks,
 *   ConvNeXt's Gelu/LayerNorm), as tiny models of torchvision's classes. The real-weights mobilenet_v2 path on
 *   today's stack — convert, classify from another folder, validate without warnings, equal to torch 2.14 on every
 *   shared image — is test/today-stack.e2e.test.ts.
 * - Checkpoint handling, argument checks, manifests and parity arithmetic do not depend on the torch version of
 *   the export: they stay on one stack.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkParity, convertCheckpoint, validateModel } from '@mtailor/converter-bridge';
import { ImageClassifier, type MtailorError, readManifest } from '@mtailor/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasTodaysTorch, pythonToday, shared } from '../../../test/support/shared-data.js';
import { tempDir } from './support/torch-suite.js';
import { tinyTransformers } from './support/zoo.js';

const today = hasTodaysTorch();

/** What a file written with the process umask has (the new exporter's own data file is 0600). */
function normalMode(): number {
  const umask = process.umask();
  return 0o666 & ~umask;
}

/** torchvision 0.29's ConvNeXt with its own CNBlock (Gelu, LayerNorm, layer scale), small. */
const TINY_CONVNEXT = `from torchvision.models.convnext import CNBlockConfig, ConvNeXt


class TinyConvNeXt(ConvNeXt):
    def __init__(self, num_classes=10):
        super().__init__([CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 1)], num_classes=num_classes)
`;

describe.skipIf(!today)("the converter on today's PyTorch (torch 2.14, new exporter)", () => {
  const dir = tempDir('mtailor-today-');

  it('mobilenet_v2 with external data on request: <out>.data beside it, named by the manifest, found from any folder', async () => {
    const out = path.join(dir, 'ext', 'mnv2.onnx');
    const r = await convertCheckpoint({
      arch: 'mobilenet_v2',
      weights: shared.mobilenetWeights,
      out,
      externalData: true,
      python: pythonToday,
    });
    const data = path.join(dir, 'ext', 'mnv2.onnx.data');
    expect(r).toMatchObject({
      exporter: 'dynamo',
      opset: 23,
      externalData: 'mnv2.onnx.data',
      dynamicBatch: true,
    });
    expect(statSync(out).size).toBeLessThan(1_000_000);
    expect(statSync(data).size).toBeGreaterThan(13_000_000);
    expect(statSync(data).mode & 0o777).toBe(normalMode());
    expect(r.manifest).toMatchObject({
      model: 'mnv2.onnx',
      externalData: 'mnv2.onnx.data',
      export: { exporter: 'dynamo', opset: 23 },
    });
    expect(r.manifest!.description).toContain('dynamo exporter, opset 23');

    const report = await validateModel(out, { numClasses: 1000, load: true });
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(report.model!.externalData).toEqual(['mnv2.onnx.data']);

    // The test runs in the repository: no mnv2.onnx.data there, so the data is found beside the model.
    expect(existsSync(path.join(process.cwd(), 'mnv2.onnx.data'))).toBe(false);
    const parity = await checkParity(out, r.parityFile!);
    expect(parity.ok).toBe(true);
    expect(parity.batches.map((b) => [b.batchSize, b.ok])).toEqual([
      [3, true],
      [8, true],
    ]);
    const classifier = await ImageClassifier.create({ manifest: r.manifestPath!, intraOpThreads: 1 });
    try {
      const { predictions } = await classifier.classify(shared.tench, { topK: 1 });
      expect(predictions[0]).toMatchObject({ index: 0, label: 'tench' });
    } finally {
      await classifier.close();
    }

    unlinkSync(data);
    const missing = (await readManifest(r.manifestPath!).catch((e: unknown) => e)) as MtailorError;
    expect(missing.code).toBe('EXTERNAL_DATA_MISSING');
    expect(missing.message).toContain(data);
    const load = await validateModel(out, { load: true });
    expect(load.errors.map((e) => e.code)).toContain('EXTERNAL_DATA_MISSING');
  });

  describe('tiny models of torchvision 0.29 classes, both exporters', () => {
    let moduleDir: string;
    let convnext: string;
    let vit: string;
    let tiny: ReturnType<typeof tinyTransformers>;

    beforeAll(() => {
      moduleDir = path.join(dir, 'tiny');
      mkdirSync(moduleDir);
      tiny = tinyTransformers(moduleDir); // torchvision's ViT and Swin V2 blocks (checkpoints by torch 1.13)
      writeFileSync(path.join(moduleDir, 'tiny_convnext.py'), TINY_CONVNEXT);
      convnext = path.join(moduleDir, 'convnext.pth');
      vit = path.join(moduleDir, 'vit-head.pth');
      execFileSync(
        pythonToday,
        [
          '-c',
          `import sys, torch; sys.path.insert(0, ${JSON.stringify(moduleDir)})
from tiny_convnext import TinyConvNeXt
torch.manual_seed(0)
torch.save(TinyConvNeXt().eval().state_dict(), ${JSON.stringify(convnext)})
# torchvision initialises the ViT head to zeros: all logits 0 would make parity prove nothing
state = torch.load(${JSON.stringify(tiny.vit)}, weights_only=True)
state['heads.head.weight'] = torch.randn_like(state['heads.head.weight'])
torch.save(state, ${JSON.stringify(vit)})`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], timeout: 240_000 },
      );
    });

    for (const [name, arch, size, ops, exporter, opset] of [
      ['ConvNeXt', 'tiny_convnext:TinyConvNeXt', 64, ['Gelu', 'LayerNormalization'], 'dynamo', 23],
      ['ConvNeXt', 'tiny_convnext:TinyConvNeXt', 64, ['Conv'], 'torchscript', 20],
      ['ViT', 'tiny_zoo:TinyViT', 32, ['MatMul', 'Attention'], 'dynamo', 23],
      ['Swin V2', 'tiny_zoo:TinySwinV2', 64, ['MatMul', 'Softmax'], 'dynamo', 23],
    ] as const) {
      it(`${name}, ${exporter} exporter: opset ${opset}, valid without warnings, parity at batch 1, 3 and 8`, async () => {
        const weights = name === 'ConvNeXt' ? convnext : name === 'ViT' ? vit : tiny.swinV2;
        const r = await convertCheckpoint({
          arch,
          modulePaths: [moduleDir],
          weights,
          out: path.join(dir, exporter, `${arch.split(':')[1]}.onnx`),
          inputSize: size,
          exporter,
          python: pythonToday,
        });
        expect(r).toMatchObject({
          exporter,
          opset,
          externalData: null,
          inputShape: ['batch', 3, size, size],
        });
        expect(existsSync(`${r.modelPath}.data`)).toBe(false); // one self-contained file
        expect(statSync(r.modelPath).mode & 0o777).toBe(normalMode());
        const report = await validateModel(r.modelPath, { numClasses: 10, load: true });
        expect(report.errors).toEqual([]);
        expect(report.warnings).toEqual([]); // opset 23 and Gelu are in the op table
        for (const op of ops) expect(Object.keys(report.model!.opTypes)).toContain(op);
        const parity = await checkParity(r.modelPath, r.parityFile!);
        expect(parity).toMatchObject({ ok: true, top1Agreement: 1, violations: 0 });
        expect(parity.referenceScale).toBeGreaterThan(1e-3);
        expect(parity.batches.map((b) => [b.batchSize, b.ok])).toEqual([
          [3, true],
          [8, true],
        ]);
      });
    }
  });
});
