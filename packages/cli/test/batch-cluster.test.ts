/**
 * `mtailor classify --out` as the pods of one Kubernetes Indexed Job: real processes of the built CLI on this
 * machine, each told its index through JOB_COMPLETION_INDEX + MTAILOR_SHARD_COUNT as the Job manifest does, on the
 * 104 shared images plus one corrupt file. One worker is SIGKILLed mid-shard and restarted, one index runs twice
 * at the same time (with different checkpoint sizes, so their segments overlap), a finished index is run again.
 * The folder must end up with every input exactly once, with the predictions of one uninterrupted
 * `mtailor classify <dir> --json`.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { shared, sharedImages } from '../../../test/support/shared-data.js';
import { mtailor, startMtailor } from './support/run-cli.js';

const SHARDS = 4;
const root = mkdtempSync(path.join(os.tmpdir(), 'mtailor-batch-cluster-'));
const images = path.join(root, 'images');
const out = path.join(root, 'out');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * The job's inputs: the shared images (linked, not copied), a third of them in a subfolder, and one file that is
 * no image.
 */
function makeInputs(): void {
  const sub = path.join(images, 'more');
  mkdirSync(sub, { recursive: true });
  for (const [i, file] of sharedImages().entries())
    symlinkSync(file, path.join(i % 3 === 0 ? sub : images, path.basename(file)));
  writeFileSync(path.join(images, 'n02000000_corrupt.JPEG'), 'this is not an image\n');
}

const MODEL = ['--model', shared.int8Model];
const pod = (index: number, ...extra: string[]) =>
  startMtailor(['classify', images, '--out', out, ...MODEL, '--progress-interval', '0.2', ...extra], {
    JOB_COMPLETION_INDEX: String(index),
    MTAILOR_SHARD_COUNT: String(SHARDS),
  });

type Line = {
  file: string;
  predictions?: unknown[];
  timings?: unknown;
  error?: { code: string; message: string };
};
const parseLines = (text: string): Line[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

describe('an Indexed Job of mtailor classify --out workers, simulated with real processes', () => {
  it('kills, a restart, a duplicate pod and a corrupt input: every input exactly once, the answers of one run', async () => {
    makeInputs();
    const reference = await mtailor('classify', images, ...MODEL, '--json');
    expect(reference.code).toBe(1); // the corrupt file
    const expected = parseLines(reference.stdout);
    expect(expected.length).toBe(sharedImages().length + 1);

    // Pod 0 runs slowly (one image per batch, one thread) and is SIGKILLed once it has committed a checkpoint.
    const victim = pod(0, '--checkpoint-every', '2', '--batch-size', '1', '--threads', '1', '--workers', '0');
    const work0 = path.join(out, '_work', 'shard-00000-of-00004');
    const part0 = path.join(out, 'part-00000-of-00004.jsonl');
    let segmentsAtKill: string[] = [];
    for (let waited = 0; waited < 120_000; waited += 2) {
      const segs = existsSync(work0) ? readdirSync(work0).filter((f) => f.startsWith('seg-')) : [];
      if (segs.length > 0) {
        victim.child.kill('SIGKILL');
        segmentsAtKill = segs;
        break;
      }
      await sleep(2);
    }
    const killed = await victim.exited;
    expect(killed.signal).toBe('SIGKILL');
    expect(segmentsAtKill.length).toBeGreaterThan(0);
    // Killed mid-shard: nothing of shard 0 is visible as a result yet.
    expect(existsSync(part0)).toBe(false);
    expect(readdirSync(out).filter((f) => f.endsWith('.jsonl'))).toEqual([]);

    // The other pods, index 1 twice at once (a retry racing the original), then the restarted pod 0.
    const others = [pod(1, '--checkpoint-every', '3'), pod(1, '--checkpoint-every', '4'), pod(2), pod(3)];
    const restarted = pod(0, '--checkpoint-every', '4');
    const runs = await Promise.all([...others, restarted].map((p) => p.exited));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);

    // The restart went on from the checkpoint: its first progress line already counts the committed inputs.
    const firstProgress = JSON.parse(
      runs[4]!.stderr.split('\n').find((l) => l.startsWith('{"progress"'))!,
    ) as { progress: { done: number; total: number } };
    expect(firstProgress.progress.done).toBeGreaterThanOrEqual(2 * segmentsAtKill.length);
    expect(firstProgress.progress.done).toBeLessThan(firstProgress.progress.total);

    // A finished index run again (a retry after success) exits 0 at once, without loading the model.
    const again = await pod(2).exited;
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/shard 2\/4: already done/);

    // `*.jsonl` directly in the folder is the whole result: one part per shard, each input exactly once.
    const parts = readdirSync(out)
      .filter((f) => f.endsWith('.jsonl'))
      .sort();
    expect(parts).toEqual([0, 1, 2, 3].map((i) => `part-0000${i}-of-00004.jsonl`));
    const lines = parts.flatMap((p) => parseLines(readFileSync(path.join(out, p), 'utf8')));
    const files = lines.map((l) => l.file);
    expect(new Set(files).size).toBe(files.length);
    expect([...files].sort()).toEqual(expected.map((l) => l.file).sort());

    // The same answers as one uninterrupted run (timings are measurements, so they differ run to run).
    const byFile = new Map(expected.map((l) => [l.file, l]));
    for (const line of lines) {
      const ref = byFile.get(line.file)!;
      if (ref.error) expect(line.error).toEqual(ref.error);
      else expect(line.predictions).toEqual(ref.predictions);
      expect(Object.keys(line).sort()).toEqual(Object.keys(ref).sort());
    }
    expect(lines.filter((l) => l.error).map((l) => path.basename(l.file))).toEqual([
      'n02000000_corrupt.JPEG',
    ]);

    // The summary, written by the last shard to finish; the checkpoints are gone.
    const summary = JSON.parse(readFileSync(path.join(out, '_SUCCESS'), 'utf8'));
    expect(summary.shards).toBe(SHARDS);
    expect(summary.counts).toMatchObject({
      inputs: expected.length,
      classified: expected.length - 1,
      failed: 1,
      errorsByCode: { [byFile.get(path.join(images, 'n02000000_corrupt.JPEG'))!.error!.code]: 1 },
    });
    const digest = createHash('sha256')
      .update(expected.map((l) => `${l.file}\n`).join(''))
      .digest('hex');
    // The reference lists the same files in the same order (byte order of relative paths).
    expect(summary.inputsDigest).toBe(digest);
    expect(summary.model.sha256).toBe(
      createHash('sha256').update(readFileSync(shared.int8Model)).digest('hex'),
    );
    expect(summary.recipe.name).toBe('resize-224');
    expect(summary.parts).toEqual(parts);
    expect(existsSync(path.join(out, '_work'))).toBe(false);
  }, 240_000);
});
