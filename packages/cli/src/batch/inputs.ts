/**
 * The job's input list, the same in every worker: folders walked and sorted by the byte order of their relative
 * paths, or the lines of `--inputs-from` (paths or http(s) URLs) as written. The shard of a worker is a range of
 * this list, so every worker must see the same list; its digest, kept in the output folder, proves they did.
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { BatchError } from './errors.js';

/** File name endings taken from folders (files named explicitly are always tried). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
]);

/** Byte order of UTF-8 strings (not JavaScript's UTF-16 order): what `LC_ALL=C sort` and S3 listings use. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The image files under `dir`, as paths relative to it, in byte order — streamed, one folder in memory at a time.
 * Sorting each folder's entries by name, a subfolder's name followed by '/', gives the byte order of the whole
 * relative paths: two paths first differ inside the entry names they pass through.
 */
async function* imagesUnder(dir: string, rel = ''): AsyncGenerator<string> {
  const entries = (await readdir(path.join(dir, rel), { withFileTypes: true })).map((e) => ({
    name: e.name,
    folder: e.isDirectory(),
    key: e.isDirectory() ? `${e.name}/` : e.name,
  }));
  entries.sort((a, b) => compareBytes(a.key, b.key));
  for (const e of entries) {
    const child = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.folder) yield* imagesUnder(dir, child);
    else if (IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase())) yield child;
  }
}

/**
 * The inputs named on the command line, streamed: each folder's images (recursively, in the byte order of their
 * paths relative to the folder), in argument order; an argument that is not a folder is kept as a file, even when
 * missing (classifying it reports the error in its place).
 */
export async function* walkInputs(args: readonly string[]): AsyncGenerator<string> {
  for (const arg of args) {
    const s = await stat(arg).catch(() => undefined);
    if (s?.isDirectory()) for await (const rel of imagesUnder(arg)) yield path.join(arg, rel);
    else yield arg;
  }
}

/**
 * The inputs named on the command line, as a list (see {@link walkInputs}), and whether a folder was among them.
 *
 * @example
 * ```ts
 * await listInputs(['photos']); // { inputs: ['photos/a.jpg', 'photos/b.jpg', 'photos/b/c.jpg'], hadFolder: true }
 * ```
 */
export async function listInputs(args: readonly string[]): Promise<{ inputs: string[]; hadFolder: boolean }> {
  const inputs: string[] = [];
  for await (const input of walkInputs(args)) inputs.push(input);
  const hadFolder = (await Promise.all(args.map((a) => stat(a).catch(() => undefined)))).some((s) =>
    s?.isDirectory(),
  );
  return { inputs, hadFolder };
}

/** Whether an input is a URL to download (else it is a file path). */
export function isUrl(input: string): boolean {
  return /^https?:\/\//i.test(input);
}

/**
 * The inputs listed in a file, streamed, one per line in the file's order: a file path (relative to the current
 * folder) or an `http://`/`https://` URL. Blank lines are skipped; a trailing `\r` is dropped.
 *
 * @throws {@link BatchError} `INPUTS_FROM` when the file cannot be read or a line names another URL scheme.
 */
export async function* readInputsFrom(file: string): AsyncGenerator<string> {
  let n = 0;
  try {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(line) && !isUrl(line))
        throw new BatchError(
          'INPUTS_FROM',
          `--inputs-from ${file}, line ${n}: only file paths and http(s) URLs are read, got ${JSON.stringify(line.slice(0, 200))}`,
        );
      yield line;
    }
  } catch (err) {
    if (err instanceof BatchError) throw err;
    throw new BatchError('INPUTS_FROM', `--inputs-from: cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * One shard's inputs, read with bounded memory: the list is streamed twice — once for its length and digest,
 * once to keep the shard's range — and must not change in between.
 *
 * @param list - Streams the whole input list, from the start, each time it is called.
 * @param range - The shard's range for a list of `total` inputs.
 * @returns The list's length and digest, and the shard's inputs.
 * @throws {@link BatchError} `INPUTS_FROM` when the list changed between the two readings.
 */
export async function shardInputs(
  list: () => AsyncIterable<string>,
  range: (total: number) => { start: number; end: number },
): Promise<{ total: number; digest: string; start: number; end: number; inputs: string[] }> {
  const first = createHash('sha256');
  let total = 0;
  for await (const input of list()) {
    first.update(`${input}\n`);
    total++;
  }
  const digest = first.digest('hex');
  const { start, end } = range(total);
  const second = createHash('sha256');
  const inputs: string[] = [];
  let k = 0;
  for await (const input of list()) {
    second.update(`${input}\n`);
    if (k >= start && k < end) inputs.push(input);
    k++;
  }
  if (k !== total || second.digest('hex') !== digest)
    throw new BatchError(
      'INPUTS_FROM',
      'the input list changed while it was read (files added or removed): run again',
    );
  return { total, digest, start, end, inputs };
}
