/**
 * One set of secrets across the two Workers. Endpoint secrets set with `wrangler secret put` live on the webhook
 * Worker, which verifies the webhooks; the console Worker, which sets secrets and warns about missing ones, cannot
 * see them. So the webhook Worker tells it, on every request it hands over (the console has no URL of its own: it
 * is reached only through that service binding): which endpoint secrets it holds as Worker secrets (names, never
 * values), and a fingerprint of its SECRETS_KEY, so that a vault written with another key is refused in the console
 * instead of failing every webhook. A sender's own copies of these headers are dropped first.
 */
import { isEndpointSecretName } from '../verify/secret-name';
import { utf8 } from '../verify/crypto';

export const WORKER_SECRETS_HEADER = 'x-adapter-worker-secrets';
export const VAULT_KEY_HEADER = 'x-adapter-vault-key';

/** The endpoint secrets a Worker holds as its own (Worker secrets, or .dev.vars locally), by name. */
export function workerSecretNames(env: object): string[] {
  return Object.entries(env as Record<string, unknown>)
    .filter(
      ([name, value]) =>
        typeof value === 'string' &&
        value.length > 0 &&
        /^[A-Z][A-Z0-9_]{0,63}$/.test(name) &&
        isEndpointSecretName(name),
    )
    .map(([name]) => name)
    .sort();
}

/**
 * A short fingerprint of SECRETS_KEY (HMAC of a fixed text: nothing of the key can be read from it); '' without one.
 */
export async function vaultKeyFingerprint(master: string | undefined): Promise<string> {
  if (!master) return '';
  const key = await crypto.subtle.importKey('raw', utf8(master), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, utf8('crm-webhook-adapter vault key fingerprint')));
  return [...mac.slice(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The request as handed to the console: the sender's copies of the two headers replaced by the webhook Worker's facts.
 */
export async function withSecretFacts(request: Request, env: Env): Promise<Request> {
  const headers = new Headers(request.headers);
  headers.set(WORKER_SECRETS_HEADER, workerSecretNames(env).join(','));
  headers.set(VAULT_KEY_HEADER, await vaultKeyFingerprint(env.SECRETS_KEY));
  return new Request(request, { headers, redirect: 'manual' });
}

/**
 * What the console learns from the webhook Worker (null when the request did not come through it, as in some tests).
 */
export type WebhookSecrets = { names: ReadonlySet<string>; vaultKey: string } | null;

export function webhookSecretsOf(headers: Headers): WebhookSecrets {
  const names = headers.get(WORKER_SECRETS_HEADER);
  const vaultKey = headers.get(VAULT_KEY_HEADER);
  if (names === null || vaultKey === null) return null;
  return { names: new Set(names.split(',').filter(Boolean)), vaultKey };
}
