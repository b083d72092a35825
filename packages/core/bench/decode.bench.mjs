#!/usr/bin/env node
/**
 * Decode (+ preprocess) cost per image on ONE core, over the shared ImageNet images, for each sharp option that
 * matters — to find where sharp's per-call cost goes and what beats it (packages/core/docs/decoding.md).
 *
 *   node packages/core/bench/decode.bench.mjs [--repeats 5] [--images DIR] [--no-pil] [--no-env]
 *
 * Each variant runs in a child process pinned to one CPU (`taskset -c 0`, when available) and decodes the images
 * one at a time, `--repeats` passes; it prints the median ms/image over the passes, the min–max over passes, and
 * the CPU ms/image (user + system, all threads). The same table is then repeated with glibc's malloc told not to
 * return freed memory to the kernel (GLIBC_TUNABLES), which must be set before the process starts.
 * Set MTAILOR_SHARED_DIR to point at another data folder.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const sharedDir = process.env.MTAILOR_SHARED_DIR ?? path.resolve(here, '..', '..', '..', '..', 'shared');
const imagesDir = value('--images', path.join(sharedDir, 'images'));
const repeats = Number(value('--repeats', '5'));

/** Variant name → what it runs on one image (given its path and, for some, its bytes read by the caller). */
const VARIANTS = [
  ["sharp(path) → raw, all defaults (the notes' baseline)", 'path-default'],
  ['readFile + sharp(bytes) → raw', 'bytes-default'],
  ['  + sharp.cache(false)', 'bytes-nocache'],
  ['  + ignoreIcc (PIL ignores ICC; skips lcms)', 'bytes-ignoreicc'],
  ['  + our input options (failOn error, pages 1, limit)', 'bytes-ours'],
  ['  + failOn: warning instead of error', 'bytes-ours-failwarn'],
  ['  + sharp.concurrency(2) (libvips threads per image)', 'bytes-ours-conc2'],
  ['  + metadata() first (header parsed twice)', 'bytes-ours-meta'],
  ['  + sequentialRead: false', 'bytes-ours-random'],
  ['decodeImage() (sniff + metadata() + decode + PIL fixups)', 'decode-image'],
  ['decodeImagePixels() (hot path: route from header bytes)', 'decode-pixels'],
  ['ImagePreprocessor.process exact, resize-224', 'process-exact'],
  ['ImagePreprocessor.process fast, resize-224', 'process-fast'],
  ['ImagePreprocessor.process exact, imagenet-eval', 'process-exact-eval'],
];

async function runVariant(variant) {
  const { default: sharp } = await import('sharp');
  const core = await import('@mtailor/core');
  const files = readdirSync(imagesDir)
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort()
    .map((f) => path.join(imagesDir, f));
  if (variant !== 'path-default' && variant !== 'bytes-default') sharp.cache(false);
  const ours = { ignoreIcc: true, failOn: 'error', pages: 1, page: 0, limitInputPixels: 100_000_000 };
  const settings = { autoOrient: false, maxPixels: 100_000_000 };
  const exact = new core.ImagePreprocessor({ autoOrient: false });
  const fast = new core.ImagePreprocessor({ autoOrient: false, resize: 'fast' });
  const eval_ = new core.ImagePreprocessor({ autoOrient: false, recipe: 'imagenet-eval' });
  if (variant === 'path-default' || variant === 'bytes-default') sharp.cache(true); // undo the constructor's choice
  if (variant === 'bytes-ours-conc2') sharp.concurrency(2);
  const concurrency = sharp.concurrency();
  const one = {
    'path-default': (f) => sharp(f).raw().toBuffer(),
    'bytes-default': (f) => sharp(readFileSync(f)).raw().toBuffer(),
    'bytes-nocache': (f) => sharp(readFileSync(f)).raw().toBuffer(),
    'bytes-ignoreicc': (f) => sharp(readFileSync(f), { ignoreIcc: true }).raw().toBuffer(),
    'bytes-ours': (f) => sharp(readFileSync(f), ours).removeAlpha().raw({ depth: 'uchar' }).toBuffer(),
    'bytes-ours-failwarn': (f) =>
      sharp(readFileSync(f), { ...ours, failOn: 'warning' })
        .removeAlpha()
        .raw({ depth: 'uchar' })
        .toBuffer(),
    'bytes-ours-conc2': (f) => sharp(readFileSync(f), ours).removeAlpha().raw({ depth: 'uchar' }).toBuffer(),
    'bytes-ours-meta': async (f) => {
      const bytes = readFileSync(f);
      await sharp(bytes, ours).metadata();
      return sharp(bytes, ours).removeAlpha().raw({ depth: 'uchar' }).toBuffer();
    },
    'bytes-ours-random': (f) =>
      sharp(readFileSync(f), { ...ours, sequentialRead: false })
        .removeAlpha()
        .raw({ depth: 'uchar' })
        .toBuffer(),
    'decode-image': (f) => core.decodeImage(readFileSync(f), settings),
    'decode-pixels': (f) => core.decodeImagePixels(readFileSync(f), settings),
    'process-exact': (f) => exact.process(f),
    'process-fast': (f) => fast.process(f),
    'process-exact-eval': (f) => eval_.process(f),
  }[variant];
  for (const f of files.slice(0, 10)) await one(f); // warm-up
  const passes = [];
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (const f of files) await one(f);
    passes.push((performance.now() - t0) / files.length);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / (files.length * repeats);
  process.stdout.write(JSON.stringify({ passes, cpuMs, images: files.length, concurrency }));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function child(variant, env) {
  const pin = existsSync('/usr/bin/taskset') ? ['taskset', ['-c', '0']] : [undefined, []];
  const nodeArgs = [
    fileURLToPath(import.meta.url),
    '--child',
    variant,
    '--repeats',
    String(repeats),
    '--images',
    imagesDir,
  ];
  const [cmd, pre] = pin[0]
    ? [pin[0], [...pin[1], process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const res = spawnSync(cmd, pre, { env: { ...process.env, ...env }, encoding: 'utf8', cwd: here });
  if (res.status !== 0) throw new Error(`variant ${variant} failed: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

function pilReference(files) {
  const python = process.env.MTAILOR_PYTHON ?? '/usr/bin/python3';
  const script = `
import io, sys, time, statistics
from PIL import Image
files = sys.argv[2:]; repeats = int(sys.argv[1])
data = [open(f, 'rb').read() for f in files]
def run(fn):
    for b in data[:10]: fn(b)
    passes = []
    c = time.process_time()
    for _ in range(repeats):
        t = time.perf_counter()
        for b in data: fn(b)
        passes.append((time.perf_counter() - t) * 1000 / len(data))
    cpu = (time.process_time() - c) * 1000 / (len(data) * repeats)
    return ' '.join(map(str, passes)) + ' ' + str(cpu)
dec = run(lambda b: Image.open(io.BytesIO(b)).convert('RGB'))
res = run(lambda b: Image.open(io.BytesIO(b)).convert('RGB').resize((224, 224), Image.BILINEAR))
print(dec + '|' + res)
`;
  try {
    const pin = existsSync('/usr/bin/taskset') ? ['taskset', ['-c', '0', python]] : [python, []];
    const out = execFileSync(pin[0], [...pin[1], '-c', script, String(repeats), ...files], {
      encoding: 'utf8',
    });
    // Each part: the per-pass ms/image, then the CPU ms/image.
    const [dec, res] = out
      .trim()
      .split('|')
      .map((s) => {
        const xs = s.split(' ').map(Number);
        return { passes: xs.slice(0, -1), cpuMs: xs.at(-1) };
      });
    return { dec, res };
  } catch {
    return undefined;
  }
}

function row(name, passes, cpuMs) {
  const line = `${name.padEnd(56)} ${median(passes).toFixed(2).padStart(6)}  ${Math.min(...passes).toFixed(2)}–${Math.max(...passes).toFixed(2)}`;
  return cpuMs === undefined ? line : `${line.padEnd(80)} ${cpuMs.toFixed(2).padStart(6)}`;
}

async function main() {
  if (flag('--child')) return runVariant(value('--child'));
  const files = readdirSync(imagesDir).filter((f) => /\.(jpe?g|png|webp)$/i.test(f));
  const cpus = os.cpus();
  console.log(
    `# decode.bench — ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores (each variant pinned to one)`,
  );
  const { default: sharp } = await import('sharp');
  console.log(
    `# Node ${process.version}, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}; ${files.length} images from ${imagesDir}, ${repeats} passes each`,
  );
  const envs = [['default environment', {}]];
  if (!flag('--no-env')) {
    envs.push([
      'GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456:glibc.malloc.mmap_threshold=268435456:glibc.malloc.top_pad=67108864',
      {
        GLIBC_TUNABLES:
          'glibc.malloc.trim_threshold=268435456:glibc.malloc.mmap_threshold=268435456:glibc.malloc.top_pad=67108864',
      },
    ]);
  }
  for (const [label, env] of envs) {
    console.log(`\n## ${label}`);
    console.log(`${'variant'.padEnd(56)} ms/img  min–max passes       CPU ms/img`);
    for (const [name, variant] of VARIANTS) {
      const { passes, cpuMs, concurrency } = child(variant, env);
      if (variant === 'path-default') console.log(`# sharp.concurrency() default here: ${concurrency}`);
      console.log(row(name, passes, cpuMs));
    }
  }
  if (!flag('--no-pil')) {
    const pil = pilReference(files.sort().map((f) => path.join(imagesDir, f)));
    if (pil) {
      console.log('\n## Pillow reference (same images, one core)');
      console.log(row('PIL open + convert("RGB")', pil.dec.passes, pil.dec.cpuMs));
      console.log(row('PIL open + convert + resize((224,224), BILINEAR)', pil.res.passes, pil.res.cpuMs));
    } else {
      console.log('\n(Pillow reference skipped: set MTAILOR_PYTHON to a Python with Pillow)');
    }
  }
}

await main();
