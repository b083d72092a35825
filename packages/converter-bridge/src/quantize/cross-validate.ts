/**
 * Cross-validation: a held-out estimate of the quantized model's agreement from the calibration images alone. The
 * images are split into k folds; each fold is quantized away from (calibrated on the other folds, same settings) and
 * measured on; the held-out logits of all folds together give one accuracy report over every image. Judging a model
 * on the images that set its ranges flatters or punishes it by chance (its near-ties), and a user with one folder of
 * images has no other held-out set.
 * @module
 */
import { ConverterError } from '../errors.js';
import type { ImageTensors } from './calibrate.js';
import {
  accuracyAgainstFloat,
  type LogitPairs,
  type LogitRun,
  type ModelToRun,
  runModels,
  servedInt8Model,
} from './evaluate.js';
import { crossValidationFolds } from './folds.js';
import type { AccuracyReport, CrossValidationReport } from './summary.js';

/**
 * Refuse a fold count the images cannot fill: every fold needs an image to hold out and one to calibrate on.
 *
 * @throws {ConverterError} TOO_FEW_IMAGES
 */
export function checkFoldsFit(images: number, folds: number): void {
  if (images < folds)
    throw new ConverterError(
      'TOO_FEW_IMAGES',
      `${folds}-fold cross-validation needs at least ${folds} calibration images, got ${images}: give held-out ` +
        'images (--eval / eval), fewer folds, or turn cross-validation off (--no-folds / folds: false)',
      { details: { images, folds } },
    );
}

/** What {@link crossValidate} needs. */
export interface CrossValidationRun {
  /** Number of folds (≥ 2, ≤ the number of images: the caller checks it first, with {@link checkFoldsFit}). */
  folds: number;
  /** All calibration images. */
  images: ImageTensors;
  /** The float model's logits on `images`, in their order (computed once, for every fold). */
  floatLogits: Float32Array;
  /** The int8 model calibrated on these images with the run's settings (what the written model is, on all). */
  quantizeOn: (images: ImageTensors, fold: number) => Promise<Uint8Array>;
  /** How to feed the models. */
  logitRun: LogitRun;
  /** Labels for the disagreements and worst classes. */
  labels?: readonly string[];
}

/**
 * k-fold cross-validation of the quantization: for each fold, quantize on the other folds, run the int8 model as
 * `@mtailor/core` serves it (exact integer arithmetic) on the held-out fold; then the accuracy over all held-out
 * logits together (top-1 agreements summed over folds).
 *
 * @throws {ConverterError} QUANTIZE_RUN_FAILED | CALIBRATION_FAILED | ABORTED
 */
export async function crossValidate(run: CrossValidationRun): Promise<CrossValidationReport> {
  const { images, folds } = run;
  const indices = Array.from({ length: images.count }, (_, i) => i);
  const classes = run.floatLogits.length / images.count;
  const int8Logits = new Float32Array(run.floatLogits.length);
  const perFold: CrossValidationReport['perFold'] = [];
  for (const [f, fold] of crossValidationFolds(indices, folds).entries()) {
    const calibration = images.subset(fold.calibration.map((i) => images.files[i]!));
    const heldOut = images.subset(fold.heldOut.map((i) => images.files[i]!));
    const served = await servedInt8Model(await run.quantizeOn(calibration, f));
    const int8: ModelToRun = { model: served.bytes, what: `quantized model of fold ${f + 1}` };
    if (Object.keys(served.sessionOptions).length) int8.sessionOptions = served.sessionOptions;
    const { logits } = await runModels([int8], heldOut, run.logitRun);
    const foldFloat = new Float32Array(logits[0]!.length);
    for (const [row, i] of fold.heldOut.entries()) {
      const rowFloat = run.floatLogits.subarray(i * classes, (i + 1) * classes);
      const rowInt8 = logits[0]!.subarray(row * classes, (row + 1) * classes);
      foldFloat.set(rowFloat, row * classes);
      int8Logits.set(rowInt8, i * classes);
    }
    const foldAccuracy = accuracyAgainstFloat({
      files: [...heldOut.files],
      classes,
      float: foldFloat,
      int8: logits[0]!,
    });
    perFold.push({
      calibrationImages: calibration.count,
      heldOutImages: heldOut.count,
      top1Agree: foldAccuracy.top1Agree,
    });
  }
  const pairs: LogitPairs = { files: [...images.files], classes, float: run.floatLogits, int8: int8Logits };
  const heldOut: AccuracyReport = accuracyAgainstFloat(pairs, run.labels);
  return { folds, perFold, heldOut };
}
