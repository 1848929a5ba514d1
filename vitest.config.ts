import { defineConfig } from 'vitest/config';

// With DATABASE_URL the suite runs against that PostgreSQL server (each test file in its own
// database cloned from one migrated template); without it, on embedded PGlite (each file loads
// one migrated data directory). *.pg.test.ts files need a server and run only in the first mode.
const onPostgres = !!process.env.DATABASE_URL;

export default defineConfig({
  test: {
    // web/e2e: browser tests (Chromium) against a started server, see web/e2e/support; web/src:
    // unit tests of the dashboard's pure modules (formatting, rules), which need no DOM.
    include: [
      'src/**/*.test.ts',
      'bench/**/*.test.ts',
      'web/e2e/**/*.e2e.test.ts',
      'web/src/**/*.test.ts',
    ],
    exclude: ['node_modules/**', 'web/dist/**', ...(onPostgres ? [] : ['src/**/*.pg.test.ts'])],
    globalSetup: ['src/test/global-setup.ts'],
    setupFiles: ['src/test/setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll waits for something that happens in another process (a browser, a socket's
    // peer, a server's timer). Its 1-s default failed under CI's load while the awaited thing
    // was merely slow; 20 s matches the browser's action timeout (web/e2e/support/browser.ts).
    // A poll only ever waits for what must come, so a longer wait costs nothing when it passes.
    expect: { poll: { timeout: 20_000 } },
    env: { NODE_ENV: 'test' },
  },
});
