// Models whose weights live in an external-data file beside them (what torch ≥ 2.9's exporter writes by default):
// read from the model's own folder whatever the working directory, answers identical to the self-contained
// model, and a missing, short or escaping data file is a typed error naming the file. The external-data models
// are written by the onnx Python package (onnx.save_model with save_as_external_data), not by our own code.
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ExternalDataMissingError,
  ExternalDataPathError,
  ImageClassifier,
  type MtailorError,
  ONNXModel,
} from '@mtailor/core';
import { readModelFile } from '@mtailor/core/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTorch, python, shared } from '../../../test/support/shared-data.js';

const torch = hasTorch();

/** onnx.save_model with external data; `location` may be rewritten afterwards (to test unsafe locations). */
const SAVE_EXTERNAL = `
import sys, onnx
from onnx import external_data_helper as edh
src, dst, location, rewrite_to = sys.argv[1:5]
m = onnx.load(src)
onnx.save_model(m, dst, save_as_external_data=True, all_tensors_to_one_file=True, location=location,
                size_threshold=1024, convert_attribute=True)
if rewrite_to:
    m = onnx.load(dst, load_external_data=False)
    for t in edh._get_all_tensors(m):
        if edh.uses_external_data(t):
            for e in t.external_data:
                if e.key == 'location':
                    e.value = rewrite_to
    onnx.save_model(m, dst)
`;

describe.skipIf(!torch)('models with external data', () => {
  let root: string;
  let dir: string;
  const saveExternal = (name: string, location: string, rewriteTo = ''): string => {
    const file = path.join(dir, name);
    execFileSync(python, ['-c', SAVE_EXTERNAL, shared.floatModel, file, location, rewriteTo]);
    return file;
  };

  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'mtailor-external-'));
    dir = path.join(root, 'models');
    mkdirSync(dir);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('inlines the data from beside the model: same bytes of weights, same logits as the self-contained model', async () => {
    const file = saveExternal('mnv2.onnx', 'mnv2.onnx.data');
    expect(readFileSync(file).byteLength).toBeLessThan(1_000_000); // the weights really are outside
    const { model: bytes, externalDataFiles } = await readModelFile(file);
    expect(externalDataFiles).toEqual([path.join(dir, 'mnv2.onnx.data')]);
    expect(bytes).toBeInstanceOf(Uint8Array);
    // The inlined model is the original up to field order: same size to within the removed external-data entries.
    const original = readFileSync(shared.floatModel);
    expect(Math.abs((bytes as Uint8Array).byteLength - original.byteLength)).toBeLessThan(
      original.byteLength * 0.01,
    );

    // The working directory (the repository) holds no mnv2.onnx.data: onnxruntime alone would not find it.
    const external = await ONNXModel.load(file, { intraOpThreads: 1 });
    const inline = await ONNXModel.load(shared.floatModel, { intraOpThreads: 1 });
    try {
      const per = inline.inputElementsPerImage;
      const batch = new Float32Array(2 * per);
      for (let i = 0; i < per; i++) {
        batch[i] = (i % 224) / 112 - 1;
        batch[per + i] = ((i >> 4) & 1) === 0 ? 1.2 : -0.7;
      }
      expect(await external.run(batch, 2)).toEqual(await inline.run(batch, 2));
    } finally {
      external.dispose();
      inline.dispose();
    }
  });

  it('ImageClassifier (the engine, in its worker) classifies like the self-contained model', async () => {
    const file = saveExternal('engine.onnx', 'engine.onnx.data');
    const a = await ImageClassifier.create({ model: file, intraOpThreads: 1 });
    const b = await ImageClassifier.create({ model: shared.floatModel, intraOpThreads: 1 });
    try {
      const [got, want] = [
        await a.classify(shared.tench, { topK: 5 }),
        await b.classify(shared.tench, { topK: 5 }),
      ];
      expect(got.predictions).toEqual(want.predictions);
      expect(got.predictions[0]?.label).toBe('tench');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a missing data file is EXTERNAL_DATA_MISSING naming the file', async () => {
    const file = saveExternal('gone.onnx', 'gone.onnx.data');
    unlinkSync(path.join(dir, 'gone.onnx.data'));
    const err = await ONNXModel.load(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExternalDataMissingError);
    expect((err as MtailorError).code).toBe('EXTERNAL_DATA_MISSING');
    expect((err as Error).message).toContain(path.join(dir, 'gone.onnx.data'));
    expect((err as Error).message).toContain('ENOENT');
  });

  it('a data file shorter than the model says is EXTERNAL_DATA_MISSING naming the file and the bytes', async () => {
    const file = saveExternal('short.onnx', 'short.onnx.data');
    truncateSync(path.join(dir, 'short.onnx.data'), 1000);
    const err = await readModelFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExternalDataMissingError);
    expect((err as Error).message).toMatch(
      /needs bytes \d+\.\.\d+ of .*short\.onnx\.data, which has only 1000 bytes/,
    );
  });

  it.each([
    ['a parent folder', '../outside.data'],
    ['a folder that leads out', 'sub/../../outside.data'],
    ['an absolute path', '/etc/passwd'],
  ])('a location in %s is EXTERNAL_DATA_PATH and nothing is read', async (_what, location) => {
    const file = saveExternal(`escape-${location.length}.onnx`, `escape-${location.length}.data`, location);
    writeFileSync(path.join(root, 'outside.data'), Buffer.alloc(16)); // exists: still refused
    const err = await ONNXModel.load(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExternalDataPathError);
    expect((err as MtailorError).code).toBe('EXTERNAL_DATA_PATH');
    expect((err as Error).message).toContain(`'${location}'`);
    expect((err as Error).message).toContain(file);
  });

  it.each([
    ['a data file that is a symlink', false],
    ['a data file under a symlinked folder', true],
  ])('%s leading out of the model folder is EXTERNAL_DATA_PATH', async (_what, viaFolder) => {
    const name = viaFolder ? 'linked-folder' : 'linked-file';
    const location = viaFolder ? `elsewhere/${name}.data` : `${name}.data`;
    const file = saveExternal(`${name}.onnx`, `${name}.data`, location);
    const outside = path.join(root, `outside-${name}`);
    mkdirSync(outside);
    renameSync(path.join(dir, `${name}.data`), path.join(outside, `${name}.data`));
    if (viaFolder) symlinkSync(outside, path.join(dir, 'elsewhere'));
    else symlinkSync(path.join(outside, `${name}.data`), path.join(dir, `${name}.data`));
    const err = await readModelFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExternalDataPathError);
    expect((err as MtailorError).code).toBe('EXTERNAL_DATA_PATH');
    expect((err as Error).message).toContain(`'${location}'`);
    expect((err as Error).message).toContain(path.join(outside, `${name}.data`));
  });

  it('a symlink that stays inside the folder is followed', async () => {
    const file = saveExternal('alias.onnx', 'alias-real.data', 'alias.data');
    symlinkSync('alias-real.data', path.join(dir, 'alias.data'));
    const { model, externalDataFiles } = await readModelFile(file);
    expect(externalDataFiles).toEqual([path.join(dir, 'alias.data')]);
    const original = readFileSync(shared.floatModel).byteLength;
    expect(Math.abs((model as Uint8Array).byteLength - original)).toBeLessThan(original * 0.01);
  });

  it('a self-contained model is handed over as read, byte for byte', async () => {
    const { model, externalDataFiles } = await readModelFile(shared.int8Model);
    expect(externalDataFiles).toEqual([]);
    expect(Buffer.compare(model as Uint8Array, readFileSync(shared.int8Model))).toBe(0);
  });
});
