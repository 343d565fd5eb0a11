import { schemes, type VerifyConfig } from './schemes';
import { secretNames } from './secret-name';
import type { SchemeOutcome, SendInstructions, VerifyFailureReason, VerifyInput } from './types';

export { VerifyConfig } from './schemes';
export type { SendInstructions, VerifyInput, VerifyFailureReason } from './types';

/** Headers that carry credentials whatever the scheme: never stored, never shown to expressions. */
export const ALWAYS_SECRET_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie']);

/** A secret's value, and during a rotation's grace window the value it replaced (`until`: ms since the epoch). */
export type ResolvedSecret = string | { value: string; previous?: { value: string; until: number } };

/** Looks a secret up by name; `undefined` when no such secret exists. */
export type SecretResolver = (name: string) => Promise<ResolvedSecret | undefined> | ResolvedSecret | undefined;

/** One value a request may be signed with, and how the row names it. */
type Candidate = { value: string; label: string };

export type VerifyResult =
  /**
   * `secrets`: the values that were tried, so they can be scrubbed from what is stored; `matched`: which one verified.
   */
  | { ok: true; secrets: string[]; note?: string; matched?: string }
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
export async function verifyRequest(
  config: VerifyConfig,
  input: VerifyInput,
  resolveSecret: SecretResolver,
): Promise<VerifyResult> {
  if (!('secret' in config)) {
    const outcome = await schemeOf(config).verify(config, input, []);
    return outcome.ok
      ? { ok: true, secrets: [], ...(outcome.note ? { note: outcome.note } : {}) }
      : { ...outcome, secrets: [] };
  }
  const resolved = await resolveSecrets(secretNames(config.secret), resolveSecret);
  if (!resolved.ok) return { ok: false, reason: 'secret_missing', detail: resolved.detail, secrets: [] };
  const secrets = resolved.candidates.map((c) => c.value);
  // one candidate at a time, so the row can say which verified (the current value, or the previous one in its window)
  // (no note when the first, current value verified: the usual case)
  let first: SchemeOutcome | undefined;
  for (const [i, candidate] of resolved.candidates.entries()) {
    const outcome = await schemeOf(config).verify(config, input, [candidate.value]);
    if (outcome.ok) {
      const matched = i > 0 ? candidate.label : undefined;
      return { ok: true, secrets, ...(outcome.note ? { note: outcome.note } : {}), ...(matched ? { matched } : {}) };
    }
    first ??= outcome;
  }
  return { ...(first as Extract<SchemeOutcome, { ok: false }>), secrets };
}

/** Header names (lower case) and query parameters that carry credentials for this config: never logged. */
export function credentialLocations(config: VerifyConfig): { headers: string[]; query: string[] } {
  const scheme = schemeOf(config);
  return { headers: scheme.credentialHeaders(config), query: scheme.credentialQuery(config) };
}

/**
 * The values of one or two named secrets, each with the value it replaced while its grace window lasts. During a
 * rotation one of the two may be gone already; none at all (or one that cannot be read) is a misconfiguration,
 * never "no verification".
 */
export async function resolveSecrets(
  names: string[],
  resolve: SecretResolver,
): Promise<{ ok: true; candidates: Candidate[]; values: string[] } | { ok: false; detail: string }> {
  const candidates: Candidate[] = [];
  const problems: string[] = [];
  for (const name of names) {
    try {
      const found = await resolve(name);
      const secret = typeof found === 'string' ? { value: found } : found;
      if (!secret || secret.value.length === 0) continue;
      candidates.push({ value: secret.value, label: `the current value of ${name}` });
      if (secret.previous && secret.previous.value.length > 0) {
        const until = new Date(secret.previous.until).toISOString();
        candidates.push({
          value: secret.previous.value,
          label: `the previous value of ${name} (accepted until ${until}: update the sender)`,
        });
      }
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (candidates.length > 0) return { ok: true, candidates, values: candidates.map((c) => c.value) };
  const detail =
    problems.length > 0
      ? problems.join('; ')
      : `secret ${names.join(' / ')} is not set (wrangler secret put ${names[0]}, or PUT /admin/secrets/${names[0]})`;
  return { ok: false, detail };
}

/** What the sender must be told to pass this endpoint's check (query placeholders and one sentence). */
export function howToSend(config: VerifyConfig): SendInstructions {
  return schemeOf(config).howToSend(config);
}
