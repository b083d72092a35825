/**
 * From calibration statistics to quantization parameters: per-tensor min/max and histograms, the three range
 * methods (min/max, percentile, entropy), and the scale / zero point of activations and weights.
 * @module
 */
import { roundHalfEven } from './graph.js';

/**
 * How the range of an activation is chosen from the calibration data.
 *
 * - `minmax`: the smallest and largest value seen (no value clips; one outlier widens every step).
 * - `percentile`: cut the tails holding `100 − percentile` % of the values (default 99.999).
 * - `entropy`: the clipping threshold whose quantized histogram has the least KL divergence from the float one
 *   (TensorRT's calibrator, also onnxruntime's `CalibrationMethod.Entropy`).
 *
 * @example
 * ```ts
 * const method: CalibrationMethod = 'entropy';
 * ```
 */
export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy' | 'mse';

/**
 * Element type of quantized activations: `uint8` (onnxruntime's x86 int8 kernels are u8 × s8) or `int8`.
 *
 * @example
 * ```ts
 * const type: ActivationType = 'uint8';
 * ```
 */
export type ActivationType = 'uint8' | 'int8';

/**
 * Histogram bins per tensor for the percentile, entropy and mse methods (TensorRT's number).
 *
 * @example
 * ```ts
 * const binWidth = (max - min) / HISTOGRAM_BINS;
 * ```
 */
export const HISTOGRAM_BINS = 2048;

/**
 * Default percentile of the `percentile` method: the 0.001 % most extreme values of each tensor are clipped.
 *
 * @example
 * ```ts
 * await quantizeModel({ model, calibration, out, method: 'percentile', percentile: DEFAULT_PERCENTILE });
 * ```
 */
export const DEFAULT_PERCENTILE = 99.999;

/** Running statistics of one tensor over the calibration set. */
export class TensorStats {
  /** Smallest value seen. */
  min = Number.POSITIVE_INFINITY;
  /** Largest value seen. */
  max = Number.NEGATIVE_INFINITY;
  /** Values seen. */
  count = 0;
  /** Histogram (second pass), over [histLow, histHigh]. For `entropy` it counts |x|. */
  hist: Float64Array | undefined;
  histLow = 0;
  histHigh = 0;
  absolute = false;

  /** First pass: extend min / max. */
  observeRange(data: Float32Array): void {
    let lo = this.min;
    let hi = this.max;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.min = lo;
    this.max = hi;
    this.count += data.length;
  }

  /** Sum of the values of each channel (axis 1), for the mean the bias correction needs. */
  channelSums: Float64Array | undefined;
  /** Values summed per channel. */
  channelCount = 0;

  /** First pass: add to the per-channel sums (axis 1 of [N, C, …]). */
  observeChannels(data: Float32Array, dims: readonly number[]): void {
    if (dims.length < 2) return;
    const channels = dims[1]!;
    const inner = dims.slice(2).reduce((a, b) => a * b, 1);
    const rows = data.length / (channels * inner);
    if (!Number.isInteger(rows)) return;
    if (!this.channelSums) this.channelSums = new Float64Array(channels);
    else if (this.channelSums.length !== channels) return;
    const sums = this.channelSums;
    for (let n = 0; n < rows; n++) {
      for (let c = 0; c < channels; c++) {
        const start = (n * channels + c) * inner;
        let acc = 0;
        for (let k = start; k < start + inner; k++) acc += data[k]!;
        sums[c]! += acc;
      }
    }
    this.channelCount += rows * inner;
  }

  /** Mean of each channel, or undefined when not collected. */
  channelMeans(): Float64Array | undefined {
    if (!this.channelSums || this.channelCount === 0) return undefined;
    return this.channelSums.map((s) => s / this.channelCount);
  }

  /** Start the second pass: a histogram over the range of the first (of |x| when `absolute`). */
  startHistogram(absolute: boolean): void {
    this.absolute = absolute;
    this.hist = new Float64Array(HISTOGRAM_BINS);
    this.histLow = absolute ? 0 : Math.min(this.min, 0);
    this.histHigh = absolute ? Math.max(Math.abs(this.min), Math.abs(this.max)) : Math.max(this.max, 0);
  }

  /** Second pass: add values to the histogram. */
  observeHistogram(data: Float32Array): void {
    const hist = this.hist!;
    const width = this.histHigh - this.histLow;
    if (!(width > 0)) {
      hist[0]! += data.length;
      return;
    }
    const last = HISTOGRAM_BINS - 1;
    const perUnit = HISTOGRAM_BINS / width;
    const low = this.histLow;
    if (this.absolute) {
      // Exact zeros (ReLU's floor: often half the values) quantize exactly whatever the range. Left in, their spike
      // in the first bin dominates the KL divergence and drags the threshold far down (1.9σ instead of 4σ for a
      // rectified normal); so the entropy histogram leaves them out.
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        if (v === 0) continue;
        const b = (Math.abs(v) * perUnit) | 0;
        hist[Math.min(b, last)]! += 1;
      }
    } else {
      for (let i = 0; i < data.length; i++) {
        const b = ((data[i]! - low) * perUnit) | 0;
        hist[Math.min(Math.max(b, 0), last)]! += 1;
      }
    }
  }
}

/** A calibrated real range [low, high]. */
export interface Range {
  low: number;
  high: number;
}

/** Whether `method` needs the histogram pass, and over what. */
export function histogramKind(method: CalibrationMethod): 'none' | 'signed' | 'absolute' {
  return method === 'minmax' ? 'none' : method === 'entropy' ? 'absolute' : 'signed';
}

/**
 * The range of one tensor by `method`. For `entropy` the quantization has 256 levels over a non-negative tensor
 * (asymmetric types) and 128 per side otherwise.
 */
export function chooseRange(
  stats: TensorStats,
  method: CalibrationMethod,
  options: { percentile: number; symmetric: boolean },
): Range {
  if (stats.count === 0 || !Number.isFinite(stats.min) || !Number.isFinite(stats.max))
    return { low: 0, high: 0 };
  if (method === 'minmax' || !stats.hist) return { low: stats.min, high: stats.max };
  const hist = stats.hist;
  const width = (stats.histHigh - stats.histLow) / HISTOGRAM_BINS;
  if (!(width > 0)) return { low: stats.min, high: stats.max };
  if (method === 'percentile') {
    const total = hist.reduce((a, b) => a + b, 0);
    // One-sided tensors (e.g. after ReLU) lose their whole tail budget at the top.
    const twoSided = stats.min < 0 && stats.max > 0;
    const cut = ((100 - options.percentile) / 100) * (twoSided ? 0.5 : 1) * total;
    let low = stats.min;
    if (twoSided) {
      let acc = 0;
      for (let b = 0; b < HISTOGRAM_BINS; b++) {
        acc += hist[b]!;
        if (acc > cut) {
          low = Math.max(stats.min, stats.histLow + b * width);
          break;
        }
      }
    }
    let high = stats.max;
    let acc = 0;
    for (let b = HISTOGRAM_BINS - 1; b >= 0; b--) {
      acc += hist[b]!;
      if (acc > cut) {
        high = Math.min(stats.max, stats.histLow + (b + 1) * width);
        break;
      }
    }
    return { low, high };
  }
  if (method === 'mse') return mseRange(stats, width);
  const nonNegative = stats.min >= 0;
  const levels = nonNegative && !options.symmetric ? 256 : 128;
  const threshold = entropyThreshold(hist, levels) * width;
  return nonNegative
    ? { low: stats.min, high: Math.min(stats.max, threshold) }
    : { low: Math.max(stats.min, -threshold), high: Math.min(stats.max, threshold) };
}

/**
 * TensorRT's entropy calibration on a histogram of |x|: the number of bins `i` (≥ `levels`) to keep so that the
 * kept distribution, with everything beyond folded into its last bin, loses the least information (KL divergence)
 * when squeezed into `levels` quantization levels.
 *
 * @returns The number of bins to keep (the threshold is that many bin widths).
 *
 * @example
 * ```ts
 * const hist = new Float64Array(HISTOGRAM_BINS); // counts of |x| over [0, max]
 * const threshold = (entropyThreshold(hist, 128) / HISTOGRAM_BINS) * max;
 * ```
 */
export function entropyThreshold(hist: Float64Array, levels: number): number {
  const bins = hist.length;
  let last = bins;
  while (last > 0 && hist[last - 1] === 0) last--;
  if (last <= levels) return Math.max(last, 1);
  const p = new Float64Array(bins);
  const q = new Float64Array(bins);
  let bestBins = bins;
  let bestKl = Number.POSITIVE_INFINITY;
  let tail = 0;
  for (let b = levels; b < bins; b++) tail += hist[b]!;
  // Every 4th candidate: the threshold moves by 0.2 % of the range between candidates, and the search (quadratic
  // in the bins) takes a quarter of the time.
  const stride = 4;
  for (let i = levels; i <= bins; i += stride) {
    if (i > levels) for (let b = i - stride; b < i; b++) tail -= hist[b]!;
    // Reference: the first i bins, outliers folded into the last one.
    for (let b = 0; b < i; b++) p[b] = hist[b]!;
    p[i - 1]! += tail;
    // Candidate: the first i bins merged into `levels` groups, each group's mass spread over its non-empty bins.
    for (let j = 0; j < levels; j++) {
      const start = Math.floor((j * i) / levels);
      const end = j === levels - 1 ? i : Math.floor(((j + 1) * i) / levels);
      let mass = 0;
      let nonEmpty = 0;
      for (let b = start; b < end; b++) {
        mass += hist[b]!;
        if (hist[b]! !== 0) nonEmpty++;
      }
      const each = nonEmpty > 0 ? mass / nonEmpty : 0;
      for (let b = start; b < end; b++) q[b] = hist[b]! !== 0 ? each : 0;
    }
    const kl = smoothedKl(p, q, i);
    if (kl < bestKl) {
      bestKl = kl;
      bestBins = i;
    }
  }
  return bestBins;
}

/** KL(p‖q) over the first n entries, both normalised and smoothed so empty bins of q stay finite (MXNet's way). */
function smoothedKl(p: Float64Array, q: Float64Array, n: number): number {
  const eps = 1e-4;
  let pSum = 0;
  let qSum = 0;
  let pZeros = 0;
  let qZeros = 0;
  for (let b = 0; b < n; b++) {
    pSum += p[b]!;
    qSum += q[b]!;
    if (p[b] === 0) pZeros++;
    if (q[b] === 0) qZeros++;
  }
  if (pSum === 0 || qSum === 0 || qZeros === n) return Number.POSITIVE_INFINITY;
  const pShift = pZeros > 0 ? (eps * pZeros) / (n - pZeros) : 0;
  const qShift = qZeros > 0 ? (eps * qZeros) / (n - qZeros) : 0;
  let kl = 0;
  for (let b = 0; b < n; b++) {
    const pb = p[b] === 0 ? eps : p[b]! / pSum - pShift;
    const qb = q[b] === 0 ? eps : q[b]! / qSum - qShift;
    if (pb > 0 && qb > 0) kl += pb * Math.log(pb / qb);
  }
  return kl;
}

/** Scale and zero point of one quantized tensor. */
export interface QuantParams {
  /** float32 scale (> 0). */
  scale: number;
  /** Zero point in the element type's range. */
  zeroPoint: number;
  /** Element type. */
  type: ActivationType;
}

/**
 * Scale and zero point of an activation with real range `range`: the range is widened to include 0 (so that 0,
 * padding and ReLU's floor, is exact), then mapped onto [0, 255] (uint8) or [−128, 127] (int8); symmetric int8
 * uses [−127, 127] with zero point 0.
 *
 * @example
 * ```ts
 * activationParams({ low: 0, high: 2.55 }, 'uint8', false); // { scale: 0.01, zeroPoint: 0, type: 'uint8' }
 * ```
 */
export function activationParams(range: Range, type: ActivationType, symmetric: boolean): QuantParams {
  const low = Math.min(range.low, 0);
  const high = Math.max(range.high, 0);
  if (symmetric) {
    const absMax = Math.max(-low, high);
    if (!(absMax > 0)) return { scale: 1, zeroPoint: type === 'uint8' ? 128 : 0, type };
    return type === 'uint8'
      ? { scale: Math.fround((2 * absMax) / 255), zeroPoint: 128, type }
      : { scale: Math.fround(absMax / 127), zeroPoint: 0, type };
  }
  const [qmin, qmax] = type === 'uint8' ? [0, 255] : [-128, 127];
  if (!(high - low > 0)) return { scale: 1, zeroPoint: qmin, type };
  const scale = Math.fround((high - low) / (qmax - qmin));
  const zeroPoint = Math.min(qmax, Math.max(qmin, roundHalfEven(qmin - low / scale)));
  return { scale, zeroPoint, type };
}

/**
 * Largest |stored weight| of 8-bit weights ([−127, 127], onnxruntime's quantizer's restricted range) and of 7-bit
 * weights ([−64, 64], `reduce_range`): two products of a uint8 activation and a weight within ±64 stay within int16
 * (2 · 255 · 64 ≤ 32767), so onnxruntime's fast U8S8 kernels are exact on x86 CPUs without VNNI too.
 */
export const WEIGHT_MAX = { full: 127, reduced: 64 } as const;

/**
 * Symmetric int8 quantization of weights, one scale per slice along `axis` (or one for the tensor when axis is −1):
 * scale = max |w| / `qmax`, values in [−qmax, qmax] ({@link WEIGHT_MAX}).
 *
 * @param dims - The weight's dimensions.
 * @returns The int8 values and the float32 scales (length 1 for per tensor).
 *
 * @example
 * ```ts
 * const { data, scales } = quantizeWeights(Float32Array.of(1.27, -0.5, 0.508, 0.2), [2, 2], 0);
 * // data [127, -50, 127, 50], scales [0.01, 0.004]
 * ```
 */
export function quantizeWeights(
  values: Float32Array,
  dims: readonly number[],
  axis: number,
  qmax: number = WEIGHT_MAX.full,
): { data: Int8Array; scales: Float32Array } {
  const channels = axis < 0 ? 1 : dims[axis]!;
  const inner = axis < 0 ? values.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const absMax = new Float64Array(channels);
  const channelOf = (i: number): number => (axis < 0 ? 0 : Math.floor(i / inner) % channels);
  for (let i = 0; i < values.length; i++) {
    const c = channelOf(i);
    const a = Math.abs(values[i]!);
    if (a > absMax[c]!) absMax[c] = a;
  }
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scales[c] = absMax[c]! > 0 ? absMax[c]! / qmax : 1;
  if (qmax < WEIGHT_MAX.full) clipForLeastError(values, scales, channelOf, qmax);
  return { data: quantizeWithScales(values, scales, channelOf, qmax), scales };
}

/**
 * With few levels (7-bit weights), the scale max |w| / qmax spends them on a channel's rare largest weights; a
 * smaller one (α · max |w| / qmax, α in 0.6 … 1) that clips those few rounds all the others finer. Picks, per
 * channel, the α with the least squared error of the dequantized weights (scales updated in place).
 */
function clipForLeastError(
  values: Float32Array,
  scales: Float32Array,
  channelOf: (i: number) => number,
  qmax: number,
): void {
  const steps = 41;
  const errors = new Float64Array(scales.length * steps);
  for (let i = 0; i < values.length; i++) {
    const c = channelOf(i);
    const v = values[i]!;
    for (let k = 0; k < steps; k++) {
      const s = scales[c]! * (1 - k * 0.01);
      const q = Math.min(Math.max(roundHalfEven(v / s), -qmax), qmax);
      errors[c * steps + k]! += (q * s - v) ** 2;
    }
  }
  for (let c = 0; c < scales.length; c++) {
    let best = 0;
    for (let k = 1; k < steps; k++) if (errors[c * steps + k]! < errors[c * steps + best]!) best = k;
    scales[c] = Math.fround(scales[c]! * (1 - best * 0.01));
  }
}

/** int8 values of `values` with the given per-channel scales, in [−qmax, qmax]. */
export function quantizeWithScales(
  values: Float32Array,
  scales: Float32Array,
  channelOf: (i: number) => number,
  qmax: number = WEIGHT_MAX.full,
): Int8Array {
  const data = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const q = roundHalfEven(values[i]! / scales[channelOf(i)]!);
    data[i] = Math.min(Math.max(q, -qmax), qmax);
  }
  return data;
}

/** The range α·[min, max] (α in 0.2 … 1) whose uint8 quantization has the least expected squared error. */
function mseRange(stats: TensorStats, width: number): Range {
  const hist = stats.hist!;
  const low0 = Math.min(stats.min, 0);
  const high0 = Math.max(stats.max, 0);
  let best = 1;
  let bestErr = Number.POSITIVE_INFINITY;
  for (let k = 0; k <= 160; k++) {
    const alpha = 1 - k * 0.005;
    const lo = low0 * alpha;
    const hi = high0 * alpha;
    const step = (hi - lo) / 255;
    let err = 0;
    for (let b = 0; b < HISTOGRAM_BINS; b++) {
      const n = hist[b]!;
      if (n === 0) continue;
      const x = stats.histLow + (b + 0.5) * width;
      if (x > hi) err += n * (x - hi) ** 2;
      else if (x < lo) err += n * (x - lo) ** 2;
      else err += (n * step * step) / 12;
    }
    if (err < bestErr) {
      bestErr = err;
      best = alpha;
    }
  }
  return { low: low0 * best, high: high0 * best };
}
