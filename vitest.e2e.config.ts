import { defineConfig } from 'vitest/config';

/** Browser tests of the console (test/e2e/): Node drives Debian's Chromium against the Worker in workerd. */
export default defineConfig({
  test: { include: ['test/e2e/**/*.e2e.test.ts'], environment: 'node', testTimeout: 60_000, hookTimeout: 240_000, fileParallelism: false },
});
