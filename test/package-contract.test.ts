/**
 * The package contract: what someone outside this repository gets from npm.
 *
 * Every publishable package (`packages/*` not marked private) is packed with `pnpm pack` and the tarballs are
 * installed with plain `npm` into a new app in the system's temporary folder — no workspace, no pnpm, no links.
 * The third-party dependencies (sharp, onnxruntime-node, fastify, …) and the newest TypeScript come from an npm
 * cache that `scripts/setup.sh` fills from the registry (`scripts/prime-contract-cache.mjs`); the test installs with
 * `npm install --offline`, so it sends nothing beyond loopback. Without a primed cache it is skipped loudly, except
 * under CI=true, where it fails. `ONNXRUNTIME_NODE_INSTALL=skip` keeps onnxruntime-node's install script from
 * downloading CUDA libraries: everything runs on the CPU build inside its package. One install serves every check:
 *
 * (a) a consumer `.ts` importing every package's public API type-checks with `--strict --module nodenext` and no
 *     `skipLibCheck`, under the repository's TypeScript and the newest one on the registry — alone (so the
 *     packages' `.d.ts` must bring what they need), then with every README example beside it;
 * (b) the README examples (core, preprocess, server, the validator; the converter's too when PyTorch is there) run
 *     from the app against the installed packages, their printed values checked as in readme-examples.test.ts;
 * (c) the installed `mtailor` (help, classify with --model, validate, no model, no command) and `mtailor-server`;
 *     `require()` of every package (Node's require(esm));
 * (d) the tarballs: a README in each, every relative link of every shipped Markdown file resolving inside its
 *     tarball (anchors included), no source maps, every `.d.ts` import a dependency of its package.
 */
import type { SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appEnv,
  appManifest,
  contractCacheDir,
  publishablePackages,
  tarballName,
} from './support/contract-app.mjs';
import {
  type DocBlock,
  exampleModule,
  linkExampleFiles,
  markdownBlocks,
  needsHubStack,
} from './support/doc-examples.js';
import { type ProcessRun as Run, startProcess } from './support/processes.js';
import { hasTorch, repoRoot } from './support/shared-data.js';

/** Runs a command (no shell), collecting its output; never rejects. */
const run = (
  cmd: string,
  args: string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<Run> => startProcess(cmd, args, options).exited;

interface Pkg {
  name: string;
  dir: string;
  json: { name: string; version: string; dependencies?: Record<string, string> };
  tarball: string;
  /** Paths inside the tarball, without the leading `package/`. */
  files: string[];
}

const torch = hasTorch();
const repoTypescript: string = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'))
  .devDependencies.typescript;

/** The packages that are published: every `packages/*` not marked private. */
const packages: Pkg[] = publishablePackages(repoRoot).map((p) => ({ ...p, tarball: '', files: [] }));

let root: string;
let app: string;
/** Environment of every npm/node/tsc run in the app: no pnpm or npm settings inherited from the test runner. */
let env: NodeJS.ProcessEnv;
/** Why the checks below are skipped (no primed npm cache, outside CI), else undefined. */
let offline: string | undefined;
const timings: Record<string, number> = {};

const inApp = (cmd: string, args: string[], extra: NodeJS.ProcessEnv = {}, timeoutMs = 120_000) =>
  run(cmd, args, { cwd: app, env: { ...env, ...extra }, timeoutMs });
const bin = (name: string) => path.join(app, 'node_modules', '.bin', name);
const installed = (pkg: Pkg, ...rel: string[]) =>
  path.join(app, 'node_modules', ...pkg.name.split('/'), ...rel);

beforeAll(async () => {
  const t0 = performance.now();
  root = mkdtempSync(path.join(os.tmpdir(), 'mtailor-contract-'));
  expect(path.relative(repoRoot, root).startsWith('..')).toBe(true);
  const tarballs = path.join(root, 'tarballs');
  app = path.join(root, 'app');
  mkdirSync(tarballs);
  mkdirSync(app);
  env = appEnv(contractCacheDir());
  // Pack each package the way `pnpm publish` does (workspace:* becomes the version).
  const packed = await Promise.all(
    packages.map((p) =>
      run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: p.dir, timeoutMs: 60_000 }),
    ),
  );
  for (const [i, r] of packed.entries())
    expect(r.code, `pnpm pack ${packages[i]!.name}: ${r.stderr}`).toBe(0);
  for (const p of packages) {
    p.tarball = path.join(tarballs, tarballName(p.json));
    expect(existsSync(p.tarball), p.tarball).toBe(true);
    const list = await run('tar', ['-tzf', p.tarball]);
    p.files = list.stdout
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));
  }
  timings.pack = performance.now() - t0;

  // One app, one install: every tarball, both TypeScripts, Node's types.
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify(appManifest(repoRoot, packages, tarballs), null, 2),
  );
  const t1 = performance.now();
  const install = await inApp(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error'],
    {},
    240_000,
  );
  timings.npmInstall = performance.now() - t1;
  if (install.code !== 0) {
    const uncached = /ENOTCACHED|only-if-cached|cache mode/i.test(install.stderr);
    const why = `the npm cache at ${contractCacheDir()} lacks what the packages need (run bash scripts/setup.sh, which primes it with scripts/prime-contract-cache.mjs)`;
    if (uncached && process.env.CI !== 'true') {
      offline = why;
      console.warn(`\n*** SKIPPING the package contract test: ${why} ***\n`);
      return;
    }
    throw new Error(
      `npm install --offline failed (exit ${install.code}); ${uncached ? why : ''}:\n${install.stderr}`,
    );
  }

  // The files the README examples name.
  linkExampleFiles(app);
  for (const p of packages)
    for (const b of shippedBlocks(p)) if (b.writeAs) writeFileSync(path.join(app, b.writeAs), `${b.code}\n`);
  timings.setup = performance.now() - t0;
}, 300_000);

afterAll(() => {
  console.log(
    `package contract: ${Object.entries(timings)
      .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`)
      .join(', ')}`,
  );
  if (root && process.env.MTAILOR_KEEP_CONTRACT_APP !== '1') rmSync(root, { recursive: true, force: true });
});

/** Markdown files shipped in a tarball. */
const shippedDocs = (p: Pkg) => p.files.filter((f) => f.endsWith('.md'));
/** Code blocks of a package's shipped Markdown, read from the installed package. */
function shippedBlocks(p: Pkg): DocBlock[] {
  return shippedDocs(p).flatMap((f) => markdownBlocks(installed(p, f)));
}
/** The README examples to run and type-check: TypeScript blocks not marked skip. */
const tsExamples = (p: Pkg) => shippedBlocks(p).filter((b) => b.lang === 'ts' && !b.skip);

describe('package contract: the tarballs (d)', () => {
  it('are the six packages, each with a README, no source maps, no source map comments', () => {
    expect(packages.map((p) => p.name).sort()).toEqual([
      '@mtailor/cli',
      '@mtailor/converter-bridge',
      '@mtailor/core',
      '@mtailor/native-jpeg',
      '@mtailor/preprocess',
      '@mtailor/server',
    ]);
    for (const p of packages) {
      expect(p.files, p.name).toContain('README.md');
      expect(
        p.files.filter((f) => f.endsWith('.map')),
        p.name,
      ).toEqual([]);
      for (const f of p.files.filter((f) => f.endsWith('.js')))
        expect(readFileSync(installed(p, f), 'utf8'), `${p.name}/${f}`).not.toMatch(/sourceMappingURL=/);
    }
  });

  it('every relative link of every shipped Markdown file resolves inside its tarball', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const p of packages) {
      const inTarball = new Set(p.files);
      const dirs = new Set(
        p.files.flatMap((f) =>
          f
            .split('/')
            .slice(0, -1)
            .map((_, i, a) => a.slice(0, i + 1).join('/')),
        ),
      );
      for (const doc of shippedDocs(p)) {
        const text = readFileSync(installed(p, doc), 'utf8');
        for (const target of markdownLinks(text)) {
          if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
          checked++;
          const [file, anchor] = target.split('#') as [string, string | undefined];
          const resolved =
            file === '' ? doc : path.posix.normalize(path.posix.join(path.posix.dirname(doc), file));
          const where = `${p.name}/${doc}: (${target})`;
          if (resolved.startsWith('..')) problems.push(`${where} leaves the package`);
          else if (!inTarball.has(resolved) && !dirs.has(resolved.replace(/\/$/, '')))
            problems.push(`${where} is not in the tarball`);
          else if (anchor && resolved.endsWith('.md')) {
            const headings = headingSlugs(readFileSync(installed(p, resolved), 'utf8'));
            if (!headings.has(anchor)) problems.push(`${where}: no heading #${anchor} in ${resolved}`);
          }
        }
      }
    }
    console.log(`relative links checked: ${checked}`);
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(6);
  });

  it("every bare import of a shipped .d.ts is the package itself, a Node built-in or one of the package's dependencies", () => {
    const problems: string[] = [];
    for (const p of packages) {
      const allowed = new Set([p.name, ...Object.keys(p.json.dependencies ?? {})]);
      for (const f of p.files.filter((f) => f.endsWith('.d.ts'))) {
        const text = readFileSync(installed(p, f), 'utf8');
        const specs = [
          // Not inside a name: a quoted property such as 'inputs-from' is no import.
          ...text.matchAll(/(?<![-\w$])(?:from\s*|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g),
          ...text.matchAll(/\/\/\/\s*<reference\s+types=['"]([^'"]+)['"]/g),
        ].map((m) => m[1]!);
        for (const spec of specs) {
          if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
          if (!allowed.has(name)) problems.push(`${p.name}/${f} imports ${spec}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

/** Link targets of a Markdown text: inline links and images, reference definitions, HTML href/src. */
function markdownLinks(text: string): string[] {
  const withoutCode = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [
    ...[...withoutCode.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
    ...[...withoutCode.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!),
    ...[...withoutCode.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/g)].map((m) => m[1]!),
  ];
}

/** GitHub-style anchors of a Markdown file's headings. */
function headingSlugs(text: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of text.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

describe('package contract: installed with npm into an app outside the workspace', () => {
  /** The consumer: every package's public API, used with its types. */
  const CONSUMER = `
import { ImageClassifier, ImagePreprocessor, ONNXModel, MtailorError, health, readManifest, IMAGENET1K_LABELS,
  type ClassifyResult, type ClassifyOutcome, type StreamItem, type Prediction, type ImageClassifierOptions,
  type HealthReport, type Manifest } from '@mtailor/core';
import * as core from '@mtailor/core';
import { preprocess, getPreset, resize, resizeShorterSide, centerCrop, toRGB, toTensor, createBatchTensor,
  PreprocessError, type RawImage, type PreprocessRecipe } from '@mtailor/preprocess';
import * as pre from '@mtailor/preprocess';
import { createServer, mtailorPlugin, loadConfig, runServer, STATUS_BY_CODE, type ServerConfig,
  type PredictReply } from '@mtailor/server';
import * as server from '@mtailor/server';
import { convertCheckpoint, validateModel, validateModelBytes, checkParity, formatValidationReport,
  ConverterError, ORT_MAX_OPSET, type ValidationReport, type ParityResult, type ConvertOptions,
  type TensorSummary } from '@mtailor/converter-bridge';
import * as bridge from '@mtailor/converter-bridge';
import * as cli from '@mtailor/cli';

export async function consume(): Promise<void> {
  const options: ImageClassifierOptions = { model: 'model.onnx', recipe: 'imagenet-eval', resize: 'exact' };
  const classifier = await ImageClassifier.create(options);
  const one: ClassifyResult = await classifier.classify('a.jpg', { topK: 3 });
  const best: Prediction | undefined = one.predictions[0];
  const all: ClassifyOutcome[] = await classifier.classifyBatch(['a.jpg', new Uint8Array(4)]);
  for await (const item of classifier.classifyStream(['a.jpg'])) {
    const s: StreamItem<string> = item;
    if (!s.ok) s.error satisfies MtailorError;
  }
  const report: HealthReport = await health(classifier);
  await classifier.close();
  const manifest: Manifest = await readManifest('model.json');
  const tensor: Float32Array = (await new ImagePreprocessor({ resize: 'fast' }).process('a.jpg')).tensor;
  const model = await ONNXModel.load('model.onnx');
  const logits: Float32Array = await model.run(tensor, 1);
  model.dispose();
  const image: RawImage = { data: new Uint8Array(12), width: 2, height: 2, channels: 3 };
  const recipe: PreprocessRecipe = getPreset('resize-224');
  const t: Float32Array = preprocess(image, recipe).tensor;
  toTensor(centerCrop(resizeShorterSide(resize(toRGB(image), { width: 4, height: 4 }), { size: 2 }), { width: 2, height: 2 }));
  createBatchTensor([image]);
  const config: ServerConfig = loadConfig({ MTAILOR_MODEL: 'model.onnx' });
  const app = await createServer(config);
  await app.register(mtailorPlugin, { prefix: '/ml', config });
  const status: number = STATUS_BY_CODE.NOT_READY;
  const reply: PredictReply | undefined = undefined;
  const validation: ValidationReport = await validateModel('model.onnx', { numClasses: 1000 });
  const inputs: TensorSummary[] | undefined = validation.model?.inputs;
  const parity: ParityResult = await checkParity('model.onnx', 'model.onnx.parity.json');
  const text: string = formatValidationReport(validation, 'model.onnx', parity);
  const convert: ConvertOptions = { arch: 'resnet18', weights: 'w.pth', out: 'm.onnx' };
  await convertCheckpoint(convert);
  validateModelBytes(new Uint8Array(0));
  void [best, all, report, manifest, logits, t, status, reply, inputs, text, ORT_MAX_OPSET, IMAGENET1K_LABELS,
    runServer, MtailorError, PreprocessError, ConverterError, core, pre, server, bridge, cli];
}
`;

  /** Type-checks files in the app with one TypeScript; `types` adds @types/node for code using Node's globals. */
  async function typecheck(compiler: string, files: string[], types: boolean): Promise<Run> {
    const tsc = path.join(app, 'node_modules', compiler, 'bin', 'tsc');
    return inApp(process.execPath, [
      tsc,
      '--strict',
      '--module',
      'nodenext',
      '--noEmit',
      ...(types ? ['--types', 'node'] : []),
      ...files,
    ]);
  }

  for (const compiler of ['typescript', 'typescript-latest']) {
    const which =
      compiler === 'typescript' ? "the repository's TypeScript" : 'the newest TypeScript on the registry';
    it(`(a) the public API and every README example type-check under ${which}, strict, module nodenext, no skipLibCheck`, async (ctx) => {
      if (offline) return ctx.skip();
      const version = JSON.parse(
        readFileSync(path.join(app, 'node_modules', compiler, 'package.json'), 'utf8'),
      ).version as string;
      console.log(`${compiler}: TypeScript ${version}`);
      if (compiler === 'typescript') expect(version).toBe(repoTypescript);
      writeFileSync(path.join(app, 'consumer.ts'), CONSUMER);
      if (compiler === 'typescript-latest') {
        // The consumer alone, without naming any types (TypeScript ≥ 6 then loads no @types package): whatever
        // the packages' .d.ts need, they must bring themselves.
        const alone = await typecheck(compiler, ['consumer.ts'], false);
        expect(`${alone.stdout}${alone.stderr}`).toBe('');
        expect(alone.code).toBe(0);
      }
      // With the README examples, as a reader would paste them into a TypeScript project (with @types/node).
      const dir = path.join(app, `readme-ts-${compiler}`);
      mkdirSync(dir, { recursive: true });
      const files = ['consumer.ts'];
      for (const p of packages)
        for (const b of tsExamples(p)) {
          const file = path.join(dir, `${b.where.replace(/[^a-z0-9]+/gi, '-')}.ts`);
          writeFileSync(file, `${b.code}\nexport {};\n`);
          files.push(path.relative(app, file));
        }
      const all = await typecheck(compiler, files, true);
      timings[`tsc ${version}`] = all.ms;
      expect(`${all.stdout}${all.stderr}`).toBe('');
      expect(all.code).toBe(0);
      expect(files.length, 'consumer.ts and the README examples').toBeGreaterThanOrEqual(12);
    });
  }

  /** Runs a README example from the app: imports resolve to the installed packages. */
  async function runExample(b: DocBlock): Promise<void> {
    const { code, checks, unchecked } = exampleModule(b.code);
    expect(unchecked, b.where).toEqual([]);
    const file = path.join(app, `${b.where.replace(/[^a-z0-9]+/gi, '-')}.mjs`);
    writeFileSync(file, code);
    const r = await inApp(process.execPath, [file], { PORT: '0' });
    expect(r.signal, `${b.where} did not end on its own`).toBeNull();
    expect(r.stderr.replace(/\(node:\d+\) \[MTAILOR_CUDA_FALLBACK\][^\n]*\n/g, ''), b.where).not.toMatch(
      /Error|Warning/,
    );
    expect(r.code, `${b.where}\n${r.stderr}`).toBe(0);
    expect(r.stdout, b.where).toContain(`checks passed: ${checks} of ${checks}`);
  }

  it('(b) every README example of core, preprocess and server, and the validator example, runs against the installed packages', async (ctx) => {
    if (offline) return ctx.skip();
    const started = performance.now();
    const names: string[] = [];
    for (const p of packages) {
      for (const b of tsExamples(p)) {
        if (b.code.includes('convertCheckpoint(')) continue; // needs PyTorch: the next test
        names.push(b.where);
        await runExample(b);
      }
    }
    timings.examples = performance.now() - started;
    for (const wanted of [
      'core/README.md',
      'preprocess/README.md',
      'server/README.md',
      'converter-bridge/README.md',
    ])
      expect(
        names.some((n) => n.startsWith(wanted)),
        `${wanted}: no example ran`,
      ).toBe(true);
  });

  it.skipIf(!torch)(
    '(b) the converter example exports with the shipped Python script and proves parity',
    async (ctx) => {
      if (offline) return ctx.skip();
      // The timm / Hugging Face examples need today's stack and its models: test/readme-examples.test.ts runs them.
      const convert = packages
        .flatMap((p) => tsExamples(p))
        .filter((b) => b.code.includes('convertCheckpoint(') && !needsHubStack(b));
      expect(convert.length).toBeGreaterThan(0);
      for (const b of convert) await runExample(b);
    },
  );

  it('(c) the installed mtailor: --help, classify --model, validate; no model and no command are usage errors', async (ctx) => {
    if (offline) return ctx.skip();
    const noModel = { MTAILOR_MODEL: undefined };
    const help = await inApp(bin('mtailor'), ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: mtailor <command>[\s\S]*classify[\s\S]*convert[\s\S]*validate/);

    const classify = await inApp(
      bin('mtailor'),
      ['classify', 'n01440764_tench.JPEG', '--model', 'model.onnx', '--top-k', '2'],
      noModel,
    );
    expect(classify.code, classify.stderr).toBe(0);
    expect(classify.stdout).toMatch(/^n01440764_tench\.JPEG {2}tench \(0\) 99\.24% · barracouta \(389\) /);

    const validate = await inApp(bin('mtailor'), ['validate', 'model.onnx']);
    expect(validate.code, validate.stderr).toBe(0);
    expect(validate.stdout).toMatch(/^model\.onnx: VALID\n/);

    // Outside the repository there is no default model: exactly what to pass, exit 2.
    const none = await inApp(bin('mtailor'), ['classify', 'n01440764_tench.JPEG'], noModel);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('mtailor classify: no model given. Pass one of:\n  --model <file.onnx>');
    expect(none.stderr).toContain('mtailor convert --arch');

    const noCommand = await inApp(bin('mtailor'), []);
    expect(noCommand.code).toBe(2);
    expect(noCommand.stderr).toContain('mtailor: no command given');

    const server = await inApp(bin('mtailor-server'), [], noModel, 30_000);
    expect(server.code).toBe(2);
    expect(server.stderr).toContain('MTAILOR_MODEL: not set; set it to your ONNX image classifier');
  });

  it("(c) require() of every package works (Node's require(esm), Node ≥ 20.19)", async (ctx) => {
    if (offline) return ctx.skip();
    const names = packages.map((p) => p.name);
    const r = await inApp(process.execPath, [
      '-e',
      `for (const n of ${JSON.stringify(names)}) console.log(n, Object.keys(require(n)).length);`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/@mtailor\/core \d+/);
  });
});
