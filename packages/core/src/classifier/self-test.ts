/**
 * The self-test: one image classified end to end, and the class it must get. The built-in image is drawn from code
 * (an SVG of an orange-like disc, rasterised to PNG by sharp), so no package ships test data.
 *
 * What it proves, honestly: the whole path (PNG decode → preprocess → batch → onnxruntime → softmax) runs and
 * answers the class recorded for this model. For the models listed in {@link KNOWN_TEST_CLASSES} (found once by
 * running this exact image through them, see the README) that is a fixed expected class; for any other model the
 * class found by the startup self-test becomes the expectation, so later `test_mode` calls prove the model still
 * answers the same, deterministically — not that it is right. For a real check, give `selfTest: { image, expectedClass }` (the
 * server: `MTAILOR_TEST_IMAGE` and `MTAILOR_TEST_EXPECTED_CLASS`) with an image of your own and its true class.
 * @module
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { Prediction } from './predictions.js';

/**
 * The synthetic test image as SVG: an orange disc with a leaf on a light background, 320×256. (MobileNetV2 sees a
 * ping-pong ball, with a wide margin; what matters is that the answer is stable, not that it is an orange.)
 */
export const SYNTHETIC_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="256" viewBox="0 0 320 256">
  <defs>
    <radialGradient id="peel" cx="40%" cy="35%" r="65%">
      <stop offset="0%" stop-color="#ffc04d"/>
      <stop offset="55%" stop-color="#f28c00"/>
      <stop offset="100%" stop-color="#b85c00"/>
    </radialGradient>
  </defs>
  <rect width="320" height="256" fill="#f4efe6"/>
  <ellipse cx="165" cy="240" rx="110" ry="12" fill="#d9d0c2"/>
  <circle cx="160" cy="136" r="100" fill="url(#peel)"/>
  <circle cx="160" cy="40" r="5" fill="#6b4a1f"/>
  <path d="M163 40 C 190 10, 230 12, 240 25 C 215 40, 185 45, 163 40 Z" fill="#3f8f2f"/>
</svg>`;

/**
 * Expected class of the synthetic image for models it was measured with, by the model file's sha256.
 * (Measured with `resize: 'exact'` and `'fast'`, `autoOrient` on and off: same class.)
 */
export const KNOWN_TEST_CLASSES: Readonly<Record<string, { classId: number; model: string }>> = {
  // MobileNetV2 int8 QDQ (shared/models/mobilenet_v2_int8_qdq.onnx): 722 'ping-pong ball', p ≈ 0.90 (next: 0.04).
  '3d7d27aef3d51098bf372f5ba3a5170b679d279e84b5d193260c5f434762172e': {
    classId: 722,
    model: 'mobilenet_v2_int8_qdq',
  },
  // MobileNetV2 float (shared/models/mobilenet_v2_float.onnx): 722 'ping-pong ball', p ≈ 0.86 (next: 0.06).
  '5d2258d48fd0c5fe465903b9132d4ba026e777ffa9b90f7a0e4438831504ceed': {
    classId: 722,
    model: 'mobilenet_v2_float',
  },
};

/** The image the self-test classifies and the class it must get. */
export interface TestImage {
  bytes: Uint8Array;
  /** Where it came from: `synthetic`, the configured path, or `<bytes>`. */
  source: string;
  /** The class it must get; `undefined` until the startup self-test records one (unknown model, synthetic image). */
  expectedClass: number | undefined;
  /** How `expectedClass` is known: from the user, measured for this model, or recorded at startup. */
  expectation: 'configured' | 'known-model' | 'recorded-at-startup';
}

/** Renders the synthetic image to PNG bytes. */
export async function renderSyntheticTestImage(): Promise<Uint8Array> {
  return new Uint8Array(await sharp(Buffer.from(SYNTHETIC_SVG)).png().toBuffer());
}

/** An image of the user's own for the self-test, and its true class. */
export interface SelfTestImage {
  /** A file path or the encoded bytes. */
  image: string | Uint8Array;
  /** The class index the model must answer. */
  expectedClass: number;
}

/**
 * The test image for a model: the configured one, or the synthetic one with the expectation known for
 * `modelSha256`.
 */
export async function loadTestImage(modelSha256: string, configured?: SelfTestImage): Promise<TestImage> {
  if (configured) {
    const { image } = configured;
    return {
      bytes: typeof image === 'string' ? new Uint8Array(await readFile(image)) : image,
      source: typeof image === 'string' ? image : '<bytes>',
      expectedClass: configured.expectedClass,
      expectation: 'configured',
    };
  }
  const known = KNOWN_TEST_CLASSES[modelSha256];
  return {
    bytes: await renderSyntheticTestImage(),
    source: 'synthetic',
    expectedClass: known?.classId,
    expectation: known ? 'known-model' : 'recorded-at-startup',
  };
}

/**
 * The outcome of a self-test run.
 *
 * @example
 * ```ts
 * const result = await classifier.selfTest(); // a SelfTestResult
 * if (!result.ok) console.error(`expected ${result.expectedClass}, got ${result.top1.index}`);
 * ```
 */
export interface SelfTestResult {
  /** The top-1 class equals the expected class. */
  ok: boolean;
  /** What the model answered. */
  top1: Prediction;
  /** The class it had to answer. */
  expectedClass: number;
  /** How the expected class is known. */
  expectation: TestImage['expectation'];
  /** `synthetic`, the configured path, or `<bytes>`. */
  source: string;
  /** Milliseconds for the whole classification. */
  ms: number;
  /** When it ran. */
  at: Date;
}
