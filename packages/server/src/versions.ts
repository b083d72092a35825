/**
 * Versions shown by `/health`, `/ready` and `GET /v2`.
 * @module
 */
import { createRequire } from 'node:module';
import { runtimeVersions as coreVersions } from '@mtailor/core/internal';

const require = createRequire(import.meta.url);

/** This server's version (its package.json). */
export const SERVER_VERSION: string = (require('../package.json') as { version: string }).version;

const FASTIFY_VERSION: string = (require('fastify/package.json') as { version: string }).version;

/** Versions of the server and the runtime pieces under it. */
export function runtimeVersions(): Record<string, string> {
  const core = coreVersions();
  return {
    server: SERVER_VERSION,
    node: core.node,
    fastify: FASTIFY_VERSION,
    sharp: core.sharp,
    libvips: core.libvips,
    onnxruntime: core.onnxruntime,
    mtailor_core: core.mtailorCore,
  };
}
