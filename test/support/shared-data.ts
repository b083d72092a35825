/**
 * Where the tests find real data (models, ImageNet images, PyTorch reference outputs).
 *
 * One setting: `MTAILOR_SHARED_DIR` (default: `../shared` beside the repository). Nothing is copied into the
 * repo; point the variable at your own folder with the same layout to run the suite on your data.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file lives in `<root>/test/support`). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The shared data folder. */
export const sharedDir = path.resolve(process.env.MTAILOR_SHARED_DIR ?? path.join(repoRoot, '..', 'shared'));

/** Paths of the shared files the tests use. */
export const shared = {
  dir: sharedDir,
  images: path.join(sharedDir, 'images'),
  image: (name: string): string => path.join(sharedDir, 'images', name),
  int8Model: path.join(sharedDir, 'models', 'mobilenet_v2_int8_qdq.onnx'),
  floatModel: path.join(sharedDir, 'models', 'mobilenet_v2_float.onnx'),
  mobilenetWeights: path.join(sharedDir, 'models', 'mobilenet_v2_imagenet.pth'),
  classesTsv: path.join(sharedDir, 'data', 'imagenet1k-classes.tsv'),
  reference: (name: string): string => path.join(sharedDir, 'reference', name),
  tench: path.join(sharedDir, 'images', 'n01440764_tench.JPEG'),
  mudTurtle: path.join(sharedDir, 'images', 'n01667114_mud_turtle.JPEG'),
} as const;

/** All shared image paths, sorted. */
export function sharedImages(): string[] {
  return readdirSync(shared.images)
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort()
    .map((f) => path.join(shared.images, f));
}

if (!existsSync(sharedDir)) {
  throw new Error(
    `Shared test data not found at ${sharedDir}. Set MTAILOR_SHARED_DIR to the folder holding models/, images/, data/ and reference/.`,
  );
}

/** The Python interpreter with Debian's torch/torchvision/onnx/PIL (`MTAILOR_PYTHON`, default /usr/bin/python3). */
export const python = process.env.MTAILOR_PYTHON ?? '/usr/bin/python3';

function probe(modules: string): boolean {
  try {
    execFileSync(python, ['-c', `import ${modules}`], { stdio: 'ignore', timeout: 120_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether PyTorch (and torchvision, onnx, PIL) can be imported. Under `CI=true` a missing PyTorch is an error,
 * not a skip: CI must prove the PyTorch-dependent tests every run.
 */
export function hasTorch(): boolean {
  const ok = probe('torch, torchvision, onnx, PIL');
  if (!ok) {
    if (process.env.CI === 'true') {
      throw new Error(
        `CI=true but PyTorch is not importable by ${python}: install python3-torch python3-torchvision python3-onnx python3-pil`,
      );
    }
    console.warn(
      `\n*** SKIPPING PyTorch tests: ${python} cannot import torch/torchvision/onnx/PIL (set MTAILOR_PYTHON) ***\n`,
    );
  }
  return ok;
}

/**
 * The Python interpreter of today's PyTorch stack (torch 2.14 / torchvision 0.29 / Pillow 12.3 / timm /
 * transformers 5 / onnxscript), installed by `scripts/setup.sh` from `python/today.lock` into `.venv-today/`
 * (`MTAILOR_PYTHON_TODAY` overrides it).
 */
export const pythonToday =
  process.env.MTAILOR_PYTHON_TODAY ?? path.join(repoRoot, '.venv-today', 'bin', 'python');

/**
 * Whether today's stack (torch 2.x, torchvision, onnx, onnxscript, timm, transformers, PIL) can be imported by
 * {@link pythonToday}. Same CI rule as {@link hasTorch}: under `CI=true` a missing stack fails instead of skipping.
 */
export function hasTodaysTorch(): boolean {
  let ok = false;
  try {
    execFileSync(
      pythonToday,
      ['-c', 'import torch, torchvision, onnx, onnxscript, timm, transformers, PIL'],
      {
        stdio: 'ignore',
        timeout: 180_000,
      },
    );
    ok = true;
  } catch {
    ok = false;
  }
  if (!ok) {
    if (process.env.CI === 'true') {
      throw new Error(
        `CI=true but today's PyTorch stack is not importable by ${pythonToday}: run scripts/setup.sh`,
      );
    }
    console.warn(
      `\n*** SKIPPING today's-PyTorch tests: ${pythonToday} cannot import torch/timm/transformers (run scripts/setup.sh or set MTAILOR_PYTHON_TODAY) ***\n`,
    );
  }
  return ok;
}

/** Whether PIL alone can be imported (same CI rule as {@link hasTorch}). */
export function hasPillow(): boolean {
  const ok = probe('PIL, numpy');
  if (!ok) {
    if (process.env.CI === 'true') throw new Error(`CI=true but PIL is not importable by ${python}`);
    console.warn(
      `\n*** SKIPPING Pillow parity tests: ${python} cannot import PIL (set MTAILOR_PYTHON) ***\n`,
    );
  }
  return ok;
}
