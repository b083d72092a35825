/**
 * The folder of ≥ 1000 images the throughput benches classify: the shared JPEGs replicated as symlinks
 * (`00_<name>`, `01_<name>`, …) in a new temporary folder, so every pipeline reads the same files.
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sharedImagesDir } from './bench-env.mjs';

/** The shared JPEGs, sorted. */
export function sharedJpegs() {
  return readdirSync(sharedImagesDir)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort()
    .map((f) => path.join(sharedImagesDir, f));
}

/**
 * A temporary folder of `count` symlinks to the shared JPEGs, in turn. `files[i]` is `{ name, path, src }`;
 * `remove()` deletes the folder.
 */
export function replicatedImageFolder(count) {
  const shared = sharedJpegs();
  const folder = mkdtempSync(path.join(os.tmpdir(), 'mtailor-bench-images-'));
  const files = [];
  for (let i = 0; i < count; i++) {
    const src = shared[i % shared.length];
    const name = `${String(Math.floor(i / shared.length)).padStart(2, '0')}_${path.basename(src)}`;
    symlinkSync(src, path.join(folder, name));
    files.push({ name, path: path.join(folder, name), src });
  }
  return { folder, files, shared, remove: () => rmSync(folder, { recursive: true, force: true }) };
}
