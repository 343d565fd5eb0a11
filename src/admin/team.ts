/** Who did what through the admin API: the audit log, the team's roles, an endpoint's versions and their restore. */
import { Hono } from 'hono/tiny';
import * as z from '../shared/zod';
import type { AppEnv } from '../env';
import { EndpointId } from '../endpoints/schema';
import { saveEndpoint } from '../endpoints/save';
import { getVersion, listVersions } from '../endpoints/versions';
import { ApiError } from '../http/errors';
import { ROLES } from '../shared/roles';
import { listAudit } from '../team/audit';
import { listPeople, removePerson, setRole } from '../team/people';
import { valid, validationError } from './validation';

export const AuditQuery = z.strictObject({
  actor: z.optional(z.string().check(z.maxLength(320))),
  action: z.optional(z.string().check(z.maxLength(100))),
  targetKind: z.optional(z.string().check(z.maxLength(40))),
  targetId: z.optional(z.string().check(z.maxLength(300))),
  cursor: z.optional(z.string().check(z.regex(/^[0-9a-z]{26}$/, 'cursor is the nextCursor of a previous page'))),
  limit: z._default(z.coerce.number().check(z.int()).check(z.gte(1)).check(z.lte(200)), 50),
});

export const auditAdmin = new Hono<AppEnv>();
auditAdmin.get('/', valid('query', AuditQuery), async (c) => c.json(await listAudit(c.env.DB, c.req.valid('query'))));

export const RoleBody = z.strictObject({ role: z.enum(ROLES) });
const Email = z.string().check(z.regex(/^[^\s@/]+@[^\s@/]+$/, 'an email address'), z.maxLength(320));

export const peopleAdmin = new Hono<AppEnv>();
peopleAdmin.get('/', async (c) =>
  c.json({ people: await listPeople(c.env.DB), firstAdmin: c.env.ACCESS_ADMIN_EMAIL || null }),
);
peopleAdmin.put('/:email', valid('json', RoleBody, 'role'), async (c) => {
  const email = Email.safeParse(decodeURIComponent(c.req.param('email')));
  if (!email.success)
    throw new ApiError(400, 'validation_failed', 'The path names an email address: /admin/people/{email}');
  const { role } = c.req.valid('json');
  await setRole(c.env.DB, email.data, role, c.get('person')?.who ?? 'admin', Date.now());
  c.set('auditDetail', { role });
  return c.json({ email: email.data.toLowerCase(), role });
});
peopleAdmin.delete('/:email', async (c) => {
  if (!(await removePerson(c.env.DB, decodeURIComponent(c.req.param('email')))))
    throw new ApiError(404, 'not_found', 'No such person');
  return c.body(null, 204);
});

const VersionParams = z.object({ id: EndpointId, n: z.coerce.number().check(z.int()).check(z.gte(1)) });

/** Mounted under /admin/endpoints: `/{id}/versions` and `/{id}/versions/{n}/restore`. */
export const versionsAdmin = new Hono<AppEnv>();
versionsAdmin.get('/:id/versions', async (c) => c.json({ versions: await listVersions(c.env.DB, c.req.param('id')) }));
versionsAdmin.get('/:id/versions/:n', valid('param', VersionParams), async (c) => {
  const { id, n } = c.req.valid('param');
  const version = await getVersion(c.env.DB, id, n);
  if (!version) throw new ApiError(404, 'not_found', 'No such version');
  return c.json(version);
});
versionsAdmin.post('/:id/versions/:n/restore', valid('param', VersionParams), async (c) => {
  const { id, n } = c.req.valid('param');
  const version = await getVersion(c.env.DB, id, n);
  if (!version) throw new ApiError(404, 'not_found', 'No such version');
  const saved = await saveEndpoint(c.env, id, version.config, c.get('person')?.who ?? 'admin', n);
  if (!saved.ok) throw validationError(saved.issues, 'restored configuration');
  c.set('auditDetail', { version: saved.version, restoredFrom: n });
  return c.json({ id, version: saved.version, restoredFrom: n, config: saved.endpoint.config }, 201);
});
