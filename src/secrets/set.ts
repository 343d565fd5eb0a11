import { workerSecret } from './resolver';
import { listSecrets, masterKey, writeSecret } from './vault';

export type SetSecret = { ok: true; created: boolean; updatedAt: string } | { ok: false; why: 'no_key' | 'worker_secret'; message: string };

/**
 * Stores an endpoint secret (AES-GCM in KV), as `PUT /admin/secrets/{name}` and the console's secret field do.
 * Refused without SECRETS_KEY, and when a Worker secret of that name exists (it would win, silently).
 */
export async function setSecret(env: Env, name: string, value: string): Promise<SetSecret> {
  const key = masterKey(env);
  if (!key.ok) return { ok: false, why: 'no_key', message: key.message };
  if (workerSecret(env, name)) {
    return {
      ok: false,
      why: 'worker_secret',
      message: `A Worker secret named ${name} exists and takes precedence; remove it (wrangler secret delete ${name}) or choose another name`,
    };
  }
  const existed = (await listSecrets(env.ENDPOINTS)).some((s) => s.name === name);
  const updatedAt = await writeSecret(env.ENDPOINTS, key.key, name, value);
  return { ok: true, created: !existed, updatedAt };
}
