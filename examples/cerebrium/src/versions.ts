/**
 * Versions shown by `/health`, `/ready` and `GET /v2`.
 * @module
 */
import { createRequire } from 'node:module';
import sharp from 'sharp';

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** This server's version (its package.json). */
export const SERVER_VERSION: string = (require('../package.json') as { version: string }).version;

/** Versions of the runtime pieces (onnxruntime's comes from the inference worker once the model is loaded). */
export function runtimeVersions(onnxruntime?: string): Record<string, string> {
  return {
    server: SERVER_VERSION,
    node: process.versions.node,
    fastify: packageVersion('fastify'),
    sharp: sharp.versions.sharp ?? packageVersion('sharp'),
    libvips: sharp.versions.vips,
    onnxruntime: onnxruntime ?? 'not loaded',
  };
}
