/**
 * `@mtailor/example-embedding`: two ways to use @mtailor inside your own service — mount the inference plugin in an
 * existing Fastify app ({@link buildShopApp}), or call `@mtailor/core` directly ({@link classifyFiles}).
 * @module
 */
export { classifyFiles, type FileClassification } from './library.js';
export { buildShopApp } from './mount-plugin.js';
