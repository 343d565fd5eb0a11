import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/**
 * Tests run inside workerd with real local KV and D1 (migrations applied in test/setup.ts).
 * The stand-in CRM runs in Node (test/global-setup.ts) and is reached over real HTTP.
 */
export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      main: './src/index.ts',
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          CRM_BASE_URL: inject<string>('crmUrl'),
          CRM_API_TOKEN: 'test-crm-token',
          CRM_TIMEOUT_MS: '1500',
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
    include: ['test/**/*.test.ts'],
    exclude: ['test/node/**', 'test/e2e/**'],
    globalSetup: ['./test/global-setup.ts'],
    setupFiles: ['./test/setup.ts'],
  },
});
