/**
 * Versions of the runtime pieces, for health reports.
 * @module
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { ONNXModel } from '../model/onnx-model.js';

let coreVersion: string | undefined;

/** `@mtailor/core`'s own version (its package.json). */
function mtailorCoreVersion(): string {
  if (coreVersion === undefined) {
    try {
      const url = new URL('../../package.json', import.meta.url);
      coreVersion = (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
    } catch {
      coreVersion = 'unknown';
    }
  }
  return coreVersion;
}

/**
 * Versions of Node, onnxruntime, sharp, libvips and `@mtailor/core`.
 *
 * @example
 * ```ts
 * runtimeVersions(); // { node: '20.20.2', onnxruntime: '1.30.0', sharp: '0.35.5', libvips: '8.18.7', mtailorCore: '0.1.0' }
 * ```
 */
export function runtimeVersions(): {
  node: string;
  onnxruntime: string;
  sharp: string;
  libvips: string;
  mtailorCore: string;
} {
  return {
    node: process.versions.node,
    onnxruntime: ONNXModel.runtimeVersion,
    sharp: sharp.versions.sharp ?? 'unknown',
    libvips: sharp.versions.vips,
    mtailorCore: mtailorCoreVersion(),
  };
}
