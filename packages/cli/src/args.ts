/**
 * Argument checks and usage-error reporting shared by the `mtailor` commands, so they word the same mistake the
 * same way and all answer a usage error with the same output and exit code.
 */

/** Exit code of a usage error (bad, missing or unexpected arguments), as each command's usage text documents. */
export const EXIT_USAGE = 2;

/**
 * A mistake in the command line. Thrown while parsing the arguments; {@link parseOrReportUsage} prints its message
 * above the command's usage text.
 */
export class UsageError extends Error {}

/** `text` as an integer ≥ `min` written in plain digits, or a {@link UsageError} saying what was expected. */
function wholeNumber(name: string, text: string | undefined, min: number, what: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  // The digits test refuses what Number() would accept but a user did not mean: '', ' 8', '1e3', '0x10', '8.0'.
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min)
    throw new UsageError(`--${name} expects ${what}, got '${text}'`);
  return n;
}

/**
 * Parses `--name`'s value as a positive integer.
 *
 * @param name - The option's name without the leading `--`, for the error message.
 * @param text - The value as given, or `undefined` when the option is absent.
 * @returns The integer, or `undefined` when the option is absent.
 * @throws {@link UsageError} when `text` is not all digits, is 0, or is too large to be exact.
 */
export function positiveInt(name: string, text: string | undefined): number | undefined {
  return wholeNumber(name, text, 1, 'a positive integer');
}

/**
 * Parses `--name`'s value as an integer ≥ 0 (e.g. `--workers 0`), digits only as {@link positiveInt}.
 *
 * @param name - The option's name without the leading `--`, for the error message.
 * @param text - The value as given, or `undefined` when the option is absent.
 * @returns The integer, or `undefined` when the option is absent.
 * @throws {@link UsageError} when `text` is not all digits or is too large to be exact.
 */
export function nonNegativeInt(name: string, text: string | undefined): number | undefined {
  return wholeNumber(name, text, 0, 'a non-negative integer');
}

/**
 * Parses `--name`'s value as a finite number ≥ 0 (e.g. `--tolerance 1e-4`).
 *
 * @param name - The option's name without the leading `--`, for the error message.
 * @param text - The value as given, or `undefined` when the option is absent.
 * @returns The number, or `undefined` when the option is absent.
 * @throws {@link UsageError} when `text` is blank, not a number, infinite or negative.
 */
export function nonNegativeNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  // Number('') and Number('  ') are 0: a blank value is a mistake, not a request for zero.
  if (text.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new UsageError(`--${name} expects a non-negative number, got '${text}'`);
  return n;
}

/**
 * The options a command's usage text lists: every `--name` that starts an indented line (`  --model <file>`,
 * `  -h, --help`), plus `--help`, in the order listed. Read from the usage text so the hint for an unknown option
 * can never disagree with `--help`.
 *
 * @param usage - A command's usage text.
 * @returns The option names with their leading `--`.
 */
export function optionsInUsage(usage: string): string[] {
  const names = [...usage.matchAll(/^ +(?:-[A-Za-z], )?(--[A-Za-z][\w-]*)/gm)].map((m) => m[1]!);
  return [...new Set([...names, '--help'])];
}

/** Levenshtein distance (insert, delete, substitute; each costs 1). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The candidate a mistyped word most likely meant: the only one it is a prefix of, else the nearest within 2
 * edits (ties go to the first listed); `undefined` when nothing is that close.
 *
 * @example
 * ```ts
 * closestName('--modle', ['--model', '--manifest']); // '--model'
 * closestName('--frobnicate', ['--model', '--manifest']); // undefined
 * ```
 */
export function closestName(word: string, candidates: readonly string[]): string | undefined {
  const prefixed = candidates.filter((c) => c.startsWith(word));
  if (word.length > 3 && prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Runs a command's argument parser; on failure prints `mtailor <command>: <message>` to stderr and returns
 * `undefined` so the caller can return {@link EXIT_USAGE}. An unknown option gets a short hint — the option
 * meant, when one is close, and the options there are — instead of `util.parseArgs`' long advice about
 * positionals after `--`; any other mistake is followed by a blank line and the usage text.
 *
 * Any error counts as a usage error, not only {@link UsageError}: `util.parseArgs` throws its own errors for
 * unknown options and missing option values, and those are the user's mistakes too.
 *
 * @param command - The sub-command's name, as typed after `mtailor`.
 * @param usage - The sub-command's usage text.
 * @param parse - Parses the arguments, throwing on a mistake.
 * @returns What `parse` returned, or `undefined` after reporting the error.
 */
export function parseOrReportUsage<T extends object>(
  command: string,
  usage: string,
  parse: () => T,
): T | undefined {
  try {
    return parse();
  } catch (err) {
    const { code, message } = err as { code?: unknown; message: string };
    const unknown = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'([^']+)'/.exec(message)?.[1] : undefined;
    if (unknown !== undefined) {
      const options = optionsInUsage(usage);
      const meant = closestName(unknown, options);
      process.stderr.write(
        `mtailor ${command}: unknown option ${unknown}${meant ? ` (did you mean ${meant}?)` : ''}\n` +
          `options: ${options.join(' ')}\n` +
          `\`mtailor ${command} --help\` says what each does.\n`,
      );
    } else process.stderr.write(`mtailor ${command}: ${message}\n\n${usage}\n`);
    return undefined;
  }
}

/**
 * The parity rule's options shared by `mtailor convert` and `mtailor validate`: `--rtol`, `--atol`,
 * `--float32-error-factor`, and the old absolute `--tolerance` (which alone means atol = X, rtol = 0).
 *
 * @param values - Parsed option values (strings as typed, or undefined).
 * @returns Only the tolerances that were given, for `checkParity`.
 * @throws {@link UsageError} for a value that is not a non-negative number.
 */
export function parityToleranceArgs(values: {
  rtol?: string | undefined;
  atol?: string | undefined;
  tolerance?: string | undefined;
  'float32-error-factor'?: string | undefined;
}): { rtol?: number; atol?: number; tolerance?: number; float32ErrorFactor?: number } {
  const out: { rtol?: number; atol?: number; tolerance?: number; float32ErrorFactor?: number } = {};
  for (const key of ['rtol', 'atol', 'tolerance'] as const) {
    const v = nonNegativeNumber(key, values[key]);
    if (v !== undefined) out[key] = v;
  }
  const factor = nonNegativeNumber('float32-error-factor', values['float32-error-factor']);
  if (factor !== undefined) out.float32ErrorFactor = factor;
  return out;
}
