// Bindings only the tests have (see vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    TEST_FORM_TOKEN: string;
    TEST_HMAC_SECRET: string;
    TEST_HMAC_SECRET_OLD: string;
    TEST_WHSEC: string;
    TEST_TURNSTILE_SECRET: string;
    TEST_TURNSTILE_WRONG: string;
    ORDERING_PAIRS: string;
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
  }
}
