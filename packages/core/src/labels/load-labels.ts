/**
 * Class labels: the built-in ImageNet-1k list, an array, or a file (one label per line, or a JSON array).
 * @module
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ManifestError } from '../errors.js';
import * as is from '../is.js';
import { IMAGENET1K_LABELS } from './imagenet1k.js';

/**
 * Where labels come from: `'imagenet1k'` (shipped with the package), an array in class-index order, or
 * `{ file }` — a text file with one label per line or a `.json` file holding an array of strings.
 */
export type LabelsSource = 'imagenet1k' | readonly string[] | { file: string };

/**
 * Parses a labels file's text: a JSON array of strings when the text starts with `[`, otherwise one label per
 * line (a trailing newline and Windows line ends are fine; blank lines inside are kept, since they hold an index).
 *
 * @throws {@link ManifestError} for malformed JSON or a non-string entry.
 *
 * @example
 * ```ts
 * parseLabels('cat\ndog\n'); // ['cat', 'dog']
 * parseLabels('["cat", "dog"]'); // ['cat', 'dog']
 * ```
 */
export function parseLabels(text: string, source = 'labels'): string[] {
  const trimmed = text.replace(/^\uFEFF/, '');
  if (trimmed.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new ManifestError(`${source}: invalid JSON: ${(err as Error).message}`, { cause: err });
    }
    if (!Array.isArray(parsed) || !parsed.every((l) => typeof l === 'string'))
      throw new ManifestError(`${source}: expected a JSON array of strings`);
    return parsed as string[];
  }
  const lines = trimmed.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * Resolves a {@link LabelsSource} to an array in class-index order. File paths are resolved against `baseDir`.
 *
 * @throws {@link ManifestError} when the file cannot be read or parsed, or when `numClasses` is given and the
 * count differs.
 *
 * @example
 * ```ts
 * const labels = await loadLabels('imagenet1k'); // 1000 names
 * const mine = await loadLabels({ file: 'labels.txt' }, { numClasses: 10 });
 * ```
 */
export async function loadLabels(
  source: LabelsSource,
  options: { baseDir?: string; numClasses?: number } = {},
): Promise<readonly string[]> {
  let labels: readonly string[];
  let name: string;
  if (source === 'imagenet1k') {
    labels = IMAGENET1K_LABELS;
    name = 'imagenet1k labels';
  } else if (Array.isArray(source)) {
    if (!source.every((l) => typeof l === 'string'))
      throw is.invalidParameterError('labels', 'array of strings', source);
    labels = [...source];
    name = 'labels';
  } else if (is.plainObject(source) && is.nonEmptyString(source.file)) {
    const file = path.resolve(options.baseDir ?? process.cwd(), source.file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ManifestError(`Cannot read labels file ${file}: ${(err as Error).message}`, { cause: err });
    }
    labels = parseLabels(text, file);
    name = file;
  } else {
    throw is.invalidParameterError('labels', "'imagenet1k', an array of strings or { file }", source);
  }
  if (options.numClasses !== undefined && labels.length !== options.numClasses)
    throw new ManifestError(
      `${name}: ${labels.length} labels for a model with ${options.numClasses} classes; expected one label per class`,
    );
  return labels;
}
