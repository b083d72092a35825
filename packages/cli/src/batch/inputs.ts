/**
 * The job's input list, the same in every worker: folders walked and sorted by the byte order of their relative
 * paths, or the lines of `--inputs-from` (paths or http(s) URLs) as written. The shard of a worker is a range of
 * this list, so every worker must see the same list; its digest, kept in the output folder, proves they did.
 * @module
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
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

/** The image files under `dir`, as paths relative to it, sorted by byte order. */
async function imagesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(child);
      else if (IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase())) found.push(child);
    }
  };
  await walk('');
  return found.sort(compareBytes);
}

/**
 * The inputs named on the command line: each folder's images (recursively, sorted by the byte order of their
 * paths relative to the folder), in argument order; an argument that is not a folder is kept as a file, even when
 * missing (classifying it reports the error in its place).
 *
 * @example
 * ```ts
 * await listInputs(['photos']); // ['photos/a.jpg', 'photos/b.jpg', 'photos/b/c.jpg'] ('.' is 0x2e, '/' 0x2f)
 * ```
 */
export async function listInputs(args: readonly string[]): Promise<{ inputs: string[]; hadFolder: boolean }> {
  const inputs: string[] = [];
  let hadFolder = false;
  for (const arg of args) {
    const s = await stat(arg).catch(() => undefined);
    if (s?.isDirectory()) {
      hadFolder = true;
      for (const rel of await imagesUnder(arg)) inputs.push(path.join(arg, rel));
    } else inputs.push(arg);
  }
  return { inputs, hadFolder };
}

/** Whether an input is a URL to download (else it is a file path). */
export function isUrl(input: string): boolean {
  return /^https?:\/\//i.test(input);
}

/**
 * The inputs listed in a file, one per line, in the file's order: a file path (relative to the current folder) or
 * an `http://`/`https://` URL. Blank lines are skipped; a trailing `\r` is dropped.
 *
 * @throws {@link BatchError} `INPUTS_FROM` when the file cannot be read or a line names another URL scheme.
 */
export async function readInputsFrom(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new BatchError('INPUTS_FROM', `--inputs-from: cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const inputs: string[] = [];
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(line) && !isUrl(line))
      throw new BatchError(
        'INPUTS_FROM',
        `--inputs-from ${file}, line ${n + 1}: only file paths and http(s) URLs are read, got ${JSON.stringify(line.slice(0, 200))}`,
      );
    inputs.push(line);
  }
  return inputs;
}

/** SHA-256 (hex) of the input list, one entry per line: equal lists, equal digests. */
export function inputsDigest(inputs: readonly string[]): string {
  const hash = createHash('sha256');
  for (const input of inputs) hash.update(`${input}\n`);
  return hash.digest('hex');
}
