/**
 * `mtailor classify --out`: shard specs and the engines' environment, the input list's order, refusing another
 * job's folder, `--max-errors`, `--format parquet`, `--inputs-from` with URLs (a server on 127.0.0.1), progress.
 * The CLI runs as users run it (the built bin in a child process) on the shared model and images.
 */

import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, describe, expect, it } from 'vitest';
import { shared } from '../../../test/support/shared-data.js';
import { listInputs } from '../dist/batch/inputs.js';
import { parseShard, shardFromEnv, shardRange } from '../dist/batch/shard.js';
import { mtailor, mtailorBin, startMtailor } from './support/run-cli.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'mtailor-batch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;
/** A new empty folder under the test's scratch folder. */
const folder = (name: string) => {
  const dir = path.join(root, `${name}-${folders++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};
const MODEL = ['--model', shared.int8Model];

/** A folder of `good` shared images (linked) and `bad` files that are no image. */
function imageFolder(good: string[], bad: number): string {
  const dir = folder('images');
  for (const file of good) symlinkSync(file, path.join(dir, path.basename(file)));
  for (let i = 0; i < bad; i++) writeFileSync(path.join(dir, `bad-${i}.jpg`), `not an image ${i}\n`);
  return dir;
}
const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('shards', () => {
  it('--shard <i>/<n>: 0-based, i < n, whole numbers only', () => {
    expect(parseShard('0/1')).toMatchObject({ index: 0, count: 1 });
    expect(parseShard('3/4')).toMatchObject({ index: 3, count: 4 });
    for (const bad of [
      '3/2',
      '4/4',
      '-1/4',
      '1/0',
      '0/0',
      'a/b',
      '1/2/3',
      '',
      '1',
      '1.0/4',
      ' 1/4',
      '1e1/20',
    ])
      expect(() => parseShard(bad), bad).toThrow(expect.objectContaining({ code: 'SHARD_SPEC' }));
  });

  it("each engine's environment variables name the shard; incomplete or disagreeing ones are refused", () => {
    expect(shardFromEnv({})).toBeUndefined();
    const pairs = [
      ['JOB_COMPLETION_INDEX', 'MTAILOR_SHARD_COUNT'],
      ['AWS_BATCH_JOB_ARRAY_INDEX', 'AWS_BATCH_JOB_ARRAY_SIZE'],
      ['CLOUD_RUN_TASK_INDEX', 'CLOUD_RUN_TASK_COUNT'],
      ['BATCH_TASK_INDEX', 'BATCH_TASK_COUNT'],
    ] as const;
    for (const [index, count] of pairs) {
      expect(shardFromEnv({ [index]: '2', [count]: '5' })).toMatchObject({ index: 2, count: 5 });
      expect(() => shardFromEnv({ [index]: '2' })).toThrow(expect.objectContaining({ code: 'SHARD_ENV' }));
      expect(() => shardFromEnv({ [count]: '5' })).toThrow(expect.objectContaining({ code: 'SHARD_ENV' }));
      expect(() => shardFromEnv({ [index]: '5', [count]: '5' })).toThrow(
        expect.objectContaining({ code: 'SHARD_ENV' }),
      );
      expect(() => shardFromEnv({ [index]: 'x', [count]: '5' })).toThrow(
        expect.objectContaining({ code: 'SHARD_ENV' }),
      );
    }
    const both = { JOB_COMPLETION_INDEX: '1', MTAILOR_SHARD_COUNT: '4', CLOUD_RUN_TASK_INDEX: '1' };
    expect(shardFromEnv({ ...both, CLOUD_RUN_TASK_COUNT: '4' })).toMatchObject({ index: 1, count: 4 });
    expect(() => shardFromEnv({ ...both, CLOUD_RUN_TASK_COUNT: '8' })).toThrow(/two shards/);
  });

  it('every input lands in exactly one shard, shard sizes differ by at most one', () => {
    for (let total = 0; total <= 60; total++)
      for (let count = 1; count <= 13; count++) {
        const ranges = Array.from({ length: count }, (_, index) => shardRange(total, { index, count }));
        expect(ranges[0]!.start).toBe(0);
        expect(ranges.at(-1)!.end).toBe(total);
        for (let i = 1; i < count; i++) expect(ranges[i]!.start).toBe(ranges[i - 1]!.end);
        const sizes = ranges.map((r) => r.end - r.start);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
  });

  it('bad shard specs and environments: exit 2 with the typed code, before any model is loaded', async () => {
    const dir = imageFolder([shared.tench], 0);
    const out = path.join(root, 'never-written');
    for (const spec of ['3/2', '-1/4', '1/0', 'x/4']) {
      const r = await mtailor('classify', dir, '--out', out, `--shard=${spec}`, ...MODEL);
      expect(r.code, spec).toBe(2);
      expect(r.stderr).toContain('SHARD_SPEC');
    }
    const mismatched = await startMtailor(['classify', dir, '--out', out, ...MODEL], {
      JOB_COMPLETION_INDEX: '1',
      MTAILOR_SHARD_COUNT: '4',
      AWS_BATCH_JOB_ARRAY_INDEX: '2',
      AWS_BATCH_JOB_ARRAY_SIZE: '4',
    }).exited;
    expect(mismatched.code).toBe(2);
    expect(mismatched.stderr).toMatch(/SHARD_ENV: the environment names two shards/);
    const noCount = await startMtailor(['classify', dir, '--out', out, ...MODEL], {
      JOB_COMPLETION_INDEX: '1',
    }).exited;
    expect(noCount.code).toBe(2);
    expect(noCount.stderr).toMatch(/SHARD_ENV: JOB_COMPLETION_INDEX is set but MTAILOR_SHARD_COUNT is not/);
    const noOut = await mtailor('classify', dir, '--shard', '0/2', ...MODEL);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain('--shard needs --out <dir>');
    expect(readdirSync(root)).not.toContain('never-written');
  });
});

describe('the input list', () => {
  it('folders are walked and sorted by the byte order of relative paths, the same in every worker', async () => {
    const dir = folder('order');
    for (const sub of ['b', 'B'].map((s) => path.join(dir, s))) mkdirSync(sub);
    const names = ['b.jpg', 'b/c.jpg', 'B.jpg', 'B/a.png', 'é.jpg', 'z.JPEG', 'a b.jpg', 'notes.txt'];
    for (const n of names) writeFileSync(path.join(dir, n), '');
    const { inputs } = await listInputs([dir, shared.tench]);
    // Byte order: 'B' (0x42) < 'a' < 'b'; '.' (0x2e) < '/' (0x2f); 'é' (0xc3 0xa9) after ASCII. Only image endings.
    expect(inputs).toEqual([
      ...['B.jpg', 'B/a.png', 'a b.jpg', 'b.jpg', 'b/c.jpg', 'z.JPEG', 'é.jpg'].map((n) => path.join(dir, n)),
      shared.tench,
    ]);
  });
});

describe('one job per output folder', () => {
  it('a worker with other inputs or options is refused (exit 2, PLAN_MISMATCH) and adds nothing', async () => {
    const a = imageFolder([shared.tench, shared.mudTurtle], 0);
    const b = imageFolder([shared.tench], 0);
    const out = folder('out');
    const first = await mtailor('classify', a, '--out', out, '--shard', '0/2', ...MODEL);
    expect(first.code, first.stderr).toBe(0);
    const otherInputs = await mtailor('classify', b, '--out', out, '--shard', '0/2', ...MODEL);
    expect(otherInputs.code).toBe(2);
    expect(otherInputs.stderr).toMatch(/PLAN_MISMATCH: .* differs in inputsDigest, totalInputs/);
    const otherTopK = await mtailor('classify', a, '--out', out, '--shard', '1/2', '--top-k', '3', ...MODEL);
    expect(otherTopK.code).toBe(2);
    expect(otherTopK.stderr).toMatch(/PLAN_MISMATCH: .* differs in topK/);
    const otherCount = await mtailor('classify', a, '--out', out, '--shard', '1/3', ...MODEL);
    expect(otherCount.code).toBe(2);
    expect(otherCount.stderr).toMatch(/differs in shardCount/);
    expect(readdirSync(out).filter((f) => f.endsWith('.jsonl'))).toEqual(['part-00000-of-00002.jsonl']);
    const last = await mtailor('classify', a, '--out', out, '--shard', '1/2', ...MODEL);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stderr).toContain('every shard of the job is done');
  });
});

describe('--max-errors', () => {
  it('past the limit the shard is not published and exits 3; a rerun allowing more goes on from the checkpoint', async () => {
    const dir = imageFolder([shared.tench, shared.mudTurtle], 3);
    const out = folder('out');
    const args = ['classify', dir, '--out', out, '--checkpoint-every', '1', ...MODEL];
    const strict = await mtailor(...args, '--max-errors', '1');
    expect(strict.code).toBe(3);
    expect(strict.stderr).toMatch(/2 inputs failed, more than --max-errors 1: the shard is not published/);
    expect(readdirSync(out).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
    const lenient = await mtailor(...args, '--max-errors', '3');
    expect(lenient.code, lenient.stderr).toBe(0);
    const got = lines(path.join(out, 'part-00000-of-00001.jsonl'));
    expect(got.map((l) => path.basename(String(l.file)))).toEqual([
      'bad-0.jpg',
      'bad-1.jpg',
      'bad-2.jpg',
      'n01440764_tench.JPEG',
      'n01667114_mud_turtle.JPEG',
    ]);
    // The resumed run classified only what the first left: its first progress line counts 2 done, 2 failed.
    const first = JSON.parse(lenient.stderr.split('\n').find((l) => l.startsWith('{"progress"'))!);
    expect(first.progress).toMatchObject({ done: 2, failed: 2, total: 5 });
    const summary = JSON.parse(readFileSync(path.join(out, '_SUCCESS'), 'utf8'));
    expect(summary.counts).toMatchObject({ inputs: 5, classified: 2, failed: 3 });
  });
});

describe('--format parquet', () => {
  it('one row per input, the same facts as the JSON lines', async () => {
    const dir = imageFolder([shared.tench, shared.mudTurtle, shared.image('n01443537_goldfish.JPEG')], 1);
    const jsonOut = folder('json');
    const parquetOut = folder('parquet');
    const asJson = await mtailor('classify', dir, '--out', jsonOut, ...MODEL);
    const asParquet = await mtailor('classify', dir, '--out', parquetOut, '--format', 'parquet', ...MODEL);
    expect(asJson.code, asJson.stderr).toBe(0);
    expect(asParquet.code, asParquet.stderr).toBe(0);
    expect(readdirSync(parquetOut).filter((f) => !f.startsWith('_'))).toEqual([
      'part-00000-of-00001.parquet',
    ]);
    const file = path.join(parquetOut, 'part-00000-of-00001.parquet');
    const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(file) })) as Record<
      string,
      unknown
    >[];
    const expected = lines(path.join(jsonOut, 'part-00000-of-00001.jsonl'));
    expect(rows.length).toBe(expected.length);
    for (const [i, row] of rows.entries()) {
      const want = expected[i] as {
        file: string;
        predictions?: { index: number; label: string; probability: number }[];
        error?: { code: string; message: string };
      };
      expect(row.file).toBe(want.file);
      if (want.error) {
        expect(row).toMatchObject({
          errorCode: want.error.code,
          errorMessage: want.error.message,
          top1Index: null,
        });
      } else {
        expect(row.errorCode).toBeNull();
        expect(row.top1Index).toBe(want.predictions![0]!.index);
        expect(row.top1Label).toBe(want.predictions![0]!.label);
        expect(row.top1Probability).toBe(want.predictions![0]!.probability);
        expect(JSON.parse(String(row.predictions))).toEqual(want.predictions);
      }
    }
    expect(JSON.parse(readFileSync(path.join(parquetOut, '_SUCCESS'), 'utf8')).format).toBe('parquet');
  });
});

describe('--inputs-from', () => {
  /** Serves the tench at /tench.jpg on 127.0.0.1 (404 for anything else). */
  async function imageServer(): Promise<{ base: string; close: () => Promise<void> }> {
    const tench = readFileSync(shared.tench);
    const server = http.createServer((req, res) => {
      if (req.url === '/tench.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(tench);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      base: `http://127.0.0.1:${port}`,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }

  it('paths and URLs, downloaded with the server fetcher: private addresses only when allow-listed', async () => {
    const web = await imageServer();
    try {
      const list = path.join(folder('list'), 'inputs.txt');
      writeFileSync(list, `${web.base}/tench.jpg\n\n${shared.mudTurtle}\r\n${web.base}/missing.jpg\n`);
      const refused = folder('out');
      const r1 = await mtailor('classify', '--inputs-from', list, '--out', refused, ...MODEL);
      expect(r1.code, r1.stderr).toBe(0);
      const l1 = lines(path.join(refused, 'part-00000-of-00001.jsonl'));
      expect(l1.map((l) => l.file)).toEqual([
        `${web.base}/tench.jpg`,
        shared.mudTurtle,
        `${web.base}/missing.jpg`,
      ]);
      expect(l1[0]!.error).toMatchObject({ code: 'URL_FORBIDDEN_ADDRESS' });
      expect(l1[2]!.error).toMatchObject({ code: 'URL_FORBIDDEN_ADDRESS' });

      const allowed = folder('out');
      const r2 = await mtailor(
        'classify',
        '--inputs-from',
        list,
        '--out',
        allowed,
        '--url-allowlist',
        '127.0.0.1',
        ...MODEL,
      );
      expect(r2.code, r2.stderr).toBe(0);
      const l2 = lines(path.join(allowed, 'part-00000-of-00001.jsonl'));
      const local = JSON.parse((await mtailor('classify', shared.tench, '--json', ...MODEL)).stdout);
      expect(l2[0]!.predictions).toEqual(local.predictions);
      expect(l2[1]!.predictions).toBeDefined();
      expect(l2[2]!.error).toMatchObject({
        code: 'URL_FETCH_FAILED',
        message: expect.stringContaining('404'),
      });

      writeFileSync(list, `${shared.tench}\nftp://example.invalid/x.jpg\n`);
      const r3 = await mtailor('classify', '--inputs-from', list, '--out', folder('out'), ...MODEL);
      expect(r3.code).toBe(2);
      expect(r3.stderr).toMatch(/INPUTS_FROM: --inputs-from .*line 2: only file paths and http\(s\) URLs/);
    } finally {
      await web.close();
    }
  });
});

describe('progress', () => {
  it('off a terminal: JSON lines on stderr, the last one "done"', async () => {
    const dir = imageFolder([shared.tench, shared.mudTurtle], 0);
    const r = await mtailor('classify', dir, '--out', folder('out'), '--shard', '0/1', ...MODEL);
    const progress = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l).progress);
    expect(progress[0]).toMatchObject({ shard: 0, shards: 1, done: 0, total: 2, state: 'running' });
    expect(progress.at(-1)).toMatchObject({ done: 2, total: 2, failed: 0, state: 'done' });
  });

  it('on a terminal: a bar for the shard', () => {
    const dir = imageFolder([shared.tench, shared.mudTurtle], 0);
    const command = [process.execPath, mtailorBin, 'classify', dir, '--out', folder('out'), ...MODEL]
      .map((a) => `'${a}'`)
      .join(' ');
    // util-linux `script` gives the CLI a pseudo-terminal.
    const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/shard 0\/1 \[[█░]+\] 2\/2 \| 0 failed/);
    expect(r.stdout).not.toContain('{"progress"');
  });
});
