/**
 * Every ```ts example of the published packages' READMEs runs against the real shared model and images, and every
 * value printed in a comment (`console.log(x); // 0.9924`) is checked (see `support/doc-examples.ts`). So the
 * numbers in the READMEs are the numbers the code gives, and one image has one probability in every document.
 *
 * The examples run as their own ES modules (imports resolved as from the package that owns the README, i.e. the
 * built `dist/` of this workspace), in a scratch folder holding the files the READMEs name:
 * `model.onnx` (the shared int8 MobileNetV2), `n01440764_tench.JPEG`, `n01667114_mud_turtle.JPEG`,
 * `mobilenet_v2_imagenet.pth` (the shared checkpoint), `mobilenet_v2_float.onnx`, `calibration-images/` (the first 8
 * shared images) and `held-out-images/` (the next 8), plus each block marked `<!-- doc-test: file … -->`.
 * An example must end on its own (close what it opens): there is no `process.exit` after it.
 * `test/package-contract.test.ts` runs some of the same blocks against the packed tarballs installed with npm.
 * The timm and Hugging Face examples (and their `<!-- doc-test: command -->` commands) run with today's PyTorch stack
 * (`MTAILOR_PYTHON` = `pythonToday`) on small random-weight models made beside them by
 * `packages/converter-bridge/test/support/hub_models.py` (`timm-convnext.safetensors`, `hf-vit/`, …).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ImageClassifier } from '@mtailor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DocBlock,
  exampleModule,
  linkExampleFiles,
  markdownBlocks,
  needsHubStack,
} from './support/doc-examples.js';
import { hasTodaysTorch, hasTorch, pythonToday, repoRoot, shared } from './support/shared-data.js';

/** The packages whose READMEs ship, and the API each README must show running. */
const PACKAGES: Record<string, string[]> = {
  preprocess: [
    'preprocess(',
    'getPreset(',
    'resize(',
    'resizeShorterSide(',
    'centerCrop(',
    'toRGB(',
    'toTensor(',
    'createBatchTensor(',
  ],
  core: [
    'ImageClassifier.create(',
    '.classify(',
    '.classifyBatch(',
    '.classifyStream(',
    'new ImagePreprocessor(',
    'ONNXModel.load(',
    'health(',
    "'imagenet-eval'",
    'manifest:',
  ],
  server: ['createServer(', 'mtailorPlugin', 'loadConfig('],
  'converter-bridge': [
    'validateModel(',
    'formatValidationReport(',
    'convertCheckpoint(',
    'checkParity(',
    'quantizeModel(',
    'compareModels(',
  ],
  cli: [],
};

/** Examples that need PyTorch (the converter's export). */
const needsTorch = (b: DocBlock) => b.code.includes('convertCheckpoint(');
const torch = hasTorch();
const hubStack = hasTodaysTorch();
const hubModels = path.join(repoRoot, 'packages', 'converter-bridge', 'test', 'support', 'hub_models.py');

/** The Markdown files each package ships (its README and, for core, the decoding document). */
const docs = (pkg: string) =>
  (pkg === 'core' ? ['README.md', 'docs/decoding.md'] : ['README.md']).map((f) =>
    path.join(repoRoot, 'packages', pkg, f),
  );
const blocksOf = (pkg: string) => docs(pkg).flatMap((f) => markdownBlocks(f));
const tsBlocks = (pkg: string) => blocksOf(pkg).filter((b) => b.lang === 'ts');

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mtailor-readmes-'));
  linkExampleFiles(work);
  for (const pkg of Object.keys(PACKAGES))
    for (const b of blocksOf(pkg)) if (b.writeAs) writeFileSync(path.join(work, b.writeAs), `${b.code}\n`);
  if (hubStack) {
    const made = spawnSync(pythonToday, [hubModels, work, shared.tench], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    expect(made.status, made.stderr).toBe(0);
  }
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs one block as an ES module in the scratch folder; imports resolve as from `packages/<pkg>`. */
function run(pkg: string, block: DocBlock): void {
  const require = createRequire(path.join(repoRoot, 'packages', pkg, 'package.json'));
  const { code, checks, unchecked } = exampleModule(
    block.code,
    (spec) => pathToFileURL(require.resolve(spec)).href,
  );
  expect(unchecked, `${block.where}: printed values the test cannot check`).toEqual([]);
  expect(checks, `${block.where}: an example that checks nothing`).toBeGreaterThan(0);
  const file = path.join(work, `${block.where.replace(/[^a-z0-9]+/gi, '-')}.mjs`);
  writeFileSync(file, code);
  const r = spawnSync(process.execPath, [file], {
    cwd: work,
    env: { ...process.env, PORT: '0', ...(needsHubStack(block) ? { MTAILOR_PYTHON: pythonToday } : {}) },
    encoding: 'utf8',
    timeout: needsHubStack(block) ? 600_000 : 120_000,
  });
  const stderr = r.stderr.replace(/\(node:\d+\) \[MTAILOR_CUDA_FALLBACK\][^\n]*\n/g, '');
  expect(r.signal, `${block.where} did not end on its own (${file})`).toBeNull();
  expect(stderr, `${block.where} (${file})`).not.toMatch(/Error|Warning/);
  expect(r.status, `${block.where} (${file})\n${r.stderr}`).toBe(0);
  expect(r.stdout, `${block.where} (${file})`).toContain(`checks passed: ${checks} of ${checks}`);
}

describe.each(Object.keys(PACKAGES))('@mtailor/%s README', (pkg) => {
  const blocks = tsBlocks(pkg);
  const runnable = blocks.filter((b) => !b.skip);

  it.runIf(PACKAGES[pkg]!.length > 0)('shows its API in examples that run', () => {
    const code = runnable.map((b) => b.code).join('\n');
    for (const name of PACKAGES[pkg]!)
      expect(code, `${pkg} README: no running example uses ${name}`).toContain(name);
  });

  for (const block of blocks) {
    const title = `${block.where}${block.skip ? ` — not run: ${block.skip}` : ''}`;
    if (block.skip) it.skip(title, () => {});
    else if (needsHubStack(block)) it.skipIf(!hubStack)(title, () => run(pkg, block), 600_000);
    else if (needsTorch(block)) it.skipIf(!torch)(title, () => run(pkg, block));
    else it(title, () => run(pkg, block));
  }

  for (const block of blocksOf(pkg).filter((b) => b.command))
    it.skipIf(needsHubStack(block) && !hubStack)(
      `${block.where} (command)`,
      () => {
        const cli = path.join(repoRoot, 'packages', 'cli', 'dist', 'main.js');
        for (const line of block.code.split('\n').filter((l) => l.startsWith('mtailor '))) {
          const r = spawnSync(process.execPath, [cli, ...line.split(/\s+/).slice(1)], {
            cwd: work,
            env: needsHubStack(block) ? { ...process.env, MTAILOR_PYTHON: pythonToday } : process.env,
            encoding: 'utf8',
            timeout: 600_000,
          });
          expect(r.status, `${block.where}: ${line}\n${r.stderr}`).toBe(0);
          expect(r.stdout, `${block.where}: ${line}`).toMatch(/VALID[\s\S]*parity: OK/);
        }
      },
      600_000,
    );
});

describe('one probability for one image', () => {
  /**
   * Every Markdown file and comment of the repository (tests aside) that quotes a probability for the tench image:
   * the first number after "tench" on a line, unless the line is about another setup.
   */
  function quotes(): { where: string; value: string }[] {
    const out: { where: string; value: string }[] = [];
    const skip = new Set(['node_modules', 'dist', 'test', '.git', 'tmp', '.scratch']);
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        if (skip.has(name)) continue;
        const full = path.join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (/\.(md|ts|mjs)$/.test(name)) {
          readFileSync(full, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              // Lines about another setup (the other recipe, the float model) may quote other figures.
              if (/imagenet-eval|float/i.test(line)) return;
              if (name.endsWith('.md') || /^\s*(\*|\/\/)/.test(line))
                for (const m of line.matchAll(/tench\b.{0,60}?(?<![\d.])(0\.\d+…?|1\.0+|\d{1,3}\.\d+…?%)/g))
                  out.push({ where: `${path.relative(repoRoot, full)}:${i + 1}`, value: m[1]! });
            });
        }
      }
    };
    walk(repoRoot);
    return out;
  }

  it('every document quotes the tench at the probability the default classifier gives (int8 model, resize-224)', async () => {
    const classifier = await ImageClassifier.create({ model: shared.int8Model, workers: 0 });
    const { predictions } = await classifier.classify(shared.tench, { topK: 1 });
    await classifier.close();
    expect(predictions[0]!.label).toBe('tench');
    const value = predictions[0]!.probability.toFixed(4);
    const found = quotes();
    expect(found.length).toBeGreaterThanOrEqual(6);
    // A quote agrees when it gives at least 4 decimals (of a probability; 2 of a percentage) and rounds to it.
    const agrees = (quoted: string): boolean => {
      const percent = quoted.endsWith('%');
      const digits = quoted.replace(/%$/, '');
      if (!/^\d+\.\d+$/.test(digits) || digits.split('.')[1]!.length < (percent ? 2 : 4)) return false;
      return (Number(digits) / (percent ? 100 : 1)).toFixed(4) === value;
    };
    expect(
      found.filter((q) => !agrees(q.value)),
      `the tench's probability is ${value}`,
    ).toEqual([]);
  });
});
