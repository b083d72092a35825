/**
 * `mtailor` — classify images, convert PyTorch checkpoints to ONNX, quantize them to int8, validate ONNX models.
 * Each sub-command lives in `commands/<name>.ts` and returns its exit code.
 */
import { readFileSync } from 'node:fs';
import { closestName, EXIT_USAGE } from './args.js';
import type { Command } from './command.js';

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
    // Asking for help is a success; no command or an unknown one is a usage error (exit 2, text on stderr), as in
    // every command: a script that forgot the command must not pass.
    if (name === '--help' || name === '-h') {
      process.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    }
    const meant = name === undefined ? undefined : closestName(name, Object.keys(commands));
    const problem =
      name === undefined
        ? 'mtailor: no command given'
        : `mtailor: unknown command ${name}${meant ? ` (did you mean ${meant}?)` : ''}`;
    process.stderr.write(`${problem}\n\n${lines.join('\n')}\n`);
    return EXIT_USAGE;
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
