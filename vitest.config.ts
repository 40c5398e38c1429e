import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // End-to-end suites start real servers and browsers on loopback; keep the 2-core machines from thrashing.
    maxWorkers: 2,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['packages/{collector,cli}/src/**/*.test.ts', 'test/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      {
        extends: true,
        define: { __FOOTFALL_VERSION__: JSON.stringify('0.0.0-test') },
        test: {
          name: 'panel',
          include: ['packages/{browser,panel,app}/src/**/*.test.{ts,tsx}'],
          environment: 'jsdom',
          setupFiles: ['packages/browser/src/test-setup.ts'],
          // The real @grafana packages only load through the test transformer (CSS imports, CJS/ESM mixes).
          server: { deps: { inline: [/@grafana\//] } },
        },
      },
    ],
  },
});
