#!/usr/bin/env node
/**
 * Builds the addon with node-gyp at install. Never fails the install: without a C compiler, node-gyp or
 * libjpeg-turbo's headers (Debian/Ubuntu: `libjpeg-turbo8-dev` or `libjpeg62-turbo-dev`; Fedora:
 * `libjpeg-turbo-devel`; macOS: `brew install jpeg-turbo`) it says so and leaves no binary, and `@mtailor/core`
 * decodes every JPEG with sharp instead — the same pixels, at sharp's cost.
 *
 * node-gyp comes from the package manager running the install (`npm_config_node_gyp`), else `node-gyp` on PATH,
 * else the one npm ships beside Node. Node's headers: the ones installed beside this Node when present (no download;
 * official Node builds and Linux distributions install them), else node-gyp fetches them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const prefix = path.dirname(path.dirname(process.execPath));
const bundled = path.join(
  prefix,
  'lib',
  'node_modules',
  'npm',
  'node_modules',
  'node-gyp',
  'bin',
  'node-gyp.js',
);
const nodeGyp = process.env.npm_config_node_gyp || (existsSync(bundled) ? bundled : undefined);
const localHeaders = existsSync(path.join(prefix, 'include', 'node', 'common.gypi'));
const args = ['rebuild', ...(localHeaders ? [`--nodedir=${prefix}`] : [])];
const run = nodeGyp
  ? spawnSync(process.execPath, [nodeGyp, ...args], { cwd: here, stdio: 'inherit' })
  : spawnSync('node-gyp', args, { cwd: here, stdio: 'inherit', shell: process.platform === 'win32' });
if (run.status !== 0)
  console.warn(
    '@mtailor/native-jpeg: not built (needs a C compiler and libjpeg-turbo headers); JPEGs are decoded with sharp',
  );
