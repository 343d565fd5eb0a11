import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/**
 * Every test suite in one config, as projects:
 * - `workers`: inside workerd with real local KV, D1 (migrations applied in test/setup.ts) and Queues; the stand-in
 *   CRM runs in Node (test/global-setup.ts) and is reached over real HTTP;
 * - `node`: tests that run wrangler or the repository's scripts themselves (bundle budget, deploy, layers);
 * - `e2e`: the console in Debian's Chromium against the built Worker (npm run test:e2e);
 * - `unit`: pure functions (no bindings) in Node, without workerd's start-up;
 * - `openapi`, `bench-cpu`: build-time tools run through vitest (npm run openapi, npm run bench).
 * `npm test` runs `workers`, `node` and `unit`. A passing test's console output (what a test provokes on purpose: a
 * crash mid-call, a refused secret) is not printed; a failing one's is, whole.
 */
// wrangler reads wrangler.toml for every test file and says "Using secrets defined in .dev.vars" each time: only its
// warnings and errors are shown (the bindings the tests use are set below). A test that runs wrangler and reads what
// it logs sets WRANGLER_LOG itself (test/node/bundle.test.ts).
process.env.WRANGLER_LOG ??= 'warn';

// What workerd itself prints when a test cuts a connection on purpose (the stand-in CRM dropping a call, a closed
// port; workerd reports the first as an uncaught rejection even when the fetch is awaited and caught): the plugin
// filters workerd's other disconnection lines the same way. The test still asserts what the
// adapter made of it (the row's reason, the retry). `WORKERD_NOISE=1 npm test` prints them.
const EXPECTED_WORKERD_LINES = [
  'disconnected: client error (SendRequest)',
  'Network connection lost.',
  'disconnected: Connection refused (os error 111)',
  'disconnected: read end of pipe was aborted',
];
if (!process.env.WORKERD_NOISE) {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      // only workerd's own lines (they start so), never a test's report that quotes the same words
      const workerd = text.startsWith('exception = ') || text.startsWith('uncaught exception;');
      if (workerd && EXPECTED_WORKERD_LINES.some((line) => text.includes(line))) return true;
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}

export default defineConfig({
  test: {
    // what a passing test logs (the failures it provokes on purpose) stays quiet; a failing test's logs are shown
    silent: 'passed-only',
    projects: [
      {
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            main: './test/worker-main.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              // /console reaches the console Worker's code through a real service binding (test/worker-main.ts)
              serviceBindings: { CONSOLE: { name: 'crm-webhook-adapter', entrypoint: 'ConsoleWorker' } },
              bindings: {
                CRM_BASE_URL: inject<string>('crmUrl'),
                CRM_API_TOKEN: 'test-crm-token',
                CRM_TIMEOUT_MS: '1500',
                // the stand-in CRM's create call (tools/crm-stub/state.ts CREATE_PATH); endpoints create only with onUnmatched: create
                CRM_CREATE_PATH: '/api/moduleData/add',
                // every test has its own product line, so its own CRM limits and pause (test/coordination.test.ts sets
                // tight ones); these defaults never hold a test back
                CRM_LIMIT_SCOPE: 'product-line',
                CRM_MAX_CONCURRENCY: '1000',
                CRM_MAX_PER_SECOND: '100000',
                CRM_PAUSE_AFTER_FAILURES: '1000',
                // pairs per ordering case (test/ordering.test.ts); `ORDERING_PAIRS=100 npm test` runs the 100
                ORDERING_PAIRS: process.env.ORDERING_PAIRS ?? '10',
                ADMIN_TOKEN: 'test-admin-token',
                SECRETS_KEY: 'test-secrets-key-0123456789abcdef0123',
                TURNSTILE_VERIFY_URL: `${inject<string>('crmUrl')}/turnstile/v0/siteverify`,
                // Cloudflare's published always-passes Turnstile test secret (the stand-in accepts only it)
                TEST_TURNSTILE_SECRET: '1x0000000000000000000000000000000AA',
                TEST_TURNSTILE_WRONG: '2x0000000000000000000000000000000AA',
                // endpoint secrets named by the tests' configurations
                TEST_FORM_TOKEN: 'form-token-2f9c',
                TEST_HMAC_SECRET: 'fixture-secret-2f9c',
                TEST_HMAC_SECRET_OLD: 'old-secret-1a2b',
                // whsec_ + base64("standard-webhooks-key-32-bytes!!")
                TEST_WHSEC: 'whsec_c3RhbmRhcmQtd2ViaG9va3Mta2V5LTMyLWJ5dGVzISE=',
                TEST_MIGRATIONS: await readD1Migrations('./migrations'),
              },
            },
          })),
        ],
        test: {
          name: 'workers',
          include: ['test/**/*.test.ts'],
          exclude: ['test/node/**', 'test/e2e/**', 'test/unit/**'],
          globalSetup: ['./test/global-setup.ts'],
          setupFiles: ['./test/setup.ts'],
        },
      },
      { test: { name: 'node', include: ['test/node/**/*.test.ts'], environment: 'node' } },
      // pure functions (redaction, the fast path, the CRM client's classification): no workerd start-up to pay
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' } },
      {
        test: { name: 'e2e', include: ['test/e2e/**/*.e2e.test.ts'], environment: 'node', testTimeout: 60_000, hookTimeout: 240_000, fileParallelism: false },
      },
      { test: { name: 'openapi', include: ['scripts/openapi.gen.ts'], environment: 'node' } },
      { test: { name: 'bench-cpu', include: ['bench/cpu.bench-run.ts'], environment: 'node' } },
    ],
  },
});
