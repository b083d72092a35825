/**
 * `mtailor classify --out` in N shards on one machine against one process: wall time, CPU time and peak memory
 * (RSS) per worker, on 1040 files (the 104 shared images, 10 times over in 10 folders), the shared int8
 * MobileNetV2, every worker with the CLI's defaults. Rounds interleave the configurations; medians [min–max].
 *
 *   node packages/cli/bench/shards.bench.mjs [rounds]
 *
 * Each worker's CPU time and peak RSS come from its own process.resourceUsage(), written at exit by a module
 * preloaded with --import.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const sharedDir = path.resolve(process.env.MTAILOR_SHARED_DIR ?? path.join(repo, '..', 'shared'));
const bin = path.join(repo, 'packages', 'cli', 'bin', 'mtailor.js');
const model = path.join(sharedDir, 'models', 'mobilenet_v2_int8_qdq.onnx');
const rounds = Number(process.argv[2] ?? 3);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mtailor-shards-bench-'));
const images = path.join(tmp, 'images');
const sources = readdirSync(path.join(sharedDir, 'images')).filter((f) => /\.jpe?g$/i.test(f));
for (let c = 0; c < 10; c++) {
  mkdirSync(path.join(images, `c${c}`), { recursive: true });
  for (const f of sources) symlinkSync(path.join(sharedDir, 'images', f), path.join(images, `c${c}`, f));
}
const count = sources.length * 10;
const usageHook = `data:text/javascript,${encodeURIComponent(
  "import { writeFileSync } from 'node:fs'; process.on('exit', () => { const u = process.resourceUsage(); writeFileSync(process.env.USAGE_FILE, JSON.stringify({ cpuS: (u.userCPUTime + u.systemCPUTime) / 1e6, maxRssMB: u.maxRSS / 1024 })); });",
)}`;

let runId = 0;
/** Runs one worker; resolves with its exit code and resource usage. */
function worker(args) {
  const usageFile = path.join(tmp, `usage-${runId++}.json`);
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', usageHook, bin, 'classify', images, '--model', model, ...args],
      {
        env: { ...process.env, USAGE_FILE: usageFile },
        stdio: ['ignore', 'ignore', 'ignore'],
      },
    );
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`mtailor ${args.join(' ')} exited ${code}`));
      else resolve(JSON.parse(readFileSync(usageFile, 'utf8')));
    });
  });
}

/** One configuration: `n` shard workers at once into a new folder (n = 0: one plain `--json` run to stdout). */
async function configuration(n) {
  const out = path.join(tmp, `out-${runId}`);
  const start = performance.now();
  const usages =
    n === 0
      ? [await worker(['--json'])]
      : await Promise.all(
          Array.from({ length: n }, (_, i) => worker(['--out', out, '--shard', `${i}/${n}`])),
        );
  const wallS = (performance.now() - start) / 1000;
  rmSync(out, { recursive: true, force: true });
  return {
    wallS,
    cpuS: usages.reduce((s, u) => s + u.cpuS, 0),
    maxRssMB: Math.max(...usages.map((u) => u.maxRssMB)),
  };
}

const configs = [0, 1, 2, 4];
const results = new Map(configs.map((n) => [n, []]));
console.log(
  `${count} files; ${os.cpus().length} CPUs; load at start ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (let r = 0; r < rounds; r++) for (const n of configs) results.get(n).push(await configuration(n));
const stat = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { mid: s[Math.floor(s.length / 2)], min: s[0], max: s.at(-1) };
};
const base = stat(results.get(0).map((x) => x.wallS)).mid;
for (const n of configs) {
  const wall = stat(results.get(n).map((x) => x.wallS));
  const cpu = stat(results.get(n).map((x) => x.cpuS));
  const rss = stat(results.get(n).map((x) => x.maxRssMB));
  const name = n === 0 ? 'one process, --json' : `${n} shard${n > 1 ? 's' : ''} at once, --out`;
  console.log(
    `${name.padEnd(24)} wall ${wall.mid.toFixed(2)} s [${wall.min.toFixed(2)}–${wall.max.toFixed(2)}] ` +
      `(${(wall.mid / base).toFixed(2)}×, ${(count / wall.mid).toFixed(0)} img/s)  CPU ${cpu.mid.toFixed(2)} s  ` +
      `peak RSS per worker ${rss.mid.toFixed(0)} MB [${rss.min.toFixed(0)}–${rss.max.toFixed(0)}]`,
  );
}
console.log(
  `load at end ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
rmSync(tmp, { recursive: true, force: true });
