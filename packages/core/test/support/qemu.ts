/**
 * Node + onnxruntime under `qemu-x86_64` with an AVX2 CPU without VNNI (Haswell), so that the int8 tests see the
 * CPU whose U8S8 kernels saturate on any x86-64 machine, VNNI or not. `scripts/setup.sh` installs Debian's
 * qemu-user; under `CI=true` a missing qemu is an error, not a skip.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../../../../test/support/shared-data.js';

/** Haswell: AVX2 + FMA, no AVX-512, no VNNI. The features qemu's TCG cannot emulate are turned off so it does not warn. */
export const QEMU_CPU = 'Haswell-v4,-pcid,-x2apic,-tsc-deadline,-invpcid';

const QEMU = process.env.MTAILOR_QEMU_X86_64 ?? 'qemu-x86_64';

/** Whether qemu-x86_64 can run here (an x86-64 host with qemu-user). */
export function hasQemu(): boolean {
  let ok = false;
  if (process.arch === 'x64')
    try {
      execFileSync(QEMU, ['--version'], { stdio: 'ignore', timeout: 30_000 });
      ok = true;
    } catch {
      ok = false;
    }
  if (!ok) {
    if (process.env.CI === 'true' && process.arch === 'x64')
      throw new Error(`CI=true but ${QEMU} cannot run: install Debian's qemu-user (scripts/setup.sh does)`);
    console.warn(
      `\n*** SKIPPING the AVX2-without-VNNI int8 tests: no ${QEMU} on this ${process.arch} host ***\n`,
    );
  }
  return ok;
}

/** The script that runs a model under each int8Kernels mode and prints JSON. */
export const RUN_INT8_MODEL = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures-scripts',
  'run-int8-model.mjs',
);

/** Runs `node <args…>` under qemu's Haswell CPU and returns its stdout. */
export function nodeUnderQemu(args: string[], timeoutMs = 240_000): string {
  return execFileSync(QEMU, ['-cpu', QEMU_CPU, process.execPath, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * `scripts/run-on-cpu.sh`: the same AVX2-without-VNNI CPU at native speed (CPUID faulting and a masked
 * /proc/cpuinfo), where the CPU and kernel offer CPUID faulting. Not every machine does (CI's may not), so a test
 * on it is skipped loudly there, also under `CI=true`: the qemu-x86_64 tests above are the guarantee.
 */
export const RUN_ON_CPU = path.join(repoRoot, 'scripts', 'run-on-cpu.sh');

/** Whether `scripts/run-on-cpu.sh --cpu avx2` works here; says loudly why not when it does not. */
export function hasRunOnCpu(): boolean {
  let why = '';
  if (process.arch !== 'x64') why = `${process.arch} is not x86-64`;
  else {
    const r = spawnSync(RUN_ON_CPU, ['--', 'true'], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 120_000,
    });
    // Its WARNING: /proc/cpuinfo keeps every flag (not root), and the tests check what @mtailor/core reads there.
    if (r.status !== 0 || r.stderr.includes('WARNING'))
      why = (r.stderr || String(r.error ?? r.status)).trim();
  }
  if (why) console.warn(`\n*** SKIPPING the native-speed AVX2 int8 tests: ${why} ***\n`);
  return !why;
}

/** Runs `node <args…>` through `scripts/run-on-cpu.sh --cpu avx2` and returns its stdout. */
export function nodeOnAvx2Cpu(args: string[], timeoutMs = 120_000): string {
  return execFileSync(RUN_ON_CPU, ['--quiet', '--cpu', 'avx2', '--', process.execPath, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
