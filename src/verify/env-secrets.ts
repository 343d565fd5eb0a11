import type { SecretResolver } from './index';

/** Resolves endpoint secrets from the Worker's own secrets (`wrangler secret put NAME`, `.dev.vars` locally). */
export function envSecrets(env: object): SecretResolver {
  return (name) => {
    const value = (env as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : undefined;
  };
}
