/**
 * The parity rule itself (`compareLogits`, what `checkParity` applies after running onnxruntime): element-wise
 * `|onnx − torch| ≤ atol + rtol·|torch|`, the same top-1 per sample, and the figures it reports. The numbers are
 * the ones the zoo measured (README "Parity tolerance"): a random-weight ResNet-50 with logits up to 110 whose
 * export differs by 1.5e-4 — a relative error of 1e-6 — must pass; a ResNet-152 whose float32 arithmetic is
 * itself 7.2e-4 from float64 may differ by that much; a wrong logit must fail and be named.
 */
import {
  DEFAULT_FLOAT32_ERROR_FACTOR,
  DEFAULT_PARITY_ATOL,
  DEFAULT_PARITY_RTOL,
  type ParityResult,
} from '@mtailor/converter-bridge';
import { compareLogits } from '@mtailor/converter-bridge/internal';
import { describe, expect, it } from 'vitest';

/** Deterministic logits of one sample: a spread like an ImageNet head's, scaled. */
function logits(classes: number, scale: number, seed = 1): Float32Array {
  let s = seed;
  const next = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  return Float32Array.from({ length: classes }, () => (next() * 2 - 1) * scale);
}

describe('compareLogits: |onnx − torch| ≤ atol + rtol·|torch|, element-wise', () => {
  it('uses rtol 1e-4 and atol 1e-5 by default', () => {
    const t = logits(10, 1);
    const r = compareLogits(t, t.slice(), 10);
    expect([r.rtol, r.atol]).toEqual([DEFAULT_PARITY_RTOL, DEFAULT_PARITY_ATOL]);
    expect(r).toMatchObject({ ok: true, violations: 0, maxAbsDiff: 0, maxRelDiff: 0, top1Agreement: 1 });
  });

  it('a 1.5e-4 difference on a logit of 110 passes (relative 1.4e-6); the old absolute 1e-4 rule failed it', () => {
    const t = logits(1000, 110);
    const top = t.indexOf(Math.max(...t));
    const o = t.slice();
    o[top] = Math.fround(t[top]! + 1.5e-4);
    const r = compareLogits(t, o, 1000);
    expect(r.ok).toBe(true);
    expect(r.maxAbsDiff).toBeGreaterThan(1.4e-4);
    expect(r.maxRelDiff).toBeLessThan(2e-6);
    expect(r.worst).toMatchObject({ sample: 0, index: top });
    expect(compareLogits(t, o, 1000, { tolerance: 1e-4 }).ok).toBe(false); // atol 1e-4, rtol 0
  });

  it('the same difference on a logit near 0 fails, and the worst element says where', () => {
    const t = logits(1000, 110);
    t[123] = 0.5;
    const o = t.slice();
    o[123] = 0.5 + 1.5e-4; // allowed: 1e-5 + 1e-4·0.5 = 6e-5
    const r = compareLogits(t, o, 1000);
    expect(r.ok).toBe(false);
    expect(r.violations).toBe(1);
    expect(r.perSample[0]!.violations).toBe(1);
    expect(r.worst!.index).toBe(123);
    expect(r.worst!.torch).toBe(0.5);
    expect(r.worst!.allowed).toBeCloseTo(6e-5, 12);
    expect(r.worst!.relDiff).toBeCloseTo(3e-4, 6);
    expect(r.top1Agreement).toBe(1); // the values pass top-1; the element rule alone fails it
  });

  it('NaN on the onnx side never passes', () => {
    const t = logits(5, 3);
    const o = t.slice();
    o[2] = Number.NaN;
    const r = compareLogits(t, o, 5);
    expect(r.ok).toBe(false);
    expect(r.maxAbsDiff).toBe(Number.POSITIVE_INFINITY);
    expect(r.worst!.index).toBe(2);
  });

  it('a different top-1 fails unless PyTorch itself has a tie within the tolerance', () => {
    const t = Float32Array.of(5, 4.99, 0, -1);
    const swapped = Float32Array.of(4.99, 5, 0, -1); // differences 0.01: outside every tolerance
    const r = compareLogits(t, swapped, 4, { rtol: 0, atol: 0.02 });
    expect(r.perSample[0]).toMatchObject({ top1Torch: 0, top1Onnx: 1, top1Agrees: true }); // 0.01 ≤ 0.02 + 0.02
    expect(r.ok).toBe(true);
    const strict = compareLogits(t, swapped, 4, { rtol: 0, atol: 0.004 });
    expect(strict.perSample[0]!.top1Agrees).toBe(false);
    expect(strict.top1Agreement).toBe(0);
    expect(strict.ok).toBe(false);
  });

  it('per sample: several samples of 1000 logits, each compared on its own', () => {
    const t = new Float32Array(3000);
    for (let n = 0; n < 3; n++) t.set(logits(1000, 10 ** n, n + 1), n * 1000);
    const o = t.slice();
    o[2000 + 7] = o[2000 + 7]! * (1 + 5e-5); // sample 2, scale 100: inside rtol
    o[1000 + 9] = o[1000 + 9]! + 1; // sample 1: far outside
    const r: ParityResult = compareLogits(t, o, 1000);
    expect(r.samples).toBe(3);
    expect(r.perSample.map((s) => s.violations)).toEqual([0, 1, 0]);
    expect(r.perSample[2]!.maxRelDiff).toBeCloseTo(5e-5, 6);
    expect(r.worst).toMatchObject({ sample: 1, index: 9 });
    expect(r.ok).toBe(false);
  });

  it("PyTorch's own float32 error floors a sample's atol (3× by default), sample by sample", () => {
    // resnet152 of the zoo: ONNX differs by up to 9.6e-4 where PyTorch float32 is 7.2e-4 from float64.
    const t = new Float32Array(2000);
    t.set(logits(1000, 1.9, 1), 0);
    t.set(logits(1000, 1.9, 2), 1000);
    t[5] = 1e-3; // a logit near 0 in sample 0
    t[1005] = 1e-3; // and in sample 1
    const o = t.slice();
    o[5] = t[5]! + 9.6e-4;
    o[1005] = t[1005]! + 9.6e-4;
    const floored = compareLogits(t, o, 1000, {}, [7.2e-4, 1e-7]);
    expect(floored.float32ErrorFactor).toBe(DEFAULT_FLOAT32_ERROR_FACTOR);
    expect(floored.torchFloat32Error).toBe(7.2e-4);
    expect(floored.perSample[0]).toMatchObject({ violations: 0, torchFloat32Error: 7.2e-4 });
    expect(floored.perSample[0]!.atol).toBeCloseTo(2.16e-3, 12);
    // Sample 1: PyTorch is exact to 1e-7 there, so 9.6e-4 is a real difference.
    expect(floored.perSample[1]).toMatchObject({ violations: 1, atol: DEFAULT_PARITY_ATOL });
    expect(floored.worst).toMatchObject({ sample: 1, index: 5 });
    expect(floored.ok).toBe(false);
    expect(compareLogits(t, o, 1000, {}, [7.2e-4, 7.2e-4]).ok).toBe(true);
    expect(compareLogits(t, o, 1000, { float32ErrorFactor: 0 }, [7.2e-4, 7.2e-4]).ok).toBe(false);
    expect(compareLogits(t, o, 1000).ok).toBe(false); // no float64 record: atol alone
    expect(() => compareLogits(t, o, 1000, {}, [1e-3])).toThrow(/one float32 error per sample \(2\)/);
  });

  it('bad arguments → INVALID_OPTION', () => {
    const t = logits(4, 1);
    expect(() => compareLogits(t, t, 4, { rtol: -1 })).toThrow(
      'Expected non-negative finite number for rtol but received -1 of type number',
    );
    expect(() => compareLogits(t, t, 4, { atol: Number.NaN })).toThrow(/for atol/);
    expect(() => compareLogits(t, t.subarray(0, 3), 4)).toThrow(/same length/);
    expect(() => compareLogits(t, t, 0)).toThrow(/positive integer for classes/);
  });
});
