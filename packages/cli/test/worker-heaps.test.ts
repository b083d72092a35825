/**
 * `sizeWorkerHeaps` gives the worker threads started after it a 16 MB young generation (V8's own starts at 1–2 MB),
 * checked in a separate Node process: the flags are process-wide.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const module = fileURLToPath(new URL('../dist/worker-heaps.js', import.meta.url));

it('sizes the young generation of the workers started after it', () => {
  const script = `
    import { Worker } from 'node:worker_threads';
    const newSpace = () => new Promise((resolve, reject) => {
      const w = new Worker("require('node:worker_threads').parentPort.postMessage(require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)", { eval: true, execArgv: [] });
      w.once('message', (size) => { resolve(size); void w.terminate(); });
      w.once('error', reject);
    });
    const before = await newSpace();
    const { sizeWorkerHeaps, WORKER_SEMI_SPACE_MB } = await import(${JSON.stringify(module)});
    sizeWorkerHeaps();
    console.log(JSON.stringify({ before, after: await newSpace(), mb: WORKER_SEMI_SPACE_MB }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  const { before, after, mb } = JSON.parse(out) as { before: number; after: number; mb: number };
  expect(before).toBeLessThan(mb * 2 ** 20);
  expect(after).toBe(mb * 2 ** 20);
});
