/**
 * The validator on real models: the shared mobilenet_v2 files, a small valid classifier built here with
 * onnx-proto (and run by onnxruntime to prove it is real), and one broken variant per check code.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ConverterError,
  VALIDATION_CHECKS,
  type ValidationCode,
  type ValidationReport,
  validateModel,
  validateModelBytes,
} from '@mtailor/converter-bridge';
import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { shared } from '../../../test/support/shared-data.js';
import {
  baselineModel,
  encode,
  float32Bytes,
  seededBytes,
  valueInfo,
  variant,
  withNewerGraphField,
  withUnknownFields,
} from './support/onnx-builder.js';

const codes = (issues: { code: ValidationCode }[]): ValidationCode[] => issues.map((i) => i.code);

/** Assert the report fails with exactly this error code (and no other errors). */
function expectOnlyError(report: ValidationReport, code: ValidationCode): void {
  expect(report.ok).toBe(false);
  expect(codes(report.errors)).toEqual([code]);
}

async function ortLoads(bytes: Uint8Array): Promise<boolean> {
  try {
    const session = await ort.InferenceSession.create(bytes);
    await session.release();
    return true;
  } catch {
    return false;
  }
}

const tmp = mkdtempSync(path.join(tmpdir(), 'mtailor-validate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('validateModel on the shared models', () => {
  for (const file of [shared.floatModel, shared.int8Model]) {
    it(`${path.basename(file)} is valid`, async () => {
      const report = await validateModel(file, { inputShape: [1, 3, 224, 224], numClasses: 1000 });
      expect(report.errors).toEqual([]);
      expect(report.ok).toBe(true);
      const m = report.model!;
      expect(m.irVersion).toBe(7);
      expect(m.opsets).toContainEqual({ domain: 'ai.onnx', version: 13 });
      expect(m.inputs).toEqual([{ name: 'input', type: 'float32', shape: ['batch', 3, 224, 224] }]);
      expect(m.outputs).toEqual([{ name: 'logits', type: 'float32', shape: ['batch', 1000] }]);
      expect(m.fileBytes).toBe(readFileSync(file).length);
      expect(m.nodeCount).toBeGreaterThan(100);
    });
  }

  it('reports the float model weights (3.5 M float32 parameters ≈ 14 MB)', async () => {
    const report = await validateModel(shared.floatModel);
    expect(report.model!.initializerBytes).toBeGreaterThan(13_000_000);
    expect(report.model!.producer.name).toBe('pytorch');
  });

  it('a truncated copy of the real model → PARSE_FAILED', async () => {
    const bytes = readFileSync(shared.floatModel);
    const report = validateModelBytes(bytes.subarray(0, Math.floor(bytes.length / 2)));
    expectOnlyError(report, 'PARSE_FAILED');
    expect(report.model).toBeNull();
  });
});

describe('the baseline classifier built with onnx-proto', () => {
  it('is valid and onnxruntime runs it', async () => {
    const bytes = encode(baselineModel());
    const report = validateModelBytes(bytes, { numClasses: 10, inputShape: [null, 3, 8, 8] });
    expect(report).toMatchObject({ ok: true, errors: [], warnings: [] });
    expect(report.model!.opTypes).toEqual({ Flatten: 1, Gemm: 1, GlobalAveragePool: 1 });
    expect(report.model!.initializerBytes).toBe(160);
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({
      input: new ort.Tensor('float32', new Float32Array(2 * 3 * 64).fill(1), [2, 3, 8, 8]),
    });
    expect(out.logits!.dims).toEqual([2, 10]);
    await session.release();
  });

  it('still parses with fields newer than onnx-proto 1.10 schema (unknown top-level and graph fields)', async () => {
    const plain = validateModelBytes(encode(baselineModel()));
    const topLevel = validateModelBytes(withUnknownFields(encode(baselineModel())));
    const inGraph = validateModelBytes(withNewerGraphField(baselineModel()));
    for (const report of [topLevel, inGraph]) {
      expect(report.ok).toBe(true);
      expect({ ...report.model, fileBytes: 0 }).toEqual({ ...plain.model, fileBytes: 0 });
    }
    // onnxruntime agrees that these are valid models.
    expect(await ortLoads(withNewerGraphField(baselineModel()))).toBe(true);
  });
});

describe('each broken model → its own code', () => {
  it('random bytes → PARSE_FAILED', () => {
    expectOnlyError(validateModelBytes(seededBytes(4096, 42)), 'PARSE_FAILED');
    expectOnlyError(validateModelBytes(new Uint8Array(0)), 'PARSE_FAILED');
  });

  it('IR 14 → IR_VERSION_UNSUPPORTED (and onnxruntime 1.30 indeed refuses it)', async () => {
    const bytes = variant((m) => {
      m.irVersion = 14;
    });
    expectOnlyError(validateModelBytes(bytes), 'IR_VERSION_UNSUPPORTED');
    expect(await ortLoads(bytes)).toBe(false);
    const ir13 = variant((m) => {
      m.irVersion = 13;
    });
    expect(validateModelBytes(ir13).ok).toBe(true);
    expect(await ortLoads(ir13)).toBe(true);
  });

  it('no ir_version → IR_VERSION_MISSING', () => {
    const bytes = variant((m) => {
      delete m.irVersion;
    });
    expectOnlyError(validateModelBytes(bytes), 'IR_VERSION_MISSING');
  });

  it('no opset_import → OPSET_MISSING', () => {
    expectOnlyError(
      validateModelBytes(
        variant((m) => {
          m.opsetImport = [];
        }),
      ),
      'OPSET_MISSING',
    );
    expectOnlyError(
      validateModelBytes(
        variant((m) => {
          m.opsetImport = [{ domain: 'ai.onnx.ml', version: 3 }];
        }),
      ),
      'OPSET_MISSING',
    );
  });

  it('opset 27 → OPSET_OUT_OF_RANGE (onnxruntime refuses it); --opset-min/max are honoured', async () => {
    const op27 = variant((m) => {
      m.opsetImport = [{ domain: '', version: 27 }];
    });
    const report = validateModelBytes(op27);
    expect(codes(report.errors)).toEqual(['OPSET_OUT_OF_RANGE']);
    expect(await ortLoads(op27)).toBe(false);
    const base = encode(baselineModel());
    expectOnlyError(validateModelBytes(base, { opsetMin: 15 }), 'OPSET_OUT_OF_RANGE');
    expectOnlyError(validateModelBytes(base, { opsetMax: 12 }), 'OPSET_OUT_OF_RANGE');
    expect(validateModelBytes(base, { opsetMin: 13, opsetMax: 13 }).ok).toBe(true);
  });

  it("opsets 20 and 23 (torch 2.14's TorchScript and new exporter) are in the op table: no warning", () => {
    for (const version of [20, 23]) {
      const report = validateModelBytes(
        variant((m) => {
          m.irVersion = 10;
          m.opsetImport = [{ domain: '', version }];
        }),
      );
      expect(report.ok).toBe(true);
      expect(report.warnings).toEqual([]);
    }
  });

  it('opset 27 (beyond the op table of opsets ≤ 26, allowed by opsetMax) → only an OPSET_BEYOND_TABLE warning', () => {
    const report = validateModelBytes(
      variant((m) => {
        m.irVersion = 10;
        m.opsetImport = [{ domain: '', version: 27 }];
      }),
      { opsetMax: 27 },
    );
    expect(report.ok).toBe(true);
    expect(codes(report.warnings)).toEqual(['OPSET_BEYOND_TABLE']);
  });

  it('wrong input shape → INPUT_SIZE / INPUT_CHANNELS / INPUT_RANK / INPUT_TYPE / INPUT_BATCH', () => {
    const base = encode(baselineModel());
    expectOnlyError(validateModelBytes(base, { inputShape: [1, 3, 224, 224] }), 'INPUT_SIZE');
    expectOnlyError(
      validateModelBytes(
        variant((m) => {
          m.graph.input = [valueInfo('input', ['batch', 1, 8, 8])];
        }),
      ),
      'INPUT_CHANNELS',
    );
    expectOnlyError(
      validateModelBytes(
        variant((m) => {
          m.graph.input = [valueInfo('input', ['batch', 3, 8])];
        }),
      ),
      'INPUT_RANK',
    );
    expectOnlyError(
      validateModelBytes(
        variant((m) => {
          m.graph.input = [valueInfo('input', null)];
        }),
      ),
      'INPUT_RANK',
    );
    expectOnlyError(
      validateModelBytes(
        variant((m) => {
          m.graph.input = [valueInfo('input', ['batch', 3, 8, 8], 2)];
        }),
      ),
      'INPUT_TYPE',
    );
    const fixed8 = variant((m) => {
      m.graph.input = [valueInfo('input', [8, 3, 8, 8])];
    });
    const report = validateModelBytes(fixed8, { inputShape: [1, 3, 8, 8] });
    expect(codes(report.errors)).toEqual(['INPUT_BATCH']);
    expect(codes(report.warnings)).toEqual(['BATCH_FIXED']);
  });

  it('fixed batch → BATCH_FIXED warning only (the model is still valid)', () => {
    const report = validateModelBytes(
      variant((m) => {
        m.graph.input = [valueInfo('input', [1, 3, 8, 8])];
        m.graph.output = [valueInfo('logits', [1, 10])];
      }),
    );
    expect(report.ok).toBe(true);
    expect(codes(report.warnings)).toEqual(['BATCH_FIXED']);
  });

  it('two image inputs → INPUT_COUNT', () => {
    const report = validateModelBytes(
      variant((m) => {
        m.graph.input!.push(valueInfo('second_image', ['batch', 3, 8, 8]));
      }),
    );
    expectOnlyError(report, 'INPUT_COUNT');
    expect(report.errors[0]!.message).toContain('second_image');
  });

  it('weights listed as graph inputs (old exporters) are not counted as image inputs', () => {
    const report = validateModelBytes(
      variant((m) => {
        m.graph.input!.push(valueInfo('fc.weight', [10, 3]), valueInfo('fc.bias', [10]));
      }),
    );
    expect(report.ok).toBe(true);
  });

  it('[N,10] output with numClasses 1000 → OUTPUT_CLASSES; output count, type and rank checked', () => {
    expectOnlyError(validateModelBytes(encode(baselineModel()), { numClasses: 1000 }), 'OUTPUT_CLASSES');
    expectOnlyError(
      validateModelBytes(
        variant((m) => {
          m.graph.output!.push(valueInfo('flat', ['batch', 3]));
        }),
      ),
      'OUTPUT_COUNT',
    );
    expectOnlyError(
      validateModelBytes(
        variant((m) => {
          m.graph.output = [valueInfo('logits', ['batch', 10], 11)];
        }),
      ),
      'OUTPUT_TYPE',
    );
    expectOnlyError(
      validateModelBytes(
        variant((m) => {
          m.graph.output = [valueInfo('logits', ['batch', 10, 1])];
        }),
      ),
      'OUTPUT_SHAPE',
    );
    const symbolic = validateModelBytes(
      variant((m) => {
        m.graph.output = [valueInfo('logits', ['batch', 'classes'])];
      }),
      { numClasses: 10 },
    );
    expect(symbolic.ok).toBe(true);
    expect(codes(symbolic.warnings)).toEqual(['OUTPUT_CLASSES_SYMBOLIC']);
  });

  it('a node reading an undefined tensor → DANGLING_INPUT (onnxruntime refuses it too)', async () => {
    const bytes = variant((m) => {
      m.graph.node![2]!.input = ['flat', 'fc.weight', 'no_such_bias'];
      m.graph.initializer!.pop();
    });
    const report = validateModelBytes(bytes);
    expectOnlyError(report, 'DANGLING_INPUT');
    expect(report.errors[0]!.message).toContain("'no_such_bias'");
    expect(await ortLoads(bytes)).toBe(false);
  });

  it('nodes out of order → NODE_ORDER', () => {
    const report = validateModelBytes(
      variant((m) => {
        m.graph.node!.reverse();
      }),
    );
    expect(report.ok).toBe(false);
    expect(new Set(codes(report.errors))).toEqual(new Set(['NODE_ORDER']));
    expect(report.errors[0]!.message).toMatch(/produced later by node #/);
  });

  it('a name produced twice → DUPLICATE_OUTPUT; a graph output nobody produces → OUTPUT_UNDEFINED', () => {
    expectOnlyError(
      validateModelBytes(
        variant((m) => {
          m.graph.node!.splice(2, 0, { opType: 'Identity', input: ['flat'], output: ['pooled'] });
        }),
      ),
      'DUPLICATE_OUTPUT',
    );
    expectOnlyError(
      validateModelBytes(
        variant((m) => {
          m.graph.output = [valueInfo('scores', ['batch', 10])];
        }),
      ),
      'OUTPUT_UNDEFINED',
    );
  });

  it('unknown op → UNKNOWN_OP; an op newer than the opset → OP_NOT_IN_OPSET (onnxruntime refuses both)', async () => {
    const unknown = variant((m) => {
      m.graph.node![1]!.opType = 'FlattenPlusPlus';
    });
    expectOnlyError(validateModelBytes(unknown), 'UNKNOWN_OP');
    expect(await ortLoads(unknown)).toBe(false);
    const tooNew = variant((m) => {
      m.graph.node!.splice(1, 0, { opType: 'HardSwish', input: ['pooled'], output: ['swished'] });
      m.graph.node![2]!.input = ['swished'];
    });
    expectOnlyError(validateModelBytes(tooNew), 'OP_NOT_IN_OPSET'); // HardSwish is opset 14, the model imports 13
    expect(await ortLoads(tooNew)).toBe(false);
  });

  it('an unused initializer → UNUSED_INITIALIZER warning only', () => {
    const report = validateModelBytes(
      variant((m) => {
        m.graph.initializer!.push({ name: 'stale', dataType: 1, dims: [2], floatData: [1, 2] });
      }),
    );
    expect(report.ok).toBe(true);
    expect(codes(report.warnings)).toEqual(['UNUSED_INITIALIZER']);
  });

  it('an initializer with the wrong amount of data → INITIALIZER_DATA_SIZE', () => {
    expectOnlyError(
      validateModelBytes(
        variant((m) => {
          m.graph.initializer![0]!.rawData = float32Bytes([1, 2, 3]);
        }),
      ),
      'INITIALIZER_DATA_SIZE',
    );
  });

  it('custom-domain nodes are listed; an undeclared domain → DOMAIN_NOT_IMPORTED', () => {
    const report = validateModelBytes(
      variant((m) => {
        m.graph.node![1]!.domain = 'com.example';
      }),
    );
    expectOnlyError(report, 'DOMAIN_NOT_IMPORTED');
    expect(codes(report.warnings)).toEqual(['CUSTOM_DOMAIN']);
    expect(report.warnings[0]!.message).toContain('com.example: Flatten');
  });

  it('no graph → GRAPH_MISSING; no nodes → GRAPH_EMPTY', () => {
    expect(
      codes(
        validateModelBytes(
          variant((m) => {
            delete (m as { graph?: unknown }).graph;
          }),
        ).errors,
      ),
    ).toEqual(['GRAPH_MISSING']);
    expect(
      codes(
        validateModelBytes(
          variant((m) => {
            m.graph.node = [];
          }),
        ).errors,
      ),
    ).toContain('GRAPH_EMPTY');
  });
});

describe('load check (onnxruntime)', () => {
  it('the shared models and the baseline load', async () => {
    for (const file of [shared.floatModel, shared.int8Model])
      expect((await validateModel(file, { load: true })).errors).toEqual([]);
    expect((await validateModel(encode(baselineModel()), { load: true })).ok).toBe(true);
  });

  it('an attribute value the operator rejects passes the static checks but → ORT_LOAD_FAILED', async () => {
    const bytes = variant((m) => {
      m.graph.node![1]!.attribute = [{ name: 'axis', type: 2, i: 7 }]; // Flatten of a rank-4 tensor at axis 7
    });
    expect(validateModelBytes(bytes).ok).toBe(true);
    const report = await validateModel(bytes, { load: true });
    expectOnlyError(report, 'ORT_LOAD_FAILED');
    expect(report.errors[0]!.message).toMatch(/axis/i);
  });

  it('a model with static errors is not loaded (no duplicate findings)', async () => {
    const report = await validateModel(
      variant((m) => {
        m.irVersion = 14;
      }),
      { load: true },
    );
    expectOnlyError(report, 'IR_VERSION_UNSUPPORTED');
  });
});

describe('external data', () => {
  /** The baseline with fc.weight moved to an external file `weights.bin` (120 bytes at offset 16). */
  function externalModel(location = 'weights.bin', length = 120): Uint8Array {
    return variant((m) => {
      const w = m.graph.initializer![0]!;
      delete w.rawData;
      w.dataLocation = 1;
      w.externalData = [
        { key: 'location', value: location },
        { key: 'offset', value: '16' },
        { key: 'length', value: String(length) },
      ];
    });
  }

  it('valid when the file is beside the model (and onnxruntime runs it)', async () => {
    const dir = mkdtempSync(path.join(tmp, 'ext-'));
    const data = new Uint8Array(16 + 120);
    data.set(float32Bytes(Array.from({ length: 30 }, (_, i) => i / 30)), 16);
    writeFileSync(path.join(dir, 'weights.bin'), data);
    writeFileSync(path.join(dir, 'model.onnx'), externalModel());
    const report = await validateModel(path.join(dir, 'model.onnx'));
    expect(report).toMatchObject({ ok: true, errors: [], warnings: [] });
    const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
    await session.release();
  });

  it('missing file → EXTERNAL_DATA_MISSING (onnxruntime fails to load it)', async () => {
    const dir = mkdtempSync(path.join(tmp, 'ext-'));
    writeFileSync(path.join(dir, 'model.onnx'), externalModel());
    expectOnlyError(await validateModel(path.join(dir, 'model.onnx')), 'EXTERNAL_DATA_MISSING');
    await expect(ort.InferenceSession.create(path.join(dir, 'model.onnx'))).rejects.toThrow();
  });

  it('file too short or wrong length → EXTERNAL_DATA_SIZE; path leaving the folder → EXTERNAL_DATA_PATH', async () => {
    const dir = mkdtempSync(path.join(tmp, 'ext-'));
    writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(64));
    writeFileSync(path.join(dir, 'short.onnx'), externalModel());
    expectOnlyError(await validateModel(path.join(dir, 'short.onnx')), 'EXTERNAL_DATA_SIZE');
    writeFileSync(path.join(dir, 'length.onnx'), externalModel('weights.bin', 40));
    expectOnlyError(await validateModel(path.join(dir, 'length.onnx')), 'EXTERNAL_DATA_SIZE');
    writeFileSync(path.join(dir, 'escape.onnx'), externalModel('../../etc/passwd'));
    expectOnlyError(await validateModel(path.join(dir, 'escape.onnx')), 'EXTERNAL_DATA_PATH');
  });

  it('bytes without baseDir → EXTERNAL_DATA_UNCHECKED warning', () => {
    const report = validateModelBytes(externalModel());
    expect(report.ok).toBe(true);
    expect(codes(report.warnings)).toEqual(['EXTERNAL_DATA_UNCHECKED']);
  });
});

describe('API errors', () => {
  it('an unreadable path throws MODEL_UNREADABLE', async () => {
    await expect(validateModel(path.join(tmp, 'missing.onnx'))).rejects.toMatchObject({
      name: 'ConverterError',
      code: 'MODEL_UNREADABLE',
    });
    await expect(validateModel(tmp)).rejects.toBeInstanceOf(ConverterError);
  });

  it('bad expectations throw INVALID_OPTION in the @mtailor message form', () => {
    expect(() => validateModelBytes(encode(baselineModel()), { numClasses: -1 })).toThrow(
      'Expected positive integer for numClasses but received -1 of type number',
    );
    expect(() => validateModelBytes(encode(baselineModel()), { inputShape: [1, 3, 224] })).toThrow(
      ConverterError,
    );
  });
});

describe('documentation', () => {
  it('the README table lists every check code with its severity (Biome aligns the columns)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const [code, { severity }] of Object.entries(VALIDATION_CHECKS))
      expect(readme).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${severity}\\s*\\|`));
  });
});
