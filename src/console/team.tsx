/**
 * The console's pages for who did what: 团队 (roles), 操作记录 (the audit log), an endpoint's 历史版本 and its restore.
 */
import type { Hono } from 'hono/tiny';
import { saveEndpoint } from '../endpoints/save';
import { diffConfigs, getVersion, listVersions } from '../endpoints/versions';
import { accessConfig } from '../http/access';
import { isRole } from '../shared/roles';
import { listAudit } from '../team/audit';
import { listPeople, removePerson, setRole } from '../team/people';
import { consolePath, consolePathWith, ROUTES } from './paths';
import { AuditPage, TeamPage, VersionsPage } from './views/team';
import { type C, type ConsoleEnv, refuse, render, tOf } from './page';

async function teamPage(c: C, notice?: string, status: 200 | 400 = 200) {
  const people = await listPeople(c.env.DB);
  return render(
    c,
    <TeamPage
      csrf={c.get('session').csrf}
      people={people}
      firstAdmin={c.env.ACCESS_ADMIN_EMAIL || null}
      access={accessConfig(c.env) !== null}
      notice={notice}
    />,
    status,
  );
}

const text = (v: unknown, max: number) => (typeof v === 'string' ? v.trim().slice(0, max) : '');
const EMAIL = /^[^\s@/]+@[^\s@/]+$/;

async function versionsPage(c: C, endpointId: string, notice?: string) {
  const versions = await listVersions(c.env.DB, endpointId);
  const a = Number(c.req.query('a'));
  const b = Number(c.req.query('b'));
  let diff = null;
  if (Number.isInteger(a) && Number.isInteger(b) && a > 0 && b > 0) {
    const [va, vb] = await Promise.all([getVersion(c.env.DB, endpointId, a), getVersion(c.env.DB, endpointId, b)]);
    if (va && vb) diff = { a, b, changes: diffConfigs(va.config, vb.config) };
  }
  return render(
    c,
    <VersionsPage
      csrf={c.get('session').csrf}
      endpointId={endpointId}
      versions={versions}
      diff={diff}
      notice={notice}
    />,
  );
}

export function teamRoutes(pages: Hono<ConsoleEnv>) {
  pages.get(ROUTES.team, (c) => teamPage(c));
  pages.post(ROUTES.teamSet, async (c) => {
    const body = await c.req.parseBody();
    const email = text(body.email, 320).toLowerCase();
    const role = text(body.role, 20);
    if (!EMAIL.test(email) || !isRole(role)) return teamPage(c, tOf(c).team.badEmail, 400);
    await setRole(c.env.DB, email, role, c.get('person')?.who ?? 'admin', Date.now());
    c.set('auditDetail', { targetId: email, role });
    return c.redirect(consolePath('team'), 303);
  });
  pages.post(ROUTES.teamRemove, async (c) => {
    const email = text((await c.req.parseBody()).email, 320).toLowerCase();
    await removePerson(c.env.DB, email);
    c.set('auditDetail', { targetId: email });
    return c.redirect(consolePath('team'), 303);
  });

  pages.get(ROUTES.audit, async (c) => {
    const q = c.req.query();
    const filter = { actor: text(q.actor, 320), what: text(q.what, 100), targetId: text(q.targetId, 300) };
    const cursor = /^[0-9a-z]{26}$/.test(q.cursor ?? '') ? q.cursor : undefined;
    const page = await listAudit(c.env.DB, {
      actor: filter.actor || undefined,
      action: filter.what || undefined,
      targetId: filter.targetId || undefined,
      cursor,
      limit: 50,
    });
    const shown = Object.fromEntries(Object.entries(filter).filter(([, v]) => v)) as Record<string, string>;
    return render(
      c,
      <AuditPage csrf={c.get('session').csrf} entries={page.entries} next={page.nextCursor} filter={shown} />,
    );
  });

  pages.get(ROUTES.endpointVersions, (c) => {
    const restored = Number(c.req.query('restored'));
    const from = Number(c.req.query('from'));
    const notice = restored > 0 && from > 0 ? tOf(c).versions.restored(restored, from) : undefined;
    return versionsPage(c, c.req.param('id'), notice);
  });
  pages.post(ROUTES.endpointRestore, async (c) => {
    const id = c.req.param('id');
    const n = Number(c.req.param('n'));
    const version = Number.isInteger(n) ? await getVersion(c.env.DB, id, n) : null;
    if (!version) return refuse(c, 404, 'not_found', tOf(c).versions.notFound);
    const saved = await saveEndpoint(c.env, id, version.config, c.get('person')?.who ?? 'admin', n);
    if (!saved.ok)
      return refuse(c, 400, 'validation_failed', saved.issues.map((i) => `${i.path}: ${i.message}`).join('; '));
    c.set('auditDetail', { version: saved.version, restoredFrom: n });
    return c.redirect(
      consolePathWith(
        'endpointVersions',
        { restored: String(saved.version), from: String(n), a: String(n), b: String(saved.version) },
        { id },
      ),
      303,
    );
  });
}
