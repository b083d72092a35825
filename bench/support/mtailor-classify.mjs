/**
 * `mtailor classify` as the throughput benches run it: a folder, top-1 JSON lines, no EXIF rotation (as
 * torchvision), with the deployment image's glibc malloc settings.
 */
import path from 'node:path';
import { imageGlibcTunables, repoRoot } from './bench-env.mjs';

/** Node's arguments for `mtailor classify <folder> --model <model> --top-k 1 --json --no-auto-orient`. */
export function mtailorClassifyArgs(folder, model) {
  const bin = path.join(repoRoot, 'packages', 'cli', 'bin', 'mtailor.js');
  return [bin, 'classify', folder, '--model', model, '--top-k', '1', '--json', '--no-auto-orient'];
}

/** The environment to run it in: this one plus the image's `GLIBC_TUNABLES`. */
export function mtailorClassifyEnv() {
  return { ...process.env, ...(imageGlibcTunables ? { GLIBC_TUNABLES: imageGlibcTunables } : {}) };
}
