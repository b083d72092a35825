/** The committed WebAssembly binary is the assembly of the committed kernels.wat (scripts/build-wasm.mjs). */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resampleBackend, setResampleBackend } from '@mtailor/preprocess';
import { expect, it } from 'vitest';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'build-wasm.mjs');

it('kernels-binary.ts is up to date with kernels.wat', () => {
  expect(execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' })).toMatch(/up to date/);
});

it('the backend can be switched to plain JS and back', () => {
  expect(resampleBackend()).toBe('wasm');
  expect(setResampleBackend('js')).toBe('js');
  expect(resampleBackend()).toBe('js');
  expect(setResampleBackend('auto')).toBe('wasm');
});
