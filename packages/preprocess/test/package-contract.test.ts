/** The package's promises to users: zero runtime dependencies, no Node APIs in what it ships (runs in browsers). */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? jsFiles(path.join(dir, e.name))
      : e.name.endsWith('.js')
        ? [path.join(dir, e.name)]
        : [],
  );
}

it('has no runtime dependencies', () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  expect(pkg.dependencies ?? {}).toEqual({});
  expect(pkg.peerDependencies ?? {}).toEqual({});
});

it('ships no Node-only API (imports of node:*, require, process, Buffer) in dist', () => {
  const files = jsFiles(path.join(root, 'dist'));
  expect(files.length).toBeGreaterThan(10);
  const offenders = files.filter((f) => {
    const code = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    return /from ['"](node:|fs|path|os|crypto)|require\(|\bprocess\.|\bBuffer\./.test(code);
  });
  expect(offenders).toEqual([]);
  // Every import in dist is relative (nothing from node_modules at run time).
  for (const f of files) {
    for (const m of readFileSync(f, 'utf8').matchAll(/^import .* from ['"]([^'"]+)['"]/gm)) {
      expect(m[1], `${path.relative(root, f)} imports ${m[1]}`).toMatch(/^\.\.?\//);
    }
  }
});
