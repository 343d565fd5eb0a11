import { defineConfig } from 'vitest/config';

/** Tests that need Node rather than workerd (they run wrangler itself): `npm test` runs them after the workerd suite. */
export default defineConfig({ test: { include: ['test/node/**/*.test.ts'], environment: 'node' } });
