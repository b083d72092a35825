/**
 * `mtailor` — classify images, convert PyTorch checkpoints to ONNX, quantize them to int8, validate ONNX models.
 * Each sub-command lives in `commands/<name>.ts` and returns its exit code.
 */
import { readFileSync } from 'node:fs';

/** A sub-command: parses its own arguments, returns the process exit code (0 ok, 1 failure, 2 usage). */
export interface Command {
  /** One-line summary shown by `mtailor --help`. */
  summary: string;
  /** Full usage text shown by `mtailor <command> --help`. */
  usage: string;
  /** Runs the command with the arguments after its name. */
  run(args: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  classify: async () => (await import('./commands/classify.js')).command,
  convert: async () => (await import('./commands/convert.js')).command,
  quantize: async () => (await import('./commands/quantize.js')).command,
  validate: async () => (await import('./commands/validate.js')).command,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const load = name === undefined ? undefined : commands[name];
  if (!load) {
    const lines = ['Usage: mtailor <command> [options]', '', 'Commands:'];
    for (const [cmd, get] of Object.entries(commands))
      lines.push(`  ${cmd.padEnd(10)} ${(await get()).summary}`);
    lines.push('', 'Run `mtailor <command> --help` for the options of a command.');
    const help = name === undefined || name === '--help' || name === '-h';
    (help ? process.stdout : process.stderr).write(
      `${help ? '' : `Unknown command: ${name}\n\n`}${lines.join('\n')}\n`,
    );
    return help ? 0 : 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`mtailor: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
