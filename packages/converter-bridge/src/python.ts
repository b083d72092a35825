/**
 * Which Python runs the export script, and where the script is.
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of `python/export_onnx.py` inside this package (shipped in the npm tarball). */
export const exportScriptPath: string = fileURLToPath(new URL('../python/export_onnx.py', import.meta.url));

/**
 * The interpreter to run: the explicit option, else `MTAILOR_PYTHON`, else `/usr/bin/python3` when it exists
 * (on Debian/Ubuntu the system Python is the one apt's python3-torch installs into, while a pyenv/venv `python3`
 * first on PATH usually lacks torch), else `python3` from PATH.
 *
 * @example
 * ```ts
 * resolvePython(); // '/usr/bin/python3' on Debian, unless MTAILOR_PYTHON is set
 * ```
 */
export function resolvePython(explicit?: string): string {
  if (explicit) return explicit;
  const fromEnv = process.env.MTAILOR_PYTHON;
  if (fromEnv) return fromEnv;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}
