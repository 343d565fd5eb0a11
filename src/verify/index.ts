import { schemes, type VerifyConfig } from './schemes';
import { secretNames } from './secret-name';
import type { SchemeOutcome, SendInstructions, VerifyFailureReason, VerifyInput } from './types';

export { VerifyConfig } from './schemes';
export type { SendInstructions, VerifyInput, VerifyFailureReason } from './types';

/** Headers that carry credentials whatever the scheme: never stored, never shown to expressions. */
export const ALWAYS_SECRET_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie']);

/** Looks a secret up by name; `undefined` when no such secret exists. */
export type SecretResolver = (name: string) => Promise<string | undefined> | string | undefined;

export type VerifyResult =
  /** `secrets`: the values that were tried, so they can be scrubbed from what is stored. */
  | { ok: true; secrets: string[]; note?: string }
  | { ok: false; reason: VerifyFailureReason; detail: string; secrets: string[] }
  /** The endpoint names a secret that does not exist: the operator's mistake, never "no verification". */
  | { ok: false; reason: 'secret_missing'; detail: string; secrets: string[] };

/** The scheme's functions, typed for any config (each scheme only ever sees its own `type`). */
type AnyScheme = {
  verify(config: VerifyConfig, input: VerifyInput, secrets: string[]): Promise<SchemeOutcome>;
  credentialHeaders(config: VerifyConfig): string[];
  credentialQuery(config: VerifyConfig): string[];
  howToSend(config: VerifyConfig): SendInstructions;
};
const schemeOf = (config: VerifyConfig) => schemes[config.type] as unknown as AnyScheme;

/** Verifies a raw request with the scheme its endpoint names. */
export async function verifyRequest(config: VerifyConfig, input: VerifyInput, resolveSecret: SecretResolver): Promise<VerifyResult> {
  let secrets: string[] = [];
  if ('secret' in config) {
    const resolved = await resolveSecrets(secretNames(config.secret), resolveSecret);
    if (!resolved.ok) return { ok: false, reason: 'secret_missing', detail: resolved.detail, secrets: [] };
    secrets = resolved.values;
  }
  const outcome = await schemeOf(config).verify(config, input, secrets);
  return outcome.ok ? { ok: true, secrets, ...(outcome.note ? { note: outcome.note } : {}) } : { ...outcome, secrets };
}

/** Header names (lower case) and query parameters that carry credentials for this config: never logged. */
export function credentialLocations(config: VerifyConfig): { headers: string[]; query: string[] } {
  const scheme = schemeOf(config);
  return { headers: scheme.credentialHeaders(config), query: scheme.credentialQuery(config) };
}

/**
 * The values of one or two named secrets. During a rotation one of the two may be gone already;
 * none at all (or one that cannot be read) is a misconfiguration, never "no verification".
 */
export async function resolveSecrets(names: string[], resolve: SecretResolver): Promise<{ ok: true; values: string[] } | { ok: false; detail: string }> {
  const values: string[] = [];
  const problems: string[] = [];
  for (const name of names) {
    try {
      const value = await resolve(name);
      if (typeof value === 'string' && value.length > 0) values.push(value);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (values.length > 0) return { ok: true, values };
  const detail = problems.length > 0 ? problems.join('; ') : `secret ${names.join(' / ')} is not set (wrangler secret put ${names[0]}, or PUT /admin/secrets/${names[0]})`;
  return { ok: false, detail };
}

/** What the sender must be told to pass this endpoint's check (query placeholders and one sentence). */
export function howToSend(config: VerifyConfig): SendInstructions {
  return schemeOf(config).howToSend(config);
}
