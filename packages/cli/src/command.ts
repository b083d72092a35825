/**
 * What a `mtailor` sub-command is, apart from `main.ts` (which loads them), so the commands depend on this type only
 * and not on the entry point that imports them.
 */

/** A sub-command: parses its own arguments, returns the process exit code (0 ok, 1 failure, 2 usage). */
export interface Command {
  /** One-line summary shown by `mtailor --help`. */
  summary: string;
  /** Full usage text shown by `mtailor <command> --help`. */
  usage: string;
  /** Runs the command with the arguments after its name. */
  run(args: string[]): Promise<number>;
}
