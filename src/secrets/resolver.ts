import type { SecretResolver } from '../verify';
import { isEndpointSecretName } from '../verify/secret-name';
import { readSecretCached } from './vault';

/** A Worker secret (`wrangler secret put NAME`, `.dev.vars` locally) by name. */
export function workerSecret(env: object, name: string): string | undefined {
  const value = (env as Record<string, unknown>)[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Resolves the secrets endpoints name: a Worker secret first (it is set at deploy time and wins),
 * then one set through `PUT /admin/secrets/{name}` (KV, encrypted under SECRETS_KEY).
 */
export function secretResolver(env: Env): SecretResolver {
  return async (name) => {
    // A configuration saved before the allow-list may still name one of the adapter's variables: never read it.
    if (!isEndpointSecretName(name))
      throw new Error(`${name} is one of the adapter's own variables, never an endpoint secret: name another secret`);
    const worker = workerSecret(env, name);
    return worker !== undefined ? { value: worker } : await readSecretCached(env.ENDPOINTS, env.SECRETS_KEY, name);
  };
}

/** The adapter's own secret values (CRM token, admin token, vault key): scrubbed from every row and answer. */
export function adapterSecretValues(env: Pick<Env, 'CRM_API_TOKEN' | 'ADMIN_TOKEN' | 'SECRETS_KEY'>): string[] {
  return [env.CRM_API_TOKEN, env.ADMIN_TOKEN, env.SECRETS_KEY].filter(
    (s): s is string => typeof s === 'string' && s.length >= 4,
  );
}
