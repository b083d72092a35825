/**
 * Publishing a file so readers see all of it or none of it, and two writers of the same name leave one copy:
 * written aside in the same folder tree, flushed to disk (fsync), then hard-linked to its final name — `link`
 * fails with EEXIST when the name is taken, so exactly one writer wins and the other drops its copy. Filesystems
 * without hard links (some FUSE mounts) get `rename`, which replaces atomically: the last writer wins, and since
 * both copies hold the same inputs, one copy is left either way. The folder is fsynced after, so the name
 * survives a crash of the machine.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type FileHandle, link, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { BatchError } from './errors.js';

/** Error codes of a filesystem that has no hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/** Flushes a folder's entries (new names) to disk. Some filesystems cannot fsync a folder: that is not an error. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  try {
    await handle?.sync().catch(() => {});
  } finally {
    await handle?.close();
  }
}

/** A new temporary file name in `dir`, unique to this process and call; never matches `*.jsonl` or `*.parquet`. */
export function asidePath(dir: string, hint: string): string {
  return path.join(dir, `.${hint}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Flushes a file written by other means (e.g. a library's own writer) to disk. */
export async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A file being written aside: appended to in chunks, then {@link publish}ed under its final name. */
export class AsideFile {
  readonly tmpPath: string;
  #handle: FileHandle;
  #chunks: string[] = [];
  #pending = 0;

  private constructor(tmpPath: string, handle: FileHandle) {
    this.tmpPath = tmpPath;
    this.#handle = handle;
  }

  /** Creates a new temporary file in `dir` (unique to this process and call). */
  static async create(dir: string, hint: string): Promise<AsideFile> {
    const tmpPath = asidePath(dir, hint);
    return new AsideFile(tmpPath, await open(tmpPath, 'wx'));
  }

  /** Appends text; buffered up to 1 MiB. */
  async append(text: string): Promise<void> {
    this.#chunks.push(text);
    this.#pending += text.length;
    if (this.#pending >= 1 << 20) await this.#flush();
  }

  async #flush(): Promise<void> {
    if (this.#chunks.length === 0) return;
    const text = this.#chunks.join('');
    this.#chunks = [];
    this.#pending = 0;
    await this.#handle.write(text);
  }

  /** Writes what is buffered, fsyncs and closes the file (nothing is published yet). */
  async finish(): Promise<void> {
    await this.#flush();
    await this.#handle.sync();
    await this.#handle.close();
  }

  /** Closes and deletes the file without publishing it. */
  async discard(): Promise<void> {
    await this.#handle.close().catch(() => {});
    await unlink(this.tmpPath).catch(() => {});
  }
}

/**
 * Gives the finished file `tmpPath` the name `dest` unless another writer already did.
 *
 * @returns `true` when this call published it, `false` when `dest` already existed (ours is deleted).
 * @throws {@link BatchError} `OUTPUT_DIR` when the filesystem has neither hard links nor rename.
 */
export async function publish(tmpPath: string, dest: string): Promise<boolean> {
  let ours = true;
  try {
    await link(tmpPath, dest);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') ours = false;
    else if (!NO_HARD_LINKS.has(code)) throw err;
    else if (existsSync(dest)) ours = false;
    else {
      try {
        await rename(tmpPath, dest);
      } catch (renameErr) {
        throw new BatchError(
          'OUTPUT_DIR',
          `cannot publish ${dest}: the output folder's filesystem supports neither hard links (${code}) nor rename (${(renameErr as NodeJS.ErrnoException).code})`,
          { cause: renameErr },
        );
      }
      await syncDir(path.dirname(dest));
      return true;
    }
  }
  await unlink(tmpPath).catch(() => {});
  if (ours) await syncDir(path.dirname(dest));
  return ours;
}

/**
 * Writes `text` aside in `tmpDir`, flushes it and publishes it as `dest`.
 *
 * @returns `true` when this call published it, `false` when `dest` already existed.
 */
export async function publishText(tmpDir: string, dest: string, text: string): Promise<boolean> {
  const file = await AsideFile.create(tmpDir, path.basename(dest));
  try {
    await file.append(text);
    await file.finish();
  } catch (err) {
    await file.discard();
    throw err;
  }
  return publish(file.tmpPath, dest);
}
