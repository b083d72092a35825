/**
 * The frame shared by the test files that run real PyTorch → ONNX conversions: a describe block that needs torch,
 * and a scratch folder for the checkpoints and models it writes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe } from 'vitest';
import { hasTorch } from '../../../../test/support/shared-data.js';

/**
 * `describe` for tests that convert with real PyTorch: skipped, with a warning, where the Python cannot import torch
 * (and under `CI=true` that throws instead, so CI cannot pass without running them; see `hasTorch`).
 *
 * @param name - The block's title.
 * @param body - Declares the block's hooks and tests.
 */
export function describeWithTorch(name: string, body: () => void): void {
  // Probed when the block is declared, not when this module is imported: importing the helper alone runs no Python.
  describe.skipIf(!hasTorch())(name, body);
}

/**
 * A fresh folder under the system temp dir, removed with everything in it after the enclosing describe block (or
 * file, when called at the top level). Conversions write large models, so each run cleans up after itself.
 *
 * @param prefix - Start of the folder's name, e.g. `mtailor-convert-`, to tell runs apart in the temp dir.
 * @returns The folder's absolute path.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
