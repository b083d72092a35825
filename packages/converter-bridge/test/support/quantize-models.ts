/**
 * Small real float ONNX classifiers for the quantizer tests, built with onnx-proto, and solid-colour PNG images to
 * calibrate them with (made by sharp, so the preprocessing reads real image files).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { PreprocessRecipe } from '@mtailor/preprocess';
import type { onnx } from 'onnx-proto';
import sharp from 'sharp';
import { classifierHead, encode, float32Bytes, type Model, valueInfo } from './onnx-builder.js';

const FLOAT = 1;
const FLOAT16 = 10;

/** Images as they are: pixel / 255 with no mean/std, at `size`×`size` (tests then know every input value). */
export function plainRecipe(size: number): PreprocessRecipe {
  return {
    name: `plain-${size}`,
    steps: [{ op: 'toRGB' }, { op: 'resize', width: size, height: size, filter: 'bilinear' }],
    tensor: { mean: [0, 0, 0], std: [1, 1, 1], scale: 255 },
  };
}

/** Write solid-colour 8×8 PNGs into `dir` and return their paths (in the given order). */
export async function solidImages(
  dir: string,
  colours: Record<string, [number, number, number]>,
): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const [name, [r, g, b]] of Object.entries(colours)) {
    const file = path.join(dir, `${name}.png`);
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r, g, b } } })
      .png()
      .toFile(file);
    files.push(file);
  }
  return files;
}

function tensor(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  return { name, dataType: FLOAT, dims, rawData: float32Bytes(values) };
}

function model(graph: onnx.IGraphProto, opset = 13): Model {
  return {
    irVersion: 7,
    producerName: 'mtailor-test',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: opset }],
    graph,
  };
}

/**
 * The hand-computed model: input [batch, 3, 1, 1] → Conv 1×1 (3 → 2, bias) → Relu → Flatten → Gemm (2 → 2, transB)
 * → logits [batch, 2]. Every weight is a multiple of its int8 scale, so quantization keeps them exact and the int8
 * output can be worked out on paper (see quantize-synthetic.test.ts).
 */
export function handModel(opset = 13): Uint8Array {
  return encode(
    model(
      {
        name: 'hand',
        input: [valueInfo('input', ['batch', 3, 1, 1])],
        output: [valueInfo('logits', ['batch', 2])],
        initializer: [
          // Row 0 = 0.01 × [127, −50, 20]; row 1 = 0.004 × [127, 50, −100].
          tensor('conv.weight', [2, 3, 1, 1], [1.27, -0.5, 0.2, 0.508, 0.2, -0.4]),
          tensor('conv.bias', [2], [1.28, 0.3]),
          // Row 0 = (1/127) × [127, −127]; row 1 = 0.01 × [−25, 127].
          tensor('fc.weight', [2, 2], [1, -1, -0.25, 1.27]),
          tensor('fc.bias', [2], [0, 0.5]),
        ],
        node: [
          {
            opType: 'Conv',
            name: 'conv',
            input: ['input', 'conv.weight', 'conv.bias'],
            output: ['conv_out'],
          },
          { opType: 'Relu', name: 'relu', input: ['conv_out'], output: ['relu_out'] },
          ...classifierHead('relu_out'),
        ],
      },
      opset,
    ),
  );
}

function wave(count: number, scale: number, phase = 0): number[] {
  return Array.from({ length: count }, (_, i) => Math.sin(i * 1.7 + phase) * scale);
}

/**
 * Input [batch, 3, H, W] → Conv 3×3 (3 → 8, pad 1, no bias) → BatchNormalization → Relu → GlobalAveragePool →
 * Flatten → Gemm (8 → 4) → logits [batch, 4]. `inputDims` may be symbolic.
 */
export function batchNormModel(inputDims: (number | string)[] = ['batch', 3, 4, 4]): Uint8Array {
  return encode(
    model({
      name: 'conv-bn',
      input: [valueInfo('input', inputDims)],
      output: [valueInfo('logits', ['batch', 4])],
      initializer: [
        tensor('conv.weight', [8, 3, 3, 3], wave(216, 0.4)),
        tensor(
          'bn.scale',
          [8],
          wave(8, 0.5, 1).map((v) => 1 + v),
        ),
        tensor('bn.bias', [8], wave(8, 0.3, 2)),
        tensor('bn.mean', [8], wave(8, 0.2, 3)),
        tensor(
          'bn.var',
          [8],
          wave(8, 0.4, 4).map((v) => 0.5 + Math.abs(v)),
        ),
        tensor('fc.weight', [4, 8], wave(32, 0.8, 5)),
        tensor('fc.bias', [4], wave(4, 0.1, 6)),
      ],
      node: [
        {
          opType: 'Conv',
          name: 'conv',
          input: ['input', 'conv.weight'],
          output: ['conv_out'],
          attribute: [{ name: 'pads', type: 7, ints: [1, 1, 1, 1] }],
        },
        {
          opType: 'BatchNormalization',
          name: 'bn',
          input: ['conv_out', 'bn.scale', 'bn.bias', 'bn.mean', 'bn.var'],
          output: ['bn_out'],
          attribute: [{ name: 'epsilon', type: 1, f: 1e-5 }],
        },
        { opType: 'Relu', name: 'relu', input: ['bn_out'], output: ['relu_out'] },
        { opType: 'GlobalAveragePool', name: 'pool', input: ['relu_out'], output: ['pooled'] },
        ...classifierHead('pooled'),
      ],
    }),
  );
}

/** float16 bytes of values (round to nearest; enough for the small test weights). */
function float16Bytes(values: number[]): Uint8Array {
  const out = new Uint16Array(values.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  values.forEach((v, i) => {
    f[0] = v;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = ((x >>> 23) & 0xff) - 127 + 15;
    const mant = (x >>> 13) & 0x3ff;
    out[i] = exp <= 0 ? sign : sign | (exp << 10) | mant;
  });
  return new Uint8Array(out.buffer);
}

/** A model whose only weights are float16 (cast to float32 in the graph): nothing float32 to quantize. */
export function float16WeightsModel(): Uint8Array {
  return encode(
    model({
      name: 'fp16-weights',
      input: [valueInfo('input', ['batch', 3, 1, 1])],
      output: [valueInfo('logits', ['batch', 2])],
      initializer: [
        { name: 'fc.weight16', dataType: FLOAT16, dims: [2, 3], rawData: float16Bytes(wave(6, 0.5)) },
      ],
      node: [
        {
          opType: 'Cast',
          name: 'cast',
          input: ['fc.weight16'],
          output: ['fc.weight'],
          attribute: [{ name: 'to', type: 2, i: FLOAT }],
        },
        {
          opType: 'Flatten',
          name: 'flatten',
          input: ['input'],
          output: ['flat'],
          attribute: [{ name: 'axis', type: 2, i: 1 }],
        },
        {
          opType: 'Gemm',
          name: 'fc',
          input: ['flat', 'fc.weight'],
          output: ['logits'],
          attribute: [{ name: 'transB', type: 2, i: 1 }],
        },
      ],
    }),
  );
}

/** Input [batch, 3, 1, 1] → Flatten → MatMul (3 × 4 weight) → Add (bias) → logits [batch, 4]. */
export function matMulModel(): Uint8Array {
  return encode(
    model({
      name: 'matmul',
      input: [valueInfo('input', ['batch', 3, 1, 1])],
      output: [valueInfo('logits', ['batch', 4])],
      initializer: [tensor('w', [3, 4], wave(12, 0.9, 7)), tensor('b', [4], wave(4, 0.2, 8))],
      node: [
        {
          opType: 'Flatten',
          name: 'flatten',
          input: ['input'],
          output: ['flat'],
          attribute: [{ name: 'axis', type: 2, i: 1 }],
        },
        { opType: 'MatMul', name: 'mm', input: ['flat', 'w'], output: ['mm_out'] },
        { opType: 'Add', name: 'bias', input: ['mm_out', 'b'], output: ['logits'] },
      ],
    }),
  );
}
