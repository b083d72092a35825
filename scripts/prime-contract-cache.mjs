#!/usr/bin/env node
// Fills the npm cache the package contract test installs from (test/package-contract.test.ts installs with
// `npm install --offline`, so the test itself never contacts the registry): packs the packages, installs them the
// way the test does, once, with network. Run by scripts/setup.sh after the build; safe to re-run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  appEnv,
  appManifest,
  contractCacheDir,
  packAllSync,
  publishablePackages,
} from '../test/support/contract-app.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = contractCacheDir();
const work = mkdtempSync(path.join(os.tmpdir(), 'mtailor-contract-prime-'));
try {
  const tarballs = path.join(work, 'tarballs');
  const app = path.join(work, 'app');
  mkdirSync(tarballs);
  mkdirSync(app);
  const packages = publishablePackages(repoRoot);
  packAllSync(packages, tarballs);
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify(appManifest(repoRoot, packages, tarballs), null, 2),
  );
  const r = spawnSync('npm', ['install', '--prefer-online', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: app,
    env: appEnv(cache),
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    console.error(`prime-contract-cache: npm install failed (exit ${r.status}):\n${r.stderr}`);
    process.exit(1);
  }
  console.log(`prime-contract-cache: npm cache for the package contract test in ${cache}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
