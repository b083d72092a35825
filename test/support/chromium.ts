/**
 * Chromium for the browser tests, following the PyTorch rule of `test/support/shared-data.ts`: a missing
 * Chromium skips the tests with a loud notice, and fails them under `CI=true`.
 */
import { CHROMIUM_ARGS, chromiumPath, hasChromiumExecutable } from '@mtailor/example-browser';
import { type Browser, chromium } from 'playwright-core';

/** Whether Chromium is installed (throws under `CI=true` when it is not). */
export function hasChromium(): boolean {
  const ok = hasChromiumExecutable();
  if (!ok) {
    const msg = `Chromium not found at ${chromiumPath()} (install Debian's chromium, or set MTAILOR_CHROMIUM)`;
    if (process.env.CI === 'true') throw new Error(`CI=true but ${msg}`);
    console.warn(`\n*** SKIPPING browser tests: ${msg} ***\n`);
  }
  return ok;
}

/** Starts the system Chromium, headless. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: [...CHROMIUM_ARGS], headless: true });
}
