/**
 * What every benchmark of this repository reads the same way: the shared data directory (`MTAILOR_SHARED_DIR`,
 * default `../shared` beside the checkout), the default model (`MTAILOR_MODEL`, default the shared int8
 * MobileNetV2), the tench image, and the deployment image's glibc malloc settings.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The shared data directory: `MTAILOR_SHARED_DIR`, or `../shared` beside the checkout. */
export const sharedDir = path.resolve(process.env.MTAILOR_SHARED_DIR ?? path.join(repoRoot, '..', 'shared'));

/** A shared model by file name (`mobilenet_v2_float.onnx`, …). */
export const sharedModel = (name) => path.join(sharedDir, 'models', name);

/** The model to measure: `MTAILOR_MODEL`, or the shared int8 MobileNetV2. */
export const benchModel = path.resolve(
  process.env.MTAILOR_MODEL ?? sharedModel('mobilenet_v2_int8_qdq.onnx'),
);

/** The shared images' directory. */
export const sharedImagesDir = path.join(sharedDir, 'images');

/** The tench photograph (500 × 375 JPEG) that single-image benchmarks send. */
export const tenchPath = path.join(sharedImagesDir, 'n01440764_tench.JPEG');

/**
 * The image's glibc malloc settings, read from the deployment's Dockerfile so that benchmarks run the server as the
 * image does and the two cannot drift: without them glibc returns freed decode buffers to the kernel and every
 * request page-faults them back (packages/core/docs/decoding.md).
 */
export const imageGlibcTunables = /GLIBC_TUNABLES=(\S+)/.exec(
  readFileSync(path.join(repoRoot, 'examples', 'cerebrium', 'Dockerfile'), 'utf8'),
)?.[1];
