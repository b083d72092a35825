/**
 * Argument checks and usage-error reporting shared by `mtailor convert` and `mtailor validate`, so the two commands
 * word the same mistake the same way and both answer a usage error with the same output and exit code.
 */

/** Exit code of a usage error (bad, missing or unexpected arguments), as each command's usage text documents. */
export const EXIT_USAGE = 2;

/**
 * A mistake in the command line. Thrown while parsing the arguments; {@link parseOrReportUsage} prints its message
 * above the command's usage text.
 */
export class UsageError extends Error {}

/**
 * Parses `--name`'s value as a positive integer.
 *
 * @param name - The option's name without the leading `--`, for the error message.
 * @param text - The value as given, or `undefined` when the option is absent.
 * @returns The integer, or `undefined` when the option is absent.
 * @throws {@link UsageError} when `text` is not all digits, is 0, or is too large to be exact.
 */
export function positiveInt(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  // The digits test refuses what Number() would accept but a user did not mean: '', ' 8', '1e3', '0x10', '8.0'.
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`--${name} expects a positive integer, got '${text}'`);
  return n;
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
 * Runs a command's argument parser; on failure prints `mtailor <command>: <message>`, a blank line and the usage
 * text to stderr, and returns `undefined` so the caller can return {@link EXIT_USAGE}.
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
    process.stderr.write(`mtailor ${command}: ${(err as Error).message}\n\n${usage}\n`);
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
