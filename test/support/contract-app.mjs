// The package-contract app, shared by the test (test/package-contract.test.ts) and by scripts/setup.sh's priming step
// (scripts/prime-contract-cache.mjs): which packages are published, how they are packed, the app's package.json,
// and the npm cache the test installs from. The registry is contacted only when the cache is primed (setup, like
// `pnpm install`); the test itself installs with `npm install --offline`, so it sends nothing beyond loopback.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where the contract's npm cache lives: MTAILOR_CONTRACT_NPM_CACHE, else under XDG_CACHE_HOME (or ~/.cache). */
export function contractCacheDir(env = process.env) {
  if (env.MTAILOR_CONTRACT_NPM_CACHE) return path.resolve(env.MTAILOR_CONTRACT_NPM_CACHE);
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'mtailor', 'contract-npm-cache');
}

/** The published packages: every `packages/*` not marked private. */
export function publishablePackages(repoRoot) {
  return readdirSync(path.join(repoRoot, 'packages'))
    .map((d) => path.join(repoRoot, 'packages', d))
    .filter((dir) => existsSync(path.join(dir, 'package.json')))
    .map((dir) => ({ dir, json: JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) }))
    .filter(({ json }) => json.private !== true)
    .map(({ dir, json }) => ({ name: json.name, dir, json }));
}

/** The tarball `pnpm pack` writes for a package. */
export function tarballName(json) {
  return `${json.name.replace(/^@/, '').replace('/', '-')}-${json.version}.tgz`;
}

/**
 * The app's package.json: every tarball, the repository's TypeScript and the newest one, Node's types; overrides make
 * the packages' dependencies on each other use the tarballs too.
 */
export function appManifest(repoRoot, packages, tarballsDir) {
  const rootJson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  const dependencies = {
    typescript: rootJson.devDependencies.typescript,
    'typescript-latest': 'npm:typescript@latest',
    '@types/node': rootJson.devDependencies['@types/node'],
  };
  const overrides = {};
  for (const p of packages) {
    dependencies[p.name] = `file:${path.join(tarballsDir, tarballName(p.json))}`;
    overrides[p.name] = `$${p.name}`;
  }
  return { name: 'contract-app', private: true, type: 'module', dependencies, overrides };
}

/** The environment of npm and the app's commands: nothing inherited from pnpm or the test runner, our own cache. */
export function appEnv(cacheDir, env = process.env) {
  const clean = Object.fromEntries(
    Object.entries(env).filter(
      ([k]) =>
        !/^(npm_|pnpm_|NODE_OPTIONS$|VITEST|TS_NODE)/i.test(k) || k.toLowerCase() === 'npm_config_registry',
    ),
  );
  return {
    ...clean,
    npm_config_cache: cacheDir,
    npm_config_update_notifier: 'false',
    ONNXRUNTIME_NODE_INSTALL: 'skip',
  };
}

/** `pnpm pack` of every package into `destDir`, synchronously (the priming script). */
export function packAllSync(packages, destDir) {
  for (const p of packages) {
    const r = spawnSync('pnpm', ['pack', '--pack-destination', destDir], { cwd: p.dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`pnpm pack ${p.name} failed:\n${r.stderr}`);
  }
}
