/** Types of `contract-app.mjs` (see there). */
export interface PublishablePackage {
  name: string;
  dir: string;
  json: { name: string; version: string; private?: boolean; dependencies?: Record<string, string> };
}
export function contractCacheDir(env?: NodeJS.ProcessEnv): string;
export function publishablePackages(repoRoot: string): PublishablePackage[];
export function tarballName(json: { name: string; version: string }): string;
export function appManifest(
  repoRoot: string,
  packages: PublishablePackage[],
  tarballsDir: string,
): Record<string, unknown>;
export function appEnv(cacheDir: string, env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export function packAllSync(packages: PublishablePackage[], destDir: string): void;
