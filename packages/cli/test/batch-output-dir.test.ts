/**
 * The output folder's commit protocol and checkpoint arithmetic, on real files: publishing by exclusive link (one
 * winner, whole files only), the gaps between committed segments, and reading a shard back from overlapping
 * segments (two workers with different --checkpoint-every) with every input once.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publishText } from '../dist/batch/commit.js';
import {
  committedSegments,
  countSegments,
  type Segment,
  segmentName,
  segmentRecords,
  uncovered,
} from '../dist/batch/output-dir.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'mtailor-output-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const folder = () => mkdtempSync(path.join(root, `${n++}-`));

/** A line of input `k` as the worker writes it; every third one an error. */
const line = (k: number) =>
  JSON.stringify(
    k % 3 === 2
      ? { file: `img-${k}.jpg`, error: { code: 'UNSUPPORTED_IMAGE', message: 'no image' } }
      : { file: `img-${k}.jpg`, predictions: [{ index: k, label: `class ${k}`, probability: 0.5 }] },
  );

/** Commits the segment of inputs [start, end) in `work`, as a worker does. */
async function commit(work: string, start: number, end: number): Promise<void> {
  const text = Array.from({ length: end - start }, (_, i) => `${line(start + i)}\n`).join('');
  await publishText(work, path.join(work, segmentName(start, end)), text);
}

describe('publishing', () => {
  it('the first writer of a name wins, the second is told and leaves no copy or temporary file', async () => {
    const dir = folder();
    const dest = path.join(dir, 'part.jsonl');
    expect(await publishText(dir, dest, 'first\n')).toBe(true);
    expect(await publishText(dir, dest, 'second\n')).toBe(false);
    expect(readFileSync(dest, 'utf8')).toBe('first\n');
    expect(readdirSync(dir)).toEqual(['part.jsonl']);
  });

  it('racing writers of one name: exactly one wins', async () => {
    const dir = folder();
    const dest = path.join(dir, 'seg.jsonl');
    const won = await Promise.all(
      Array.from({ length: 16 }, (_, i) => publishText(dir, dest, `writer ${i}\n`)),
    );
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(readFileSync(dest, 'utf8')).toBe(`writer ${won.indexOf(true)}\n`);
    expect(readdirSync(dir)).toEqual(['seg.jsonl']);
  });
});

describe('segments', () => {
  it('uncovered(): the ranges no segment holds', () => {
    const s = (start: number, end: number): Segment => ({ start, end, file: '' });
    expect(uncovered(10, [])).toEqual([{ start: 0, end: 10 }]);
    expect(uncovered(10, [s(0, 4), s(6, 8)])).toEqual([
      { start: 4, end: 6 },
      { start: 8, end: 10 },
    ]);
    expect(uncovered(10, [s(0, 4), s(0, 6), s(3, 10)])).toEqual([]);
    expect(uncovered(0, [])).toEqual([]);
  });

  it('overlapping segments of two workers read back as every input once, in order', async () => {
    const work = folder();
    // Worker A checkpoints every 3 inputs, worker B every 4, both on inputs 0–11; each got part of the way.
    for (const [start, end] of [
      [0, 3],
      [3, 6],
      [0, 4],
      [4, 8],
      [8, 12],
      [6, 9],
    ] as const)
      await commit(work, start, end);
    writeFileSync(path.join(work, 'plan.json'), '{}');
    const segments = await committedSegments(work);
    expect(segments).toHaveLength(6);
    expect(uncovered(12, segments)).toEqual([]);
    const got: string[] = [];
    for await (const { line: l } of segmentRecords(segments, 0, 12)) got.push(l);
    expect(got).toEqual(Array.from({ length: 12 }, (_, k) => line(k)));
    const counts = await countSegments(segments, 12);
    expect(counts).toMatchObject({
      inputs: 12,
      classified: 8,
      failed: 4,
      errorsByCode: { UNSUPPORTED_IMAGE: 4 },
    });
  });

  it('a resumed shard counts only what is committed; a gap or a short segment is refused', async () => {
    const work = folder();
    await commit(work, 0, 4);
    await commit(work, 8, 10);
    const segments = await committedSegments(work);
    expect(uncovered(12, segments)).toEqual([
      { start: 4, end: 8 },
      { start: 10, end: 12 },
    ]);
    expect((await countSegments(segments, 12)).inputs).toBe(6);
    const read = async (from: number, to: number, segs: readonly Segment[]) => {
      for await (const _ of segmentRecords(segs, from, to));
    };
    await expect(read(0, 12, segments)).rejects.toMatchObject({ code: 'OUTPUT_DIR' });
    writeFileSync(path.join(work, segmentName(4, 8)), `${line(4)}\n`);
    await expect(read(0, 10, await committedSegments(work))).rejects.toThrow(/holds 1 lines, not 4/);
    expect(existsSync(path.join(work, segmentName(0, 4)))).toBe(true);
  });
});
