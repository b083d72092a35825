/**
 * Step 1 of the data path (bytes → decode → preprocess): get the encoded image bytes from whatever the caller has,
 * enforcing the byte limit while reading so an oversized upload or stream is never held in memory whole.
 * @module
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ImageReadError, ImageTooLargeError, InvalidImageError } from '../errors.js';
import * as is from '../is.js';

/**
 * What an image can be given as: the encoded bytes (`Buffer`, `Uint8Array`, `ArrayBuffer`), a file path, or a
 * readable stream of the bytes — a Node stream (an HTTP request body, `fs.createReadStream`) or a web
 * `ReadableStream` (a `fetch` response body).
 *
 * @example
 * ```ts
 * const inputs: ImageInput[] = [await readFile('cat.jpg'), 'cat.jpg', createReadStream('cat.jpg')];
 * ```
 */
export type ImageInput =
  | Uint8Array
  | ArrayBuffer
  | string
  | NodeJS.ReadableStream
  | WebReadableStream<Uint8Array>;

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

function tooLarge(what: string, size: number | string, maxBytes: number): ImageTooLargeError {
  const shown = typeof size === 'number' ? formatBytes(size) : size;
  return new ImageTooLargeError(
    `${what} is ${shown}, over the limit of ${formatBytes(maxBytes)} (maxInputBytes: ${maxBytes})`,
  );
}

function isReadableStream(value: unknown): value is NodeJS.ReadableStream {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as NodeJS.ReadableStream).pipe === 'function' &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  );
}

/** Concatenates chunks into one `Uint8Array` without an extra copy when there is a single chunk. */
function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

async function readStream(
  stream: NodeJS.ReadableStream | WebReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<unknown>) {
      if (typeof chunk === 'string') {
        throw new InvalidImageError(
          'The image stream yields text, not bytes (was setEncoding() called on it?); pass the raw binary stream',
        );
      }
      if (!(chunk instanceof Uint8Array)) {
        throw new InvalidImageError(`The image stream yields ${typeof chunk} chunks, not bytes`);
      }
      total += chunk.length;
      if (total > maxBytes) {
        // Stop reading now: the rest of the stream is never buffered.
        throw tooLarge('The image stream', `over ${formatBytes(maxBytes)}`, maxBytes);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    // Stop the source: a Node stream is destroyed; a web stream's iterator was already cancelled by `for await`.
    const destroy = (stream as { destroy?: () => void }).destroy;
    if (typeof destroy === 'function') destroy.call(stream);
    if (err instanceof ImageTooLargeError || err instanceof InvalidImageError) throw err;
    throw new ImageReadError(`Reading the image stream failed: ${(err as Error).message}`, { cause: err });
  }
  return concat(chunks, total);
}

/**
 * Read-only, without waiting: opening a FIFO (or a device that waits for a peer) for reading would otherwise block
 * until a writer comes, perhaps forever; non-blocking, it opens at once and the regular-file check refuses it.
 * Regular files read the same either way.
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** The error for a file that cannot be opened, with the reason in words. */
function openFailed(path: string, err: unknown): ImageReadError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
  return new ImageReadError(`Cannot open image file ${JSON.stringify(path)}: ${why}`, { cause: err });
}

/** Refuses what is not a regular file, or is over the limit — before reading a single byte. */
function checkFileStat(path: string, stat: { isFile(): boolean; size: number }, maxBytes: number): void {
  if (!stat.isFile()) throw new ImageReadError(`${JSON.stringify(path)} is not a regular file`);
  // A 10 GB file costs one stat() call.
  if (stat.size > maxBytes) throw tooLarge(`Image file ${JSON.stringify(path)}`, stat.size, maxBytes);
}

/** The file's bytes after a read; a file that grew past the limit since its stat() is refused. */
function checkReadBytes(path: string, bytes: Uint8Array, maxBytes: number): Uint8Array {
  if (bytes.length > maxBytes) throw tooLarge(`Image file ${JSON.stringify(path)}`, bytes.length, maxBytes);
  return bytes;
}

/** Our typed errors pass through; anything else while reading becomes an `ImageReadError`. */
function readFailed(path: string, err: unknown): Error {
  if (err instanceof ImageReadError || err instanceof ImageTooLargeError) return err;
  return new ImageReadError(`Reading image file ${JSON.stringify(path)} failed: ${(err as Error).message}`, {
    cause: err,
  });
}

async function readPath(path: string, maxBytes: number): Promise<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (err) {
    throw openFailed(path, err);
  }
  try {
    checkFileStat(path, await handle.stat(), maxBytes);
    return checkReadBytes(path, await handle.readFile(), maxBytes);
  } catch (err) {
    throw readFailed(path, err);
  } finally {
    await handle.close();
  }
}

/**
 * Reads an image file on the calling thread, with the same checks and errors as {@link readImageBytes}: for a
 * thread that has nothing else to do meanwhile (an engine worker), where the asynchronous read's four thread-pool
 * round trips (open, stat, read, close) cost more CPU than reading a cached file.
 *
 * @throws {ImageReadError} | {ImageTooLargeError}
 *
 * @example
 * ```ts
 * const bytes = readImageFileSync('photo.jpg', 50 * 1024 * 1024);
 * ```
 */
export function readImageFileSync(path: string, maxBytes: number): Uint8Array {
  if (path.length === 0) throw is.invalidParameterError('input', 'non-empty file path', path);
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    throw openFailed(path, err);
  }
  try {
    checkFileStat(path, fstatSync(fd), maxBytes);
    return checkReadBytes(path, readFileSync(fd), maxBytes);
  } catch (err) {
    throw readFailed(path, err);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads the encoded bytes of an {@link ImageInput}, refusing more than `maxBytes`: a byte array is checked by
 * length, a file by its size before it is read, a stream chunk by chunk (it is destroyed as soon as it goes over).
 * Byte arrays are not copied.
 *
 * @throws {ImageTooLargeError} over `maxBytes`.
 * @throws {InvalidImageError} empty input.
 * @throws {ImageReadError} a file that cannot be opened or read, a stream that errors.
 * @throws {InvalidOptionError} anything that is not an {@link ImageInput}.
 *
 * @example
 * ```ts
 * const bytes = await readImageBytes(createReadStream('cat.jpg'), 50 * 1024 * 1024);
 * ```
 */
export async function readImageBytes(input: ImageInput, maxBytes: number): Promise<Uint8Array> {
  let bytes: Uint8Array;
  if (input instanceof Uint8Array) {
    if (input.length > maxBytes) throw tooLarge('The image', input.length, maxBytes);
    bytes = input;
  } else if (input instanceof ArrayBuffer) {
    if (input.byteLength > maxBytes) throw tooLarge('The image', input.byteLength, maxBytes);
    bytes = new Uint8Array(input);
  } else if (typeof input === 'string') {
    if (input.length === 0) throw is.invalidParameterError('input', 'non-empty file path', input);
    bytes = await readPath(input, maxBytes);
  } else if (isReadableStream(input) || input instanceof WebReadableStream) {
    bytes = await readStream(input, maxBytes);
  } else {
    throw is.invalidParameterError('input', 'Uint8Array, ArrayBuffer, file path or readable stream', input);
  }
  if (bytes.length === 0) throw new InvalidImageError('The image is empty (0 bytes)');
  return bytes;
}
