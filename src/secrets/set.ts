import { workerSecret } from './resolver';
import { vaultKeyFingerprint, type WebhookSecrets } from './handoff';
import { DEFAULT_GRACE_HOURS, listSecrets, masterKey, writeSecret } from './vault';
import { sentences } from '../shared/text';

/**
 * `previousUntil`: until when the replaced value is still accepted (null: there was none, or it was revoked at once).
 */
export type SetSecret =
  | { ok: true; created: boolean; updatedAt: string; previousUntil: string | null }
  | { ok: false; why: 'no_key' | 'worker_secret' | 'key_mismatch'; message: string };

/**
 * Stores an endpoint secret (AES-GCM in KV), as `PUT /admin/secrets/{name}` and the console's secret field do.
 * Refused without SECRETS_KEY, and when a Worker secret of that name exists (it would win, silently). The value it
 * replaces stays valid for `graceHours` (senders retry for hours with what they signed with); 0 revokes it now.
 */
export async function setSecret(
  env: Env,
  name: string,
  value: string,
  graceHours = DEFAULT_GRACE_HOURS,
  webhook: WebhookSecrets = null,
): Promise<SetSecret> {
  const key = masterKey(env);
  if (!key.ok) return { ok: false, why: 'no_key', message: key.message };
  // set from the console: the webhook Worker's own secrets and key decide what its webhooks will see
  if (webhook && webhook.vaultKey !== (await vaultKeyFingerprint(key.key))) {
    return {
      ok: false,
      why: 'key_mismatch',
      message: 'the two Workers have different SECRETS_KEY values: the webhook Worker could not read this secret',
    };
  }
  if (workerSecret(env, name) || webhook?.names.has(name)) {
    return {
      ok: false,
      why: 'worker_secret',
      message: sentences(
        `A Worker secret named ${name} exists and takes precedence;`,
        `remove it (wrangler secret delete ${name}) or choose another name`,
      ),
    };
  }
  const existed = (await listSecrets(env.ENDPOINTS)).some((s) => s.name === name);
  const written = await writeSecret(env.ENDPOINTS, key.key, name, value, graceHours * 3_600_000);
  const previousUntil = written.previousUntil === null ? null : new Date(written.previousUntil).toISOString();
  return { ok: true, created: !existed, updatedAt: written.updatedAt, previousUntil };
}
