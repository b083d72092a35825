/**
 * The TSDoc `@example` blocks of the model, classifier, labels, manifest and health modules are runnable: each is
 * run as its own ES module (in a scratch folder holding the files the examples name, linked to the shared data),
 * and where a line ends in `// <JavaScript value>`, the expression must produce that value, to the precision written
 * (`test/support/doc-examples.ts`, shared with the README examples' test).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as publicApi from '@mtailor/core';
import * as internalApi from '@mtailor/core/internal';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { docCheckUrl, withChecks } from '../../../test/support/doc-examples.js';
import { repoRoot, shared } from '../../../test/support/shared-data.js';

const srcDir = path.join(repoRoot, 'packages', 'core', 'src');
const folders = ['model', 'engine', 'classifier', 'labels', 'manifest', 'health'];
const coreUrl = pathToFileURL(path.join(repoRoot, 'packages', 'core', 'dist', 'index.js')).href;
const internalUrl = pathToFileURL(path.join(repoRoot, 'packages', 'core', 'dist', 'internal.js')).href;

interface Example {
  where: string;
  code: string;
}

/** The ```ts blocks after `@example` tags in TSDoc comments, comment stars removed. */
function examples(): Example[] {
  const out: Example[] = [];
  for (const folder of folders) {
    for (const file of readdirSync(path.join(srcDir, folder)).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(path.join(srcDir, folder, file), 'utf8');
      const re = /@example\s*\n\s*\*\s*```ts\n([\s\S]*?)\n\s*\*\s*```/g;
      for (let m = re.exec(text); m; m = re.exec(text)) {
        const line = text.slice(0, m.index).split('\n').length;
        const code = m[1]!
          .split('\n')
          .map((l) => l.replace(/^\s*\* ?/, ''))
          .join('\n');
        out.push({ where: `${folder}/${file}:${line}`, code });
      }
    }
  }
  return out;
}

/** Names the examples may use without importing them: the public API, and the internal one for internal helpers. */
const core = { ...internalApi, ...publicApi };

const PRELUDE = `
import * as __public from ${JSON.stringify(coreUrl)};
import * as __internal from ${JSON.stringify(internalUrl)};
const __core = { ...__internal, ...__public };
import { readFile } from 'node:fs/promises';
import { check as __check } from ${JSON.stringify(docCheckUrl)};
`;

let work: string;
beforeAll(async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mtailor-examples-'));
  symlinkSync(shared.dir, path.join(root, 'shared')); // '../shared/…' from the working folder, as from the repo root
  work = path.join(root, 'work');
  mkdirSync(path.join(work, 'models'), { recursive: true });
  for (const name of ['cat.jpg', 'a.jpg', 'photo.jpg', 'n01440764_tench.JPEG'])
    symlinkSync(shared.tench, path.join(work, name));
  symlinkSync(shared.mudTurtle, path.join(work, 'b.jpg'));
  writeFileSync(path.join(work, 'b.png'), await sharp(shared.mudTurtle).png().toBuffer());
  writeFileSync(path.join(work, 'notes.txt'), 'not an image\n');
  for (const name of ['model.onnx', 'mobilenet_v2_int8_qdq.onnx', path.join('models', 'mobilenet.onnx')])
    symlinkSync(shared.int8Model, path.join(work, name));
  writeFileSync(
    path.join(work, 'labels.txt'),
    `${Array.from({ length: 10 }, (_, i) => `label ${i}`).join('\n')}\n`,
  );
  writeFileSync(
    path.join(work, 'models', 'mobilenet.json'),
    JSON.stringify({ model: 'mobilenet.onnx', recipe: 'resize-224', labels: 'imagenet1k', numClasses: 1000 }),
  );
  symlinkSync(
    path.join(work, 'models', 'mobilenet.json'),
    path.join(work, 'models', 'mobilenet.manifest.json'),
  );
});

describe('TSDoc examples run', () => {
  const all = examples();
  it('finds the examples', () => {
    expect(all.length).toBeGreaterThanOrEqual(15);
  });

  it.each(all.map((e) => [e.where, e] as const))('%s', (_where, example) => {
    const { code, checks } = withChecks(
      example.code
        .replaceAll("'@mtailor/core/internal'", JSON.stringify(internalUrl))
        .replaceAll("'@mtailor/core'", JSON.stringify(coreUrl)),
    );
    const declared = (name: string) =>
      new RegExp(
        `(import\\s*\\{[^}]*\\b${name}\\b[^}]*\\}|(const|let)\\s+(\\{[^}]*\\b${name}\\b[^}]*\\}|${name}\\b))`,
      ).test(code);
    const used = (name: string) => new RegExp(`\\b${name}\\b`).test(code);
    const lines = [PRELUDE];
    const names = Object.keys(core).filter((n) => used(n) && !declared(n));
    if (names.length) lines.push(`const { ${names.join(', ')} } = __core;`);
    if (used('classifier') && !declared('classifier'))
      lines.push("const classifier = await __core.ImageClassifier.create({ model: 'model.onnx' });");
    if (used('files') && !declared('files')) lines.push("const files = ['a.jpg', 'b.jpg'];");
    lines.push(code, `console.log('checks passed: ${checks}');`, 'process.exit(0);');
    const file = path.join(work, `example-${_where.replace(/[^a-z0-9]+/gi, '-')}.mjs`);
    writeFileSync(file, lines.join('\n'));
    const r = spawnSync(process.execPath, [file], { cwd: work, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr.replace(/\(node:\d+\) \[MTAILOR_CUDA_FALLBACK\][^\n]*\n/g, ''), `${file}`).not.toMatch(
      /Error/,
    );
    expect(r.status, `${file}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`checks passed: ${checks}`);
  });
});
