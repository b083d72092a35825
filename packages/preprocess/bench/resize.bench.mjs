#!/usr/bin/env node
/**
 * Resize speed of @mtailor/preprocess against sharp and Pillow's C code, on the same raw RGB pixels.
 *
 *   pnpm --filter @mtailor/preprocess bench          (after `pnpm exec tsc -b packages/preprocess`)
 *   node packages/preprocess/bench/resize.bench.mjs --repeats 15
 *
 * For 640×480 → 224×224 and 4000×3000 → 224×224 (bilinear, RGB) it prints ms per image as the median and the
 * p25–p75 / min–max spread over repeated runs (each run = the median of several back-to-back calls), for:
 *   - @mtailor/preprocess `resize` (single thread): WebAssembly SIMD passes, and the plain-JS fallback passes,
 *   - sharp `resize(224, 224, { fit: 'fill', kernel: 'linear' })` from raw pixels to raw pixels
 *     (`sharp.concurrency(1)`, cache off, so both use one core),
 *   - Pillow's `Image.resize((224, 224), BILINEAR)` timed with `timeit` in /usr/bin/python3 (MTAILOR_PYTHON).
 * and checks that our output is byte-identical to Pillow's on the same pixels. Then, for the `'torchvision'` backend
 * (bilinear and bicubic), our resize against torch's own: `torchvision.transforms.v2.functional.resize` of the uint8
 * tensor `pil_to_tensor` would give (`torch.set_num_threads(1)`), timed with `timeit` in today's Python
 * (MTAILOR_PYTHON_TODAY, default .venv-today/bin/python), output checked byte-identical. Timings on a shared
 * machine are noisy; compare ratios from one run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getPreset, preprocess, resampleBackend, resize, setResampleBackend } from '../dist/index.js';

const args = process.argv.slice(2);
const argValue = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
};
const REPEATS = argValue('--repeats', 11);
const PYTHON = process.env.MTAILOR_PYTHON ?? '/usr/bin/python3';
const PYTHON_TODAY =
  process.env.MTAILOR_PYTHON_TODAY ??
  path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    '..',
    '..',
    '..',
    '.venv-today',
    'bin',
    'python',
  );
const TORCHVISION_FILTERS = ['bilinear', 'bicubic'];

const CASES = [
  { width: 640, height: 480, calls: 20 },
  { width: 4000, height: 3000, calls: 2 },
];
const OUT = { width: 224, height: 224 };

function machine() {
  const cpus = os.cpus();
  let model = cpus[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) model = line.split(':')[1].trim();
  } catch {
    // not Linux: keep os.cpus()'s model
  }
  return `${model}, ${cpus.length} cores, Node ${process.version}, ${os.platform()} ${os.arch()}, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

/** Deterministic photo-like pixels: smooth gradients + texture + noise (xorshift), so every filter tap matters. */
function syntheticRGB(width, height) {
  const data = new Uint8Array(width * height * 3);
  let s = 0x9e3779b9;
  let i = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        const smooth = 128 + 90 * Math.sin((x * (c + 1)) / 97 + y / 61) * Math.cos(y / (43 + 10 * c));
        data[i++] = Math.max(0, Math.min(255, smooth + ((s >>> 0) % 41) - 20));
      }
    }
  }
  return data;
}

function quantile(sorted, q) {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function summary(msPerImage) {
  const s = [...msPerImage].sort((a, b) => a - b);
  return {
    median: quantile(s, 0.5),
    p25: quantile(s, 0.25),
    p75: quantile(s, 0.75),
    min: s[0],
    max: s.at(-1),
  };
}

/** `REPEATS` runs of `calls` back-to-back calls each; returns ms per image of each run. */
async function timeRuns(fn, calls) {
  // Warm-up for at least 300 ms (JIT tiers, sharp's thread pool, WebAssembly memory growth).
  const warmUntil = performance.now() + 300;
  for (let i = 0; i < 3 || performance.now() < warmUntil; i++) await fn();
  const runs = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await fn();
    runs.push((performance.now() - t0) / calls);
  }
  return runs;
}

function pillowTimes(file, width, height, calls, expectedFile) {
  const code = `
import json, sys, timeit
from PIL import Image
raw = open(sys.argv[1], 'rb').read()
im = Image.frombytes('RGB', (int(sys.argv[2]), int(sys.argv[3])), raw)
calls, repeats = int(sys.argv[4]), int(sys.argv[5])
out = im.resize((224, 224), Image.Resampling.BILINEAR)
open(sys.argv[6], 'wb').write(out.tobytes())
im.resize((224, 224), Image.Resampling.BILINEAR)
runs = timeit.repeat(lambda: im.resize((224, 224), Image.Resampling.BILINEAR), number=calls, repeat=repeats)
print(json.dumps({'pillow': Image.__version__, 'runs': [t * 1000 / calls for t in runs]}))
`;
  const stdout = execFileSync(
    PYTHON,
    ['-c', code, file, String(width), String(height), String(calls), String(REPEATS), expectedFile],
    { encoding: 'utf8', timeout: 600_000 },
  );
  return JSON.parse(stdout);
}

function torchTimes(file, width, height, filter, calls, expectedFile) {
  const code = `
import json, sys, timeit
import numpy as np, torch, torchvision
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F
torch.set_num_threads(1)
w, h, calls, repeats = (int(v) for v in sys.argv[2:6])
mode = InterpolationMode(sys.argv[6])
pixels = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(h, w, 3)
t = torch.from_numpy(pixels).permute(2, 0, 1)  # what pil_to_tensor gives
run = lambda: F.resize(t, [224, 224], interpolation=mode, antialias=True)
run().permute(1, 2, 0).contiguous().numpy().tofile(sys.argv[7])
runs = timeit.repeat(run, number=calls, repeat=repeats)
print(json.dumps({'torch': torch.__version__, 'runs': [x * 1000 / calls for x in runs]}))
`;
  const stdout = execFileSync(
    PYTHON_TODAY,
    ['-c', code, file, String(width), String(height), String(calls), String(REPEATS), filter, expectedFile],
    { encoding: 'utf8', timeout: 600_000 },
  );
  return JSON.parse(stdout);
}

async function loadSharp() {
  try {
    const sharp = (await import('sharp')).default;
    sharp.concurrency(1);
    sharp.cache(false);
    return sharp;
  } catch (err) {
    console.warn(`sharp not available (${err.message}); skipping its column`);
    return null;
  }
}

const fmt = (v) => (v === undefined ? '–' : v.toFixed(v < 10 ? 2 : 1));
const spread = (s) => `${fmt(s.p25)}–${fmt(s.p75)} (min–max ${fmt(s.min)}–${fmt(s.max)})`;

async function main() {
  console.log(`# @mtailor/preprocess resize bench\nmachine: ${machine()}`);
  console.log(`${REPEATS} runs per measurement; bilinear, RGB, → ${OUT.width}×${OUT.height}; ms per image\n`);
  const sharp = await loadSharp();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'mtailor-bench-'));
  const rows = [];
  try {
    for (const { width, height, calls } of CASES) {
      const data = syntheticRGB(width, height);
      const image = { data, width, height, channels: 3 };
      const rawFile = path.join(tmp, `in-${width}x${height}.rgb`);
      const pillowOut = path.join(tmp, `pillow-${width}x${height}.rgb`);
      writeFileSync(rawFile, data);

      const backend = resampleBackend();
      const ours = summary(await timeRuns(() => resize(image, OUT), calls));
      setResampleBackend('js');
      const oursJs = summary(await timeRuns(() => resize(image, OUT), calls));
      setResampleBackend('auto');
      const recipe = getPreset('resize-224');
      const full = summary(await timeRuns(() => preprocess(image, recipe), calls));
      let sharpStats;
      if (sharp) {
        const input = Buffer.from(data.buffer, data.byteOffset, data.length);
        sharpStats = summary(
          await timeRuns(
            () =>
              sharp(input, { raw: { width, height, channels: 3 } })
                .resize(OUT.width, OUT.height, { fit: 'fill', kernel: 'linear' })
                .raw()
                .toBuffer(),
            calls,
          ),
        );
      }
      let pillow;
      let identical = 'not checked';
      try {
        const p = pillowTimes(rawFile, width, height, calls, pillowOut);
        pillow = summary(p.runs);
        const expected = readFileSync(pillowOut);
        identical = Buffer.compare(Buffer.from(resize(image, OUT).data), expected) === 0 ? 'yes' : 'NO';
      } catch (err) {
        console.warn(`Pillow timing failed (${PYTHON}): ${err.message.split('\n')[0]}`);
      }
      const torchvision = [];
      for (const filter of TORCHVISION_FILTERS) {
        const options = { ...OUT, filter, backend: 'torchvision' };
        const row = { filter, ours: summary(await timeRuns(() => resize(image, options), calls)) };
        setResampleBackend('js');
        row.oursJs = summary(await timeRuns(() => resize(image, options), calls));
        setResampleBackend('auto');
        try {
          const torchOut = path.join(tmp, `torch-${filter}-${width}x${height}.rgb`);
          const t = torchTimes(rawFile, width, height, filter, calls, torchOut);
          row.torch = summary(t.runs);
          row.torchVersion = t.torch;
          const same = Buffer.compare(Buffer.from(resize(image, options).data), readFileSync(torchOut)) === 0;
          row.identical = same ? 'yes' : 'NO';
        } catch (err) {
          console.warn(`torch timing failed (${PYTHON_TODAY}): ${err.message.split('\n')[0]}`);
          row.identical = 'not checked';
        }
        torchvision.push(row);
      }
      rows.push({
        torchvision,
        size: `${width}×${height}`,
        backend,
        ours,
        oursJs,
        full,
        sharp: sharpStats,
        pillow,
        identical,
      });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  for (const r of rows) {
    console.log(`## ${r.size} → 224×224 (output byte-identical to Pillow: ${r.identical})`);
    console.log(
      `  resize (${r.backend} passes)         median ${fmt(r.ours.median)} ms  p25–p75 ${spread(r.ours)}`,
    );
    console.log(
      `  resize (js passes, fallback)  median ${fmt(r.oursJs.median)} ms  p25–p75 ${spread(r.oursJs)}`,
    );
    console.log(
      `  preprocess(resize-224 preset) median ${fmt(r.full.median)} ms  p25–p75 ${spread(r.full)}  (resize + tensor)`,
    );
    if (r.sharp)
      console.log(
        `  sharp linear (1 thread)       median ${fmt(r.sharp.median)} ms  p25–p75 ${spread(r.sharp)}`,
      );
    if (r.pillow)
      console.log(
        `  Pillow C resize               median ${fmt(r.pillow.median)} ms  p25–p75 ${spread(r.pillow)}`,
      );
    const ratios = [];
    if (r.pillow) {
      ratios.push(`${(r.ours.median / r.pillow.median).toFixed(2)}× Pillow (target ≤ 1.5×)`);
      ratios.push(`js fallback ${(r.oursJs.median / r.pillow.median).toFixed(2)}× Pillow`);
    }
    if (r.sharp) ratios.push(`${(r.ours.median / r.sharp.median).toFixed(2)}× sharp`);
    console.log(`  ratio (ours / theirs, medians): ${ratios.join(', ') || '–'}\n`);
  }
  for (const r of rows) {
    for (const t of r.torchvision) {
      console.log(
        `## backend 'torchvision', ${t.filter}, ${r.size} → 224×224 (byte-identical to torch${t.torchVersion ? ` ${t.torchVersion}` : ''}: ${t.identical})`,
      );
      console.log(
        `  resize (${r.backend} passes)         median ${fmt(t.ours.median)} ms  p25–p75 ${spread(t.ours)}`,
      );
      console.log(
        `  resize (js passes, fallback)  median ${fmt(t.oursJs.median)} ms  p25–p75 ${spread(t.oursJs)}`,
      );
      if (t.torch) {
        console.log(
          `  torch tvF.resize (1 thread)   median ${fmt(t.torch.median)} ms  p25–p75 ${spread(t.torch)}`,
        );
        console.log(
          `  ratio (ours / torch, medians): ${(t.ours.median / t.torch.median).toFixed(2)}×, js fallback ${(t.oursJs.median / t.torch.median).toFixed(2)}×\n`,
        );
      }
    }
  }
}

await main();
