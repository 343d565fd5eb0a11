import { Hono } from 'hono/tiny';
import * as z from '../shared/zod';
import { listEndpointSummaries } from '../endpoints/store';
import type { AppEnv } from '../env';
import { ApiError } from '../http/errors';
import { workerSecret } from '../secrets/resolver';
import { deleteSecret, listSecrets, MAX_GRACE_HOURS } from '../secrets/vault';
import { setSecret } from '../secrets/set';
import { SecretName } from '../verify/secret-name';
import { valid } from './validation';

/**
 * `/admin/secrets`: endpoint secrets set without a redeploy. Write-only: no route ever returns a value.
 * A Worker secret of the same name wins, so setting one here would be silently ignored: refused (409).
 */
export const secretsAdmin = new Hono<AppEnv>();

/** `graceHours`: how long the value it replaces stays valid (default 24; 0 revokes it now). */
export const SecretValue = z.strictObject({
  value: z.string().check(z.minLength(1)).check(z.maxLength(4096)),
  graceHours: z.optional(z.number().check(z.gte(0)).check(z.lte(MAX_GRACE_HOURS))),
});

const byName = valid('param', z.object({ name: SecretName }));

/** Every secret the adapter knows of: stored here, or named by an endpoint (then where it comes from, or `missing`). */
secretsAdmin.get('/', async (c) => {
  const [stored, endpoints] = await Promise.all([listSecrets(c.env.ENDPOINTS), listEndpointSummaries(c.env.ENDPOINTS)]);
  type Listed = {
    name: string;
    source: 'worker' | 'admin' | 'missing';
    updatedAt: string | null;
    previousValidUntil: string | null;
    usedBy: string[];
  };
  const rows = new Map<string, Listed>();
  const row = (name: string) => {
    let r = rows.get(name);
    if (!r) {
      r = {
        name,
        source: workerSecret(c.env, name) ? 'worker' : 'missing',
        updatedAt: null,
        previousValidUntil: null,
        usedBy: [],
      };
      rows.set(name, r);
    }
    return r;
  };
  for (const s of stored) {
    const r = row(s.name);
    if (r.source === 'missing') r.source = 'admin';
    r.updatedAt = s.updatedAt;
    r.previousValidUntil = s.previousUntil;
  }
  for (const e of endpoints) for (const name of e.secrets) row(name).usedBy.push(e.id);
  return c.json({ secrets: [...rows.values()].sort((a, b) => a.name.localeCompare(b.name)) });
});

secretsAdmin.put('/:name', byName, valid('json', SecretValue, 'secret'), async (c) => {
  const { name } = c.req.valid('param');
  const body = c.req.valid('json');
  const set = await setSecret(c.env, name, body.value, body.graceHours);
  if (!set.ok)
    throw set.why === 'no_key'
      ? new ApiError(503, 'secrets_unavailable', set.message)
      : new ApiError(409, 'conflict', set.message);
  return c.json(
    { name, source: 'admin', updatedAt: set.updatedAt, previousValidUntil: set.previousUntil },
    set.created ? 201 : 200,
  );
});

secretsAdmin.delete('/:name', byName, async (c) => {
  const deleted = await deleteSecret(c.env.ENDPOINTS, c.req.valid('param').name);
  if (!deleted) throw new ApiError(404, 'not_found', 'No such secret set through the admin API');
  return c.body(null, 204);
});
