import * as z from '../shared/zod';
import { sentences } from '../shared/text';

/**
 * The adapter's own variables and secrets (both wrangler tomls' `[vars]`, and the secrets README lists).
 * An endpoint may never verify against one of them: `CRM_AUTH_SCHEME` would make `?token=Bearer` pass.
 * `test/node/console-config.test.ts` fails when a var is added to a toml but not here.
 */
export const ADAPTER_VARIABLES: ReadonlySet<string> = new Set([
  'CRM_API_TOKEN',
  'ADMIN_TOKEN',
  'SECRETS_KEY',
  'CRM_BASE_URL',
  'CRM_AUTH_HEADER',
  'CRM_AUTH_SCHEME',
  'CRM_TIMEOUT_MS',
  'CRM_CREATE_PATH',
  'CRM_MAX_CONCURRENCY',
  'CRM_MAX_PER_SECOND',
  'CRM_PAUSE_AFTER_FAILURES',
  'CRM_LIMIT_SCOPE',
  'REDRIVE_AFTER_MINUTES',
  'RAW_RETENTION_DAYS',
  'LOG_RETENTION_DAYS',
  'NOTIFY_URL',
  'NOTIFY_FORMAT',
  'NOTIFY_LANG',
  'CONSOLE_URL',
  'WATCH_TIME_ZONE',
  'DIGEST_HOUR',
  'ACCESS_TEAM_DOMAIN',
  'ACCESS_AUD',
  'ACCESS_ADMIN_EMAIL',
  'AUDIT_RETENTION_DAYS',
  'TURNSTILE_VERIFY_URL',
]);

/** Prefixes kept for the adapter's settings, so a variable added later is refused without a list change. */
const ADAPTER_PREFIXES = ['CRM_', 'ADMIN_', 'SECRETS_'];

/** Whether an endpoint may name this secret: any upper-case name except the adapter's own variables. */
export function isEndpointSecretName(name: string): boolean {
  return !ADAPTER_VARIABLES.has(name) && !ADAPTER_PREFIXES.some((p) => name.startsWith(p));
}

/** The name of a Worker secret (`wrangler secret put NAME`); the value never appears in a config. */
export const SecretName = z
  .string()
  .check(
    z.regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'a secret name is upper case letters, digits and _ (e.g. LANDING_FORM_TOKEN)'),
  )
  .check(
    z.refine(
      isEndpointSecretName,
      sentences(
        'this name belongs to the adapter itself (its variables, and names starting CRM_, ADMIN_ or SECRETS_):',
        'choose another, e.g.',
        'LANDING_FORM_TOKEN',
      ),
    ),
  );

/** One secret name, or two during a rotation (either one verifies). */
export const SecretRef = z.union([SecretName, z.array(SecretName).check(z.minLength(1)).check(z.maxLength(2))]);

export function secretNames(ref: z.infer<typeof SecretRef>): string[] {
  return typeof ref === 'string' ? [ref] : ref;
}
