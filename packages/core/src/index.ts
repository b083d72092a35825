export * from './classifier/index.js';
export * from './errors.js';
export * from './health/index.js';
export * from './input/index.js';
export * from './labels/index.js';
export * from './manifest/index.js';
export * from './model/index.js';
