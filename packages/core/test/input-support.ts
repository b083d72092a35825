/**
 * Test helpers of the input layer: PIL's decode and torchvision's tensors computed by the real Python libraries
 * (scripts in ./fixtures-scripts), and byte comparison.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { python } from '../../../test/support/shared-data.js';

const scripts = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures-scripts');

/** One image as PIL decodes it (`Image.open(f).convert('RGB')`). */
export type PilDecoded =
  | { width: number; height: number; mode: string; format: string; data: Uint8Array; error?: undefined }
  | { error: string };

/** Decodes files (paths) or byte arrays with PIL. `exifTranspose` applies `ImageOps.exif_transpose` first. */
export function pilDecode(inputs: (string | Uint8Array)[], exifTranspose = false): PilDecoded[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'mtailor-pil-'));
  try {
    const paths = inputs.map((input, i) => {
      if (typeof input === 'string') return input;
      const p = path.join(dir, `input-${i}`);
      writeFileSync(p, input);
      return p;
    });
    const args = [
      path.join(scripts, 'pil_decode.py'),
      ...(exifTranspose ? ['--exif-transpose'] : []),
      dir,
      ...paths,
    ];
    const out = execFileSync(python, args, {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out
      .trim()
      .split('\n')
      .map((line) => {
        const row = JSON.parse(line) as {
          index: number;
          error?: string;
          width: number;
          height: number;
          mode: string;
          format: string;
        };
        if (row.error !== undefined) return { error: row.error };
        return { ...row, data: new Uint8Array(readFileSync(path.join(dir, `${row.index}.rgb`))) };
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One file of the generated-modes corpus, with PIL's decode of it (or PIL's error). */
export type CorpusFile = {
  name: string;
  /** Absolute path of the encoded image. */
  file: string;
  /** What the file is about ("TIFF gray 16-bit photometric 0"). */
  what: string;
} & (
  | { mode: string; format: string; width: number; height: number; pil: Uint8Array; error?: undefined }
  | { error: string; mode?: undefined }
);

/**
 * Whether libtiff's `tiffcp` and `tiffset` (Debian `libtiff-tools`) run. Same rule as `hasPillow`: a loud skip,
 * but an error under `CI=true`.
 */
export function hasTiffTools(): boolean {
  let ok = true;
  for (const tool of ['tiffcp', 'tiffset']) {
    try {
      execFileSync(tool, ['-h'], { stdio: 'ignore' });
    } catch (err) {
      // Both print their usage and exit non-zero on -h: only a missing program is a failure.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') ok = false;
    }
  }
  if (!ok) {
    if (process.env.CI === 'true') {
      throw new Error(
        'CI=true but tiffcp/tiffset are missing: apt-get install libtiff-tools (scripts/setup.sh does)',
      );
    }
    console.warn(
      '\n*** SKIPPING the generated-modes corpus: tiffcp/tiffset missing (apt-get install libtiff-tools) ***\n',
    );
  }
  return ok;
}

/**
 * Generates the modes corpus into `dir` (fixtures-scripts/pil_modes_corpus.py: PIL 9.4, numpy, tiffcp, tiffset)
 * and reads PIL's `Image.open(f).convert('RGB')` of every file.
 */
export function generateModesCorpus(dir: string): CorpusFile[] {
  const out = execFileSync(python, [path.join(scripts, 'pil_modes_corpus.py'), dir], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const row = JSON.parse(line) as {
        name: string;
        file: string;
        what: string;
        error?: string;
        mode: string;
        format: string;
        width: number;
        height: number;
      };
      const { name, what, error, mode, format, width, height } = row;
      const file = path.join(dir, row.file);
      if (error !== undefined) return { name, file, what, error };
      const pil = new Uint8Array(readFileSync(path.join(dir, `${name}.rgb`)));
      return { name, file, what, mode, format, width, height, pil };
    });
}

/** torchvision's tensors (float32 CHW, concatenated) for image files with a preset. */
export function torchvisionTensors(preset: 'resize-224' | 'imagenet-eval', files: string[]): Float32Array {
  const dir = mkdtempSync(path.join(tmpdir(), 'mtailor-tv-'));
  try {
    const out = path.join(dir, 'tensors.bin');
    execFileSync(python, [path.join(scripts, 'torchvision_tensor.py'), preset, out, ...files], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const bytes = readFileSync(out);
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Number of differing bytes and the largest absolute difference. */
export function byteDiff(a: Uint8Array, b: Uint8Array): { count: number; max: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let count = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (d !== 0) {
      count++;
      if (d > max) max = d;
    }
  }
  return { count, max };
}

/** Largest absolute difference of two float arrays. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}
