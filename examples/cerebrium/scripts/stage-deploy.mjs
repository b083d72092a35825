#!/usr/bin/env node
/**
 * Stages the build context of the server image: `examples/cerebrium/.deploy/` gets the repository's source files
 * (tracked or new, not ignored — no node_modules, no dist), this example's Dockerfile and cerebrium.toml at its
 * root, and the model to serve as `model/model.onnx`. Then `docker build .deploy` or `cd .deploy && cerebrium
 * deploy` builds exactly that.
 *
 * Usage: node scripts/stage-deploy.mjs [--model path/to/model.onnx] [--out dir]
 * The model defaults to MTAILOR_MODEL, else the shared int8 MobileNetV2 beside the repository.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const example = path.resolve(here, '..');
const repo = path.resolve(example, '../..');
const { values } = parseArgs({
  options: { model: { type: 'string' }, out: { type: 'string' } },
});
const model = path.resolve(
  values.model ??
    process.env.MTAILOR_MODEL ??
    path.join(repo, '..', 'shared', 'models', 'mobilenet_v2_int8_qdq.onnx'),
);
const out = path.resolve(values.out ?? path.join(example, '.deploy'));
if (!existsSync(model)) {
  console.error(`stage-deploy: no model at ${model} (pass --model or set MTAILOR_MODEL)`);
  process.exit(2);
}

rmSync(out, { recursive: true, force: true });
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
  cwd: repo,
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
})
  .split('\0')
  .filter((f) => f && existsSync(path.join(repo, f)));
for (const file of files) {
  const target = path.join(out, file);
  mkdirSync(path.dirname(target), { recursive: true });
  copyFileSync(path.join(repo, file), target);
}
copyFileSync(path.join(example, 'Dockerfile'), path.join(out, 'Dockerfile'));
copyFileSync(path.join(example, 'cerebrium.toml'), path.join(out, 'cerebrium.toml'));
mkdirSync(path.join(out, 'model'), { recursive: true });
copyFileSync(model, path.join(out, 'model', 'model.onnx'));
console.log(`staged ${files.length} files + model ${model} in ${out}`);
console.log(`next: docker build -t mtailor-server ${path.relative(process.cwd(), out) || '.'}`);
console.log(`  or: cd ${path.relative(process.cwd(), out) || '.'} && cerebrium deploy`);
