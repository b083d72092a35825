/**
 * Runs Pillow's two convolution passes in WebAssembly SIMD (kernels.wat) when the runtime allows it, with the same
 * bytes out as the plain-JS passes. Falls back to JS (returns `null`) where WebAssembly or its SIMD is missing, or
 * where a Content-Security-Policy forbids compiling it. No globals are declared: the WebAssembly API is reached
 * through `globalThis`, so the package type-checks without DOM or Node typings.
 * @module
 */
import type { AxisCoefficients } from '../coefficients.js';
import { KERNELS_WASM_BASE64 } from './kernels-binary.js';

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface KernelExports {
  memory: WasmMemory;
  horizontal1(
    src: number,
    srcStride: number,
    rows: number,
    dst: number,
    outWidth: number,
    bounds: number,
    weights: number,
    ksize: number,
    precision: number,
  ): void;
  vertical(
    src: number,
    rowLength: number,
    outRows: number,
    dst: number,
    bounds: number,
    weights: number,
    ksize: number,
    precision: number,
  ): void;
  tensor(
    src: number,
    pixels: number,
    lut: number,
    c0: number,
    c2: number,
    dst0: number,
    dst1: number,
    dst2: number,
    step: number,
  ): void;
  tensorQuotients(
    src: number,
    pixels: number,
    consts: number,
    dstByte0: number,
    dstByte1: number,
    dstByte2: number,
  ): void;
}
type PairKernel = (...args: number[]) => void;
interface PairKernels {
  /**
   * `(src, srcStride, channels, rows, dst, outWidth, bounds, weights, kpairs, precision)`: colour rows, `kpairs`
   * weight pairs per output pixel; int16 weights only.
   */
  horizontalPairs: PairKernel;
  /** `horizontalPairs` for weights beyond int16 (Pillow's 22-bit ones), each split into two int16 halves. */
  horizontalSplitPairs: PairKernel;
  /** `vertical`'s arguments with `kpairs` for `ksize`: int16 weights only. */
  verticalPairs: PairKernel;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

/**
 * Which implementation of the convolution passes {@link resize} uses.
 *
 * @example
 * ```ts
 * const backend: ResampleBackend = resampleBackend(); // 'wasm' or 'js'
 * ```
 */
export type ResampleBackend = 'wasm' | 'js';

let kernels: (KernelExports & PairKernels) | null | undefined;
let forceJs = false;

function decodeBase64(text: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    value = (value << 6) | alphabet.indexOf(clean[i]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

function instantiate(): (KernelExports & PairKernels) | null {
  try {
    const api = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
    if (!api) return null;
    const bytes = decodeBase64(KERNELS_WASM_BASE64);
    if (!api.validate(bytes)) return null; // e.g. no SIMD support
    return new api.Instance(new api.Module(bytes), {}).exports as KernelExports & PairKernels;
  } catch {
    return null; // CSP without 'wasm-unsafe-eval', or any other refusal: the JS passes do the same work
  }
}

/**
 * The kernels, instantiated on first use; `null` when the JS passes must be used.
 *
 * @example
 * ```ts
 * const kernels = wasmKernels(); // null → use the JS passes
 * ```
 */
export function wasmKernels(): (KernelExports & PairKernels) | null {
  if (forceJs) return null;
  if (kernels === undefined) kernels = instantiate();
  return kernels;
}

/**
 * Chooses the implementation of the convolution passes and of the tensor's table lookups: `'auto'` (default) uses
 * WebAssembly SIMD where available, `'js'` forces plain JS (e.g. to compare, or where compiling WebAssembly is
 * unwanted). Both produce the same bytes. `'js'` also releases the WebAssembly memory; `'auto'` instantiates afresh on the next resize.
 * Returns the backend now in use.
 *
 * @example
 * ```ts
 * import { setResampleBackend } from '@mtailor/preprocess';
 * setResampleBackend('js'); // 'js'
 * setResampleBackend('auto'); // 'wasm' on Node ≥ 16 and current browsers
 * ```
 */
export function setResampleBackend(backend: 'auto' | 'js'): ResampleBackend {
  forceJs = backend === 'js';
  // Dropping the instance lets its memory (grown to the largest image seen) be garbage-collected.
  if (forceJs) kernels = undefined;
  return resampleBackend();
}

/**
 * The implementation {@link resize} uses for the convolution filters: `'wasm'` or `'js'`.
 *
 * @example
 * ```ts
 * import { resampleBackend } from '@mtailor/preprocess';
 * console.log(resampleBackend()); // 'wasm'
 * ```
 */
export function resampleBackend(): ResampleBackend {
  return wasmKernels() ? 'wasm' : 'js';
}

const align16 = (n: number) => (n + 15) & ~15;

/**
 * Grows `memory` to at least `bytes`; `false` when the runtime gives WebAssembly no more (the JS code, which needs no
 * contiguous memory, then does the work).
 */
function growTo(memory: WasmMemory, bytes: number): boolean {
  const missing = bytes - memory.buffer.byteLength;
  if (missing <= 0) return true;
  try {
    memory.grow(Math.ceil(missing / 65536));
    return true;
  } catch {
    return false;
  }
}
const SLACK = 16;

/** Whether every weight fits in int16 (torch's do; Pillow's 22-bit ones do not): then the pair kernels run. */
function fitsInt16(weights: Int32Array): boolean {
  for (let i = 0; i < weights.length; i++) if (weights[i] < -32768 || weights[i] > 32767) return false;
  return true;
}

/**
 * Writes the weights as int16 pairs (`ceil(ksize / 2)` per output, an odd window padded with a zero) at `offset`;
 * returns the pairs per output. With `split`, each pair is written twice, 8 bytes a step: the low 11 bits of both
 * weights, then the rest (`w >> 11`), for weights beyond int16 (`horizontalSplitPairs`).
 */
function writeWeightPairs(
  memory: ArrayBuffer,
  offset: number,
  { ksize, bounds, weights }: AxisCoefficients,
  split = false,
): number {
  const kpairs = (ksize + 1) >> 1;
  const outputs = bounds.length >> 1;
  const perStep = split ? 4 : 2;
  const pairs = new Int16Array(memory, offset, outputs * kpairs * perStep);
  pairs.fill(0);
  for (let i = 0; i < outputs; i++) {
    for (let t = 0; t < ksize; t++) {
      const w = weights[i * ksize + t] as number;
      const at = (i * kpairs + (t >> 1)) * perStep + (t & 1);
      if (split) {
        pairs[at] = w & 2047;
        pairs[at + 2] = w >> 11;
      } else pairs[at] = w;
    }
  }
  return kpairs;
}

/** Bytes the horizontal weights may take in WebAssembly memory: `ksize + 1` int32 per output (split pairs, the most). */
function horizontalWeightBytes({ ksize, bounds }: AxisCoefficients): number {
  return (bounds.length >> 1) * (ksize + 1) * 4;
}

/**
 * Both passes in WebAssembly (1, 3 or 4 channels); `null` when the JS passes must run instead (no
 * WebAssembly, or its memory cannot grow that far). `vertical.bounds` must not have been shifted yet.
 *
 * @example
 * ```ts
 * const bytes = convolveWasm(src, 640, 480, 3, hCoeffs, vCoeffs, true, true) ?? convolveInJs();
 * ```
 */
export function convolveWasm(
  src: Uint8Array | Uint8ClampedArray,
  inWidth: number,
  inHeight: number,
  channels: number,
  horizontal: AxisCoefficients,
  vertical: AxisCoefficients,
  needHorizontal: boolean,
  needVertical: boolean,
): Uint8Array | null {
  const k = wasmKernels();
  if (!k) return null;
  const outWidth = horizontal.bounds.length >> 1;
  const outHeight = vertical.bounds.length >> 1;
  const yFirst = needHorizontal ? vertical.bounds[0] : 0;
  const yLast = needHorizontal
    ? vertical.bounds[outHeight * 2 - 2] + vertical.bounds[outHeight * 2 - 1]
    : inHeight;
  const rows = yLast - yFirst;

  // Layout: coefficients, source, horizontal result, vertical result (each 16-byte aligned, with slack; the
  // vertical pass's input with one more row, which the pair kernel reads past an odd window).
  const rowSlack = SLACK + outWidth * channels;
  const hBounds = 0;
  const hWeights = align16(hBounds + horizontal.bounds.byteLength);
  const vBounds = align16(hWeights + horizontalWeightBytes(horizontal));
  const vWeights = align16(vBounds + vertical.bounds.byteLength);
  const srcOff = align16(vWeights + vertical.weights.byteLength);
  const tmpOff = align16(srcOff + src.length + rowSlack);
  const tmpLength = needHorizontal ? outWidth * rows * channels : 0;
  const dstOff = align16(tmpOff + tmpLength + rowSlack);
  const dstLength = outWidth * outHeight * channels;
  const end = dstOff + dstLength + SLACK;
  if (!growTo(k.memory, end)) return null;
  const memory = k.memory.buffer;
  // Colour rows take two taps a step: int16 weights as they are, wider ones split in two halves.
  const hPairs = channels !== 1;
  const hSplit = hPairs && !fitsInt16(horizontal.weights);
  const vPairs = fitsInt16(vertical.weights);
  new Int32Array(memory, hBounds, horizontal.bounds.length).set(horizontal.bounds);
  const hStep = hPairs ? writeWeightPairs(memory, hWeights, horizontal, hSplit) : horizontal.ksize;
  if (!hPairs) new Int32Array(memory, hWeights, horizontal.weights.length).set(horizontal.weights);
  const vb = new Int32Array(memory, vBounds, vertical.bounds.length);
  vb.set(vertical.bounds);
  const vStep = vPairs ? writeWeightPairs(memory, vWeights, vertical) : vertical.ksize;
  if (!vPairs) new Int32Array(memory, vWeights, vertical.weights.length).set(vertical.weights);
  if (needHorizontal) for (let i = 0; i < outHeight; i++) vb[i * 2] -= yFirst;
  new Uint8Array(memory, srcOff, src.length).set(src);

  let result = srcOff;
  let resultLength = src.length;
  if (needHorizontal) {
    const stride = inWidth * channels;
    const first = srcOff + yFirst * stride;
    // The same window and output arguments for both kernels; gray has its own scalar one.
    const out = [tmpOff, outWidth, hBounds, hWeights, hStep, horizontal.precision] as const;
    if (channels === 1) k.horizontal1(first, stride, rows, ...out);
    else (hSplit ? k.horizontalSplitPairs : k.horizontalPairs)(first, stride, channels, rows, ...out);
    result = tmpOff;
    resultLength = tmpLength;
  }
  if (needVertical) {
    (vPairs ? k.verticalPairs : k.vertical)(
      result,
      outWidth * channels,
      outHeight,
      dstOff,
      vBounds,
      vWeights,
      vStep,
      vertical.precision,
    );
    result = dstOff;
    resultLength = dstLength;
  }
  return new Uint8Array(k.memory.buffer, result, resultLength).slice();
}

/**
 * Writes the tensor of `pixels` RGB pixels (`src`, interleaved bytes) at `out[offset ..]` in WebAssembly: output
 * channel k takes `lut[ck * 256 + byte]` of source byte ck (c0 = `c0`, c1 = 1, c2 = `c2`), planes for `'NCHW'`,
 * interleaved for `'NHWC'`. The floats are copied as they are in `lut`, or, for `'NCHW'` with `quotients` (per
 * colour `[divisor, mean, std]`, known to give every entry of `lut` as `((byte / divisor) − mean) / std` in float32),
 * computed so — sixteen pixels at a time, where the table is read one value at a time. Returns `false` (nothing
 * written) when the JS loop must run instead: no WebAssembly, or its memory cannot grow that far.
 *
 * @example
 * ```ts
 * if (!tensorWasm(image.data, 224 * 224, lut, undefined, 0, 2, 'NCHW', out, 0)) writeTensorInJs();
 * ```
 */
export function tensorWasm(
  src: Uint8Array | Uint8ClampedArray,
  pixels: number,
  lut: Float32Array,
  quotients: Float32Array | undefined,
  c0: number,
  c2: number,
  layout: 'NCHW' | 'NHWC',
  out: Float32Array,
  offset: number,
): boolean {
  const k = wasmKernels();
  if (!k) return false;
  // Layout: the table (3 × 256 float32) or the constants, the source bytes, the tensor.
  const lutOff = 0;
  const srcOff = align16(lutOff + lut.byteLength);
  const dstOff = align16(srcOff + pixels * 3);
  const end = dstOff + pixels * 12;
  if (!growTo(k.memory, end)) return false;
  const memory = k.memory.buffer;
  new Uint8Array(memory, srcOff, pixels * 3).set(src.subarray(0, pixels * 3));
  const byArithmetic = layout === 'NCHW' && quotients !== undefined;
  const constants = byArithmetic ? quotients : lut;
  new Float32Array(memory, lutOff, constants.length).set(constants);
  if (byArithmetic) {
    // Source byte c goes to the plane of the output channel that reads it.
    const plane = (byte: number): number => dstOff + pixels * 4 * (byte === c0 ? 0 : byte === 1 ? 1 : 2);
    k.tensorQuotients(srcOff, pixels, lutOff, plane(0), plane(1), plane(2));
  } else if (layout === 'NCHW') {
    k.tensor(srcOff, pixels, lutOff, c0, c2, dstOff, dstOff + pixels * 4, dstOff + pixels * 8, 4);
  } else {
    k.tensor(srcOff, pixels, lutOff, c0, c2, dstOff, dstOff + 4, dstOff + 8, 12);
  }
  out.set(new Float32Array(memory, dstOff, pixels * 3), offset);
  return true;
}
