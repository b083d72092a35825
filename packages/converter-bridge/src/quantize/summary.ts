/**
 * The types of the quantization report: what the QDQ rewrite did, accuracy, kernels, speed. Apart from the modules
 * that compute them because they are public, and public declarations must not reach `onnx-proto` (see
 * `../validate/public-types.ts`).
 * @module
 */

/** Counts of what the rewrite inserted, stored and folded. */
export interface RewriteSummary {
  /** QuantizeLinear → DequantizeLinear pairs inserted on activations. */
  activationPairs: number;
  /** Weights stored as int8. */
  int8Weights: number;
  /** Biases stored as int32. */
  int32Biases: number;
  /** Relu / Clip nodes folded into the output quantization. */
  removedActivations: number;
  /** Per-channel weight scales raised so an int32 bias does not overflow. */
  biasAdjustedChannels: number;
  /** Conv / Gemm whose bias was corrected for the mean shift of their rounded weights. */
  biasCorrected: number;
}

/** A class and its error, for the worst-classes list. */
export interface ClassError {
  /** Class index. */
  index: number;
  /** Label, when the manifest gives labels. */
  label?: string;
  /** mean |int8 − float| of this class's logit over the images. */
  meanAbs: number;
  /** max |int8 − float| of this class's logit over the images. */
  maxAbs: number;
}

/** An image whose top-1 differs between the two models. */
export interface Disagreement {
  /** Image file. */
  file: string;
  /** Float top-1 class. */
  float: number;
  /** Quantized top-1 class. */
  int8: number;
  /** Float logit of its top-1 minus its runner-up: small margins flip first. */
  floatMargin: number;
  /** Labels of the two classes, when labels are known. */
  labels?: { float: string; int8: string };
}

/** Agreement and logit error on one image set. */
export interface AccuracyReport {
  /** Images compared. */
  images: number;
  /** Fraction of images whose quantized top-1 is the float top-1 (a tie for the quantized maximum that includes the float top-1 counts). */
  top1Agreement: number;
  /** Images whose top-1 agrees. */
  top1Agree: number;
  /** Fraction of images whose float top-1 is among the quantized top-5. */
  top5Agreement: number;
  /** Mean share of the float top-5 classes found in the quantized top-5. */
  top5Overlap: number;
  /** Logit error |int8 − float| over all images and classes. */
  logitError: {
    /** Largest absolute error. */
    maxAbs: number;
    /** Mean absolute error. */
    meanAbs: number;
    /** Root mean square error. */
    rms: number;
    /** Largest |float logit| (the scale the errors compare with). */
    floatScale: number;
  };
  /** Logit error per class: mean |Δ| of each class (array index = class), and its distribution. */
  perClass: {
    /** mean |Δ| of each class's logit over the images. */
    meanAbs: number[];
    /** Median over classes of the per-class mean |Δ|. */
    median: number;
    /** Smallest per-class mean |Δ|. */
    min: number;
    /** Largest per-class mean |Δ|. */
    max: number;
    /** The five classes with the largest mean |Δ|. */
    worst: ClassError[];
  };
  /** Images whose top-1 changed. */
  disagreements: Disagreement[];
}

/**
 * The held-out estimate of agreement from the calibration images alone (k-fold cross-validation): each fold's images
 * are measured on a model calibrated, with the same settings, on the other folds only. What `quantizeModel` judges
 * `minAgreement` on when it has no `eval` images.
 *
 * @example
 * ```ts
 * const report = await quantizeModel({ model: 'float.onnx', calibration: 'images/', out: 'int8.onnx' });
 * const cv = report.accuracy.crossValidated; // { folds: 2, perFold: [{ calibrationImages: 52, heldOutImages: 52, top1Agree: 51 }, …], heldOut: {…} }
 * if (cv) console.log(`held-out top-1 ${cv.heldOut.top1Agree}/${cv.heldOut.images}`);
 * ```
 */
export interface CrossValidationReport {
  /** Number of folds. */
  folds: number;
  /** Each fold: images calibrated on, images held out, held-out images whose top-1 agrees. */
  perFold: { calibrationImages: number; heldOutImages: number; top1Agree: number }[];
  /** Agreement and logit error over the held-out images of all folds (every calibration image once). */
  heldOut: AccuracyReport;
}

/** Milliseconds per run: median and quartiles. */
export interface Timing {
  median: number;
  p25: number;
  p75: number;
}

/** The speed of both models, measured interleaved in one process. */
export interface SpeedReport {
  /** Float model, ms per run. */
  floatMs: Timing;
  /** Quantized model, ms per run. */
  int8Ms: Timing;
  /** How many times faster the quantized model runs: the median over rounds of float ms / int8 ms. */
  speedup: number;
  /** onnxruntime intra-op threads of both sessions. */
  threads: number;
  /** Images per run. */
  batch: number;
  /** Timed runs of each model. */
  runs: number;
}

/** Options of {@link measureSpeed}. */
export interface SpeedOptions {
  /** Timed runs of each model (default 40). */
  runs?: number;
  /** onnxruntime intra-op threads (default 1: steadiest on a shared machine; the bench also measures 2). */
  threads?: number;
  /** Images per run (default 1). */
  batch?: number;
}

/** The kernels onnxruntime runs for the quantized model after its graph optimizations. */
export interface KernelReport {
  /** int8 kernels by operator (e.g. `QLinearConv: 52`). */
  int8: Record<string, number>;
  /** Float Conv / Gemm / MatMul kernels left (excluded or unfusable nodes). */
  floatCompute: Record<string, number>;
  /** QuantizeLinear / DequantizeLinear left at the edges of the int8 regions. */
  quantizeLinear: number;
  dequantizeLinear: number;
}
