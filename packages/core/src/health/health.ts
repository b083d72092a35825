/**
 * `health()`: is the classifier able to answer, and what is it running on.
 * @module
 */
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import type { ClassifierStatus, ImageClassifier } from '../classifier/image-classifier.js';
import type { SelfTestResult } from '../classifier/self-test.js';
import { toMtailorError } from '../engine/error-transfer.js';
import type { ModelInfo } from '../engine/executors.js';
import { runtimeVersions } from './versions.js';

/** What {@link health} reports. Sizes are in bytes. */
export interface HealthReport {
  /** `'ok'` when the classifier takes work and the self-test classified its image as expected. */
  status: 'ok' | 'error';
  model: ModelInfo;
  /** The self-test image classified end to end (see {@link ImageClassifier.selfTest}), or why it failed. */
  selfTest:
    | { ok: true; result: SelfTestResult }
    | { ok: false; result?: SelfTestResult; error?: { code: string; message: string } };
  /** The engine: state, images in progress, last batch. */
  engine: Omit<ClassifierStatus, 'selfTest' | 'lastInference'> & {
    lastInference?: { at: string; ms: number };
  };
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  /** Free space of the volume holding the model file (or the working directory for a model given as bytes). */
  disk: { path: string; freeBytes: number; totalBytes: number } | { path: string; error: string };
  uptimeSeconds: number;
  versions: { node: string; onnxruntime: string; sharp: string; vips: string; mtailorCore: string };
}

/**
 * Checks a classifier end to end — runs its self-test — and reports the process's state: the model, the engine,
 * memory, free disk of the model's volume, uptime and versions. Never throws for a failing check: it reports
 * `status: 'error'` with the reason. Plain JSON, ready for an HTTP endpoint.
 *
 * @example
 * ```ts
 * import { ImageClassifier, health } from '@mtailor/core';
 * const classifier = await ImageClassifier.create({ model: 'model.onnx' });
 * const report = await health(classifier);
 * console.log(report.status, report.selfTest, report.disk);
 * ```
 */
export async function health(classifier: ImageClassifier): Promise<HealthReport> {
  let selfTest: HealthReport['selfTest'];
  try {
    const result = await classifier.selfTest();
    selfTest = result.ok
      ? { ok: true, result }
      : {
          ok: false,
          result,
          error: {
            code: 'SELF_TEST_MISMATCH',
            message: `classified as ${result.top1.index}, expected ${result.expectedClass}`,
          },
        };
  } catch (err) {
    const e = toMtailorError(err);
    selfTest = { ok: false, error: { code: e.code, message: e.message } };
  }
  const model = classifier.model;
  const diskPath = model.source === '<bytes>' ? process.cwd() : path.dirname(path.resolve(model.source));
  let disk: HealthReport['disk'];
  try {
    const s = await statfs(diskPath);
    disk = { path: diskPath, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch (err) {
    disk = { path: diskPath, error: (err as Error).message };
  }
  const { selfTest: _, lastInference, ...engine } = classifier.status();
  const m = process.memoryUsage();
  const versions = runtimeVersions();
  return JSON.parse(
    JSON.stringify({
      status: engine.ready && selfTest.ok ? 'ok' : 'error',
      model,
      selfTest,
      engine: {
        ...engine,
        ...(lastInference
          ? { lastInference: { at: lastInference.at.toISOString(), ms: lastInference.ms } }
          : {}),
      },
      memory: {
        rss: m.rss,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
      },
      disk,
      uptimeSeconds: process.uptime(),
      versions: {
        node: versions.node,
        onnxruntime: versions.onnxruntime,
        sharp: versions.sharp,
        vips: versions.libvips,
        mtailorCore: versions.mtailorCore,
      },
    } satisfies HealthReport),
  ) as HealthReport;
}
