import { defineConfig } from 'vitest/config';

// No `import` here: Vitest hands these to Node as --conditions for external packages, and Node then
// applies them to `require` too, so a dual package required from CommonJS (pg requires pg-pool)
// would get its ES module. Vite adds `import` by itself where an import resolves.
const conditions = ['@leadpipe/source', 'module', 'node', 'default'];
const nodeConditions = ['@leadpipe/source', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions: nodeConditions, externalConditions: ['@leadpipe/source'] } },
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**/*.ts'],
      reporter: ['json-summary', 'text-summary'],
      reportsDirectory: 'coverage',
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'examples/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.integration.test.ts'],
          globalSetup: ['./scripts/integration-setup.ts'],
        },
      },
    ],
  },
});
