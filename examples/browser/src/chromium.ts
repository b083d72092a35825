/**
 * Where the tests and the bench find Chromium, and how they start it. No browser is downloaded: the system's
 * Chromium (Debian's `chromium` package, installed by `scripts/setup.sh`) is driven by `playwright-core`.
 * @module
 */
import { existsSync } from 'node:fs';

/**
 * The Chromium executable: `MTAILOR_CHROMIUM`, else `/usr/bin/chromium`.
 *
 * @example
 * ```ts
 * import { chromium } from 'playwright-core';
 * import { CHROMIUM_ARGS, chromiumPath } from '@mtailor/example-browser';
 * const browser = await chromium.launch({ executablePath: chromiumPath(), args: [...CHROMIUM_ARGS] });
 * ```
 */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.MTAILOR_CHROMIUM || '/usr/bin/chromium';
}

/**
 * Whether {@link chromiumPath} exists.
 *
 * @example
 * ```ts
 * if (!hasChromiumExecutable()) console.warn('install chromium (apt-get install chromium)');
 * ```
 */
export function hasChromiumExecutable(env: NodeJS.ProcessEnv = process.env): boolean {
  return existsSync(chromiumPath(env));
}

/**
 * Launch flags: no sandbox (tests run as root in containers), software rendering, and nothing that talks to the
 * network on its own (QUIC, component updates, sync, background services), so all traffic stays on loopback.
 *
 * @example
 * ```ts
 * await chromium.launch({ executablePath: chromiumPath(), args: [...CHROMIUM_ARGS] });
 * ```
 */
export const CHROMIUM_ARGS: readonly string[] = Object.freeze([
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);
