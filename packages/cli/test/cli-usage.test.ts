/**
 * How `mtailor` answers a command line it cannot run: no command, an unknown command, an unknown option; and the
 * CLI README's transcripts, run again. Run as users run it (`node packages/cli/bin/mtailor.js …` in a child process).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { markdownBlocks } from '../../../test/support/doc-examples.js';
import { repoRoot, shared } from '../../../test/support/shared-data.js';
import { closestName, optionsInUsage } from '../dist/args.js';

const bin = path.join(repoRoot, 'packages', 'cli', 'bin', 'mtailor.js');

function mtailor(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the CLI README shows real output', () => {
  // The files its transcripts name, in a scratch folder: model.onnx is the shared int8 MobileNetV2.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-cli-readme-'));
  symlinkSync(shared.int8Model, path.join(dir, 'model.onnx'));
  symlinkSync(shared.tench, path.join(dir, 'n01440764_tench.JPEG'));
  symlinkSync(shared.mudTurtle, path.join(dir, 'n01667114_mud_turtle.JPEG'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.MTAILOR_MODEL;
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], {
      cwd: dir,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return `${r.stdout}${r.stderr}`;
  };
  /**
   * Timings differ from run to run: numbers before ` s` and `img/s` are not compared. Which int8 kernels run depends
   * on the CPU (`native`, or `uint8-weights` without VNNI: the README names both); their answers do not.
   */
  const untimed = (text: string) =>
    text
      .replace(/[\d.]+ s \(\d+ img\/s\)/g, '<t> s (<n> img/s)')
      .replace(/int8 kernels: (native|uint8-weights)\b/g, 'int8 kernels: <exact kernels here>')
      .trimEnd();
  const blocks = markdownBlocks(path.join(repoRoot, 'packages', 'cli', 'README.md')).filter(
    (b) =>
      b.lang === '' && (b.code.startsWith('$ mtailor ') || b.code.startsWith('mtailor classify: no model')),
  );

  it('has the transcripts', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
  });

  it.each(blocks.map((b) => [b.where, b] as const))('%s', (_where, block) => {
    const [first, ...rest] = block.code.split('\n');
    // A transcript runs its `$ mtailor …` line; the no-model message is what `mtailor classify x.jpg` says.
    const args = first!.startsWith('$ mtailor ')
      ? first!.slice('$ mtailor '.length).split(/\s+/)
      : ['classify', 'x.jpg'];
    const shown = first!.startsWith('$ ') ? rest.join('\n') : block.code;
    expect(untimed(run(args))).toBe(untimed(shown));
  });
});

describe('mtailor usage errors', () => {
  it('no command: the command list on stderr and exit 2 (help asked for: stdout and exit 0)', () => {
    const none = mtailor();
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^mtailor: no command given\n\nUsage: mtailor <command> \[options\]/);
    for (const flag of ['--help', '-h']) {
      const help = mtailor(flag);
      expect(help.code).toBe(0);
      expect(help.stderr).toBe('');
      expect(help.stdout).toMatch(/^Usage: mtailor <command> \[options\]\n\nCommands:\n {2}classify /);
    }
  });

  it('an unknown command: exit 2 and the command meant', () => {
    const r = mtailor('clasify', 'x.jpg');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('mtailor: unknown command clasify (did you mean classify?)');
    expect(mtailor('frobnicate').stderr).toMatch(/unknown command frobnicate\n/);
  });

  it.each([
    ['classify', ['x.jpg', '--modle', 'm.onnx'], '--modle', '--model'],
    ['classify', ['x.jpg', '--topk', '3'], '--topk', '--top-k'],
    ['validate', ['m.onnx', '--jsn'], '--jsn', '--json'],
    ['convert', ['--arch', 'resnet18', '--wieghts', 'w.pth'], '--wieghts', '--weights'],
    ['classify', ['x.jpg', '--frobnicate'], '--frobnicate', undefined],
    ['validate', ['m.onnx', '-x'], '-x', undefined],
  ] as const)('mtailor %s %j: a short hint listing the options, exit 2', (command, args, typed, meant) => {
    const r = mtailor(command, ...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    // The options listed are exactly those of `mtailor <command> --help`.
    const help = mtailor(command, '--help');
    expect(help.code).toBe(0);
    const options = optionsInUsage(help.stdout);
    expect(options.length).toBeGreaterThan(5);
    expect(r.stderr).toBe(
      `mtailor ${command}: unknown option ${typed}${meant ? ` (did you mean ${meant}?)` : ''}\n` +
        `options: ${options.join(' ')}\n` +
        `\`mtailor ${command} --help\` says what each does.\n`,
    );
    // Not Node's parseArgs advice about positionals after '--'.
    expect(r.stderr).not.toContain('positional');
  });

  it('other usage errors keep the message followed by the usage text', () => {
    const r = mtailor('classify', 'x.jpg', '--top-k', 'abc');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^mtailor classify: --top-k expects a positive integer, got 'abc'\n\nUsage: mtailor classify/,
    );
  });

  it('classify reads its numbers as every command does: digits only (1e3, " 8", 0x10, 8.0 refused)', () => {
    for (const [option, value] of [
      ['--top-k', '1e3'],
      ['--top-k', ' 8'],
      ['--batch-size', '0x10'],
      ['--threads', '8.0'],
      ['--workers', '1e0'],
      ['--top-k', '0'],
    ] as const) {
      const r = mtailor('classify', 'x.jpg', option, value);
      expect(r.code, `${option} ${value}`).toBe(2);
      expect(r.stderr).toContain(`mtailor classify: ${option} expects a `);
      expect(r.stderr).toContain(`got '${value}'`);
    }
  });

  it('convert: --hf takes no --arch / --weights, --hf-backend is pil or torchvision and needs --hf', () => {
    const cases: [string[], string][] = [
      [
        ['--hf', 'folder', '--arch', 'resnet18'],
        '--hf takes the model from the folder: give no --arch or --weights',
      ],
      [
        ['--hf', 'folder', '--hf-backend', 'tensorflow'],
        "--hf-backend expects pil or torchvision, got 'tensorflow'",
      ],
      [
        ['--arch', 'timm:resnet18', '--weights', 'w.pth', '--hf-backend', 'pil'],
        '--hf-backend applies to --hf only',
      ],
      [['--arch', 'timm:resnet18'], '--weights is required (or --hf <folder>)'],
    ];
    for (const [args, message] of cases) {
      const r = mtailor('convert', ...args, '--out', 'm.onnx');
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`mtailor convert: ${message}`);
    }
  });

  it('closestName: a unique prefix, else the nearest within 2 edits', () => {
    const options = ['--model', '--manifest', '--top-k', '--threads', '--json'];
    expect(closestName('--modle', options)).toBe('--model');
    expect(closestName('--man', options)).toBe('--manifest');
    expect(closestName('--m', options)).toBeUndefined(); // ambiguous, and too far from both
    expect(closestName('--thread', options)).toBe('--threads');
    expect(closestName('--frobnicate', options)).toBeUndefined();
    expect(
      optionsInUsage('Usage: x\n\n  --a <n>   the a\n                 (continued --b)\n  -h, --help  this\n'),
    ).toEqual(['--a', '--help']);
  });
});
