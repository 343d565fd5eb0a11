import * as z from '../shared/zod';

/** Secrets the adapter itself uses: an endpoint may never verify against them. */
const RESERVED = new Set(['CRM_API_TOKEN', 'ADMIN_TOKEN', 'SECRETS_KEY']);

/** The name of a Worker secret (`wrangler secret put NAME`); the value never appears in a config. */
export const SecretName = z
  .string()
  .check(z.regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'a secret name is upper case letters, digits and _ (e.g. LANDING_FORM_TOKEN)'))
  .check(z.refine((name) => !RESERVED.has(name), 'this secret is reserved for the adapter itself'));

/** One secret name, or two during a rotation (either one verifies). */
export const SecretRef = z.union([SecretName, z.array(SecretName).check(z.minLength(1)).check(z.maxLength(2))]);

export function secretNames(ref: z.infer<typeof SecretRef>): string[] {
  return typeof ref === 'string' ? [ref] : ref;
}
