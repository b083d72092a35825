export * from './errors.js';
export * from './model/index.js';
export * from './labels/index.js';
export * from './manifest/index.js';
export * from './classifier/index.js';
export * from './input/index.js';
export * from './health/index.js';
