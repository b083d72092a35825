import { defineConfig } from 'vitest/config';

// One runner for the whole workspace. Tests import workspace packages by name, which resolves to their
// built `dist/` (the root `test` script builds first), so what is tested is what users get.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
