/**
 * Documentation examples as programs: the code blocks of a README (or a TSDoc `@example`) turned into ES modules
 * that run, and whose printed values are checked.
 *
 * - A line `expression; // <JavaScript literal>` (typically `console.log(x); // 0.9924`) becomes a check that the
 *   expression gives that value, to the precision written (`doc-check.mjs`); a trailing ` (remark)` is ignored.
 *   Other lines run as they are.
 * - In Markdown, `<!-- doc-test: skip (why) -->` just before a block keeps it from running (the reason is
 *   reported), and `<!-- doc-test: file name.json -->` writes the block as that file into the example's folder
 *   before the examples run (so a manifest shown in a README is the one the examples load);
 *   `<!-- doc-test: command -->` before a `sh` block runs its `mtailor …` lines as the built CLI, which must exit 0.
 * - TypeScript is transpiled with the repository's `typescript` (types stripped, nothing checked: the package
 *   contract test type-checks the same blocks against the published `.d.ts`).
 * @module
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { shared } from './shared-data.js';

/** A fenced code block of a Markdown file. */
export interface DocBlock {
  /** `file:line` of the opening fence. */
  where: string;
  /** The fence's language (`ts`, `json`, `sh`, …). */
  lang: string;
  code: string;
  /** Why it does not run, from `<!-- doc-test: skip (why) -->`. */
  skip?: string;
  /** File name to write the block as, from `<!-- doc-test: file name -->`. */
  writeAs?: string;
  /** A `sh` block whose `mtailor` command lines run, from `<!-- doc-test: command -->`. */
  command?: boolean;
}

/**
 * Whether a block converts a timm or Hugging Face model, which needs today's PyTorch stack (torch with timm and
 * transformers) rather than the default interpreter.
 */
export function needsHubStack(block: DocBlock): boolean {
  return /timm:|--hf |\bhf: '/.test(block.code);
}

/** The fenced code blocks of a Markdown file, in order, with their doc-test annotations. */
export function markdownBlocks(file: string): DocBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !new RegExp(`^\\s*${fence}\\s*$`).test(lines[j]!); j++)
      body.push(lines[j]!.startsWith(indent!) ? lines[j]!.slice(indent!.length) : lines[j]!);
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    const note =
      k >= 0 ? /^\s*<!--\s*doc-test:\s*(skip|file|command)\s*(.*?)\s*-->\s*$/.exec(lines[k]!) : null;
    const block: DocBlock = {
      where: `${path.basename(path.dirname(file))}/${path.basename(file)}:${i + 1}`,
      lang: lang!,
      code: body.join('\n'),
    };
    if (note?.[1] === 'skip') block.skip = note[2]!.replace(/^\((.*)\)$/, '$1') || 'no reason given';
    if (note?.[1] === 'file') block.writeAs = note[2]!;
    if (note?.[1] === 'command') block.command = true;
    blocks.push(block);
    i = j;
  }
  return blocks;
}

/** The argument of `console.log(<one argument>)`, or `undefined` when the call has several (or is no such call). */
function loggedExpression(expr: string): string | undefined {
  if (!expr.startsWith('console.log(') || !expr.endsWith(')')) return undefined;
  const inner = expr.slice('console.log('.length, -1);
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ',' && depth === 0) return undefined;
    if (depth < 0) return undefined;
  }
  return depth === 0 && !quote ? inner : undefined;
}

/**
 * `expr; // value` lines become `__check(…)` calls when `value` is a JavaScript literal; other lines are kept.
 * `unchecked` lists the lines that print something with a comment after them but could not become a check (a
 * `console.log` of several values, a comment that is no literal), so a test can refuse them.
 */
export function withChecks(code: string): { code: string; checks: number; unchecked: string[] } {
  let checks = 0;
  const unchecked: string[] = [];
  const lines = code.split('\n').map((line) => {
    const m = /^(?!\s*(const|let|import|for|if)\b)(\s*)(.+?);\s*\/\/\s*(.+?)( \(.*\))?$/.exec(line);
    if (!m) return line;
    let expr = m[3]!.trim();
    const expected = m[4]!.trim();
    const isLog = expr.startsWith('console.log(');
    try {
      new Function(`return (${expected});`)();
    } catch {
      if (isLog) unchecked.push(line.trim());
      return line;
    }
    if (isLog) {
      const logged = loggedExpression(expr);
      if (logged === undefined) {
        unchecked.push(line.trim());
        return line;
      }
      expr = logged;
    }
    checks++;
    return `${m[2]}__check(${JSON.stringify(line.trim())}, await (async () => (${expr}))(), (${expected}));`;
  });
  return { code: lines.join('\n'), checks, unchecked };
}

/** URL of the runtime check module, for examples written anywhere. */
export const docCheckUrl = pathToFileURL(
  path.join(path.dirname(fileURLToPath(import.meta.url)), 'doc-check.mjs'),
).href;

/**
 * A TypeScript example as a runnable ES module: checks inserted, types stripped, bare import specifiers mapped by
 * `resolve` (return `undefined` to keep one), and a last line printing `checks passed: <n>`.
 */
export function exampleModule(
  source: string,
  resolve: (specifier: string) => string | undefined = () => undefined,
): { code: string; checks: number; unchecked: string[] } {
  const { code: checked, checks, unchecked } = withChecks(source);
  const js = ts.transpileModule(checked, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const mapped = js.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\2/g,
    (all, head: string, _q: string, spec: string) => {
      const to = spec.startsWith('.') || spec.startsWith('node:') ? undefined : resolve(spec);
      return to === undefined ? all : `${head}${JSON.stringify(to)}`;
    },
  );
  return {
    code: [
      `import { check as __check } from ${JSON.stringify(docCheckUrl)};`,
      mapped,
      `console.log('checks passed: ' + (__check.passed ?? 0) + ' of ${checks}');`,
    ].join('\n'),
    checks,
    unchecked,
  };
}

/**
 * Links the files the README examples name into `dir` (the shared data stays in place): `model.onnx` (the int8
 * MobileNetV2), `mobilenet_v2_float.onnx`, `mobilenet_v2_imagenet.pth`, the tench and mud-turtle images, and the
 * folders `calibration-images/` (the first 8 shared images) and `held-out-images/` (the next 8).
 */
export function linkExampleFiles(dir: string): void {
  symlinkSync(shared.int8Model, path.join(dir, 'model.onnx'));
  symlinkSync(shared.floatModel, path.join(dir, 'mobilenet_v2_float.onnx'));
  symlinkSync(shared.mobilenetWeights, path.join(dir, 'mobilenet_v2_imagenet.pth'));
  symlinkSync(shared.tench, path.join(dir, 'n01440764_tench.JPEG'));
  symlinkSync(shared.mudTurtle, path.join(dir, 'n01667114_mud_turtle.JPEG'));
  const images = readdirSync(shared.images)
    .filter((f) => f.endsWith('.JPEG'))
    .sort();
  for (const [folder, names] of [
    ['calibration-images', images.slice(0, 8)],
    ['held-out-images', images.slice(8, 16)],
  ] as const) {
    mkdirSync(path.join(dir, folder));
    for (const name of names) symlinkSync(shared.image(name), path.join(dir, folder, name));
  }
}
