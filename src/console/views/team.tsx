/** 团队 (roles), 操作记录 (the audit log) and an endpoint's 历史版本 (versions, their difference, restore). */
import type { Version, Change } from '../../endpoints/versions';
import type { AuditRow } from '../../team/audit';
import type { PersonRow } from '../../team/people';
import { ROLES } from '../../shared/roles';
import { consolePath, consolePathWith } from '../paths';
import { useCan, useT } from '../i18n';
import { Csrf, Layout, Notice, Time } from './layout';

export function TeamPage(p: {
  csrf: string;
  people: PersonRow[];
  firstAdmin: string | null;
  access: boolean;
  notice?: string;
}) {
  const t = useT();
  const w = t.team;
  const can = useCan();
  return (
    <Layout title={w.title} nav="team" csrf={p.csrf}>
      <p>{w.intro}</p>
      {!p.access && (
        <Notice kind="warn">
          <p>{w.noAccess}</p>
        </Notice>
      )}
      {p.notice && (
        <Notice kind="error">
          <p>{p.notice}</p>
        </Notice>
      )}
      {p.firstAdmin && <p class="muted">{w.firstAdmin(p.firstAdmin)}</p>}
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">{w.email}</th>
              <th scope="col">{w.role}</th>
              <th scope="col">{w.setBy}</th>
              <th scope="col"></th>
            </tr>
          </thead>
          <tbody>
            {p.people.map((x) => (
              <tr data-person={x.email}>
                <td>{x.email}</td>
                <td>{w.roles[x.role]}</td>
                <td>
                  {x.setBy} · <Time ms={x.setAt} />
                </td>
                <td>
                  {can('admin') && (
                    <form method="post" action={consolePath('teamRemove')} class="inline">
                      <Csrf token={p.csrf} />
                      <input type="hidden" name="email" value={x.email} />
                      <button type="submit" class="secondary">
                        {w.remove}
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {can('admin') && (
        <form method="post" action={consolePath('teamSet')} class="filters">
          <Csrf token={p.csrf} />
          <label class="grow">
            {w.email} <input name="email" type="email" required maxlength={320} />
          </label>
          <label>
            {w.role}{' '}
            <select name="role">
              {ROLES.map((r) => (
                <option value={r}>{w.roles[r]}</option>
              ))}
            </select>
          </label>
          <button type="submit">{w.setRole}</button>
        </form>
      )}
    </Layout>
  );
}

export function AuditPage(p: {
  csrf: string;
  entries: AuditRow[];
  next: string | null;
  filter: Record<string, string>;
}) {
  const t = useT();
  const w = t.audit;
  return (
    <Layout title={w.title} nav="audit" csrf={p.csrf}>
      <p>{w.intro}</p>
      <form method="get" action={consolePath('audit')} class="filters" role="search">
        <label>
          {w.who} <input name="actor" value={p.filter.actor ?? ''} maxlength={320} />
        </label>
        <label>
          {w.what} {/* not "action": a field of that name would shadow the form's own action */}
          <select name="what">
            <option value="">{t.none}</option>
            {Object.entries(w.actions).map(([code, text]) => (
              <option value={code} selected={p.filter.what === code}>
                {text}
              </option>
            ))}
          </select>
        </label>
        <label>
          {w.target} <input name="targetId" value={p.filter.targetId ?? ''} maxlength={300} />
        </label>
        <button type="submit">{w.filter}</button>
      </form>
      {p.entries.length === 0 ? (
        <p class="muted">{w.none}</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">{w.when}</th>
                <th scope="col">{w.who}</th>
                <th scope="col">{w.what}</th>
                <th scope="col">{w.target}</th>
                <th scope="col">{w.detail}</th>
              </tr>
            </thead>
            <tbody>
              {p.entries.map((e) => (
                <tr data-action={e.action}>
                  <td>
                    <Time ms={e.at} />
                  </td>
                  <td>{e.actor}</td>
                  <td>
                    {w.actions[e.action] ?? e.action} <code>{e.action}</code>
                  </td>
                  <td>
                    {e.targetKind === 'endpoint' && e.targetId ? (
                      <a href={consolePath('endpoint', { id: e.targetId })}>{e.targetId}</a>
                    ) : (
                      (e.targetId ?? t.none)
                    )}
                  </td>
                  <td>
                    <code>{e.detail ? JSON.stringify(e.detail) : ''}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {p.next && (
        <p>
          <a class="button secondary" href={consolePathWith('audit', { ...p.filter, cursor: p.next })}>
            {w.next}
          </a>
        </p>
      )}
    </Layout>
  );
}

const shown = (v: unknown) => (v === undefined ? '—' : JSON.stringify(v));

export function VersionsPage(p: {
  csrf: string;
  endpointId: string;
  versions: Omit<Version, 'config'>[];
  diff: { a: number; b: number; changes: Change[] } | null;
  notice?: string;
}) {
  const t = useT();
  const w = t.versions;
  const can = useCan();
  return (
    <Layout title={w.title(p.endpointId)} nav="endpoints" csrf={p.csrf}>
      <p>
        {w.intro} <a href={consolePath('endpoint', { id: p.endpointId })}>{t.trends.back}</a>
      </p>
      {p.notice && (
        <Notice kind="ok">
          <p>{p.notice}</p>
        </Notice>
      )}
      {p.diff && (
        <section aria-labelledby="diff">
          <h2 id="diff">{w.diff(p.diff.a, p.diff.b)}</h2>
          {p.diff.changes.length === 0 ? (
            <p class="muted">{w.same}</p>
          ) : (
            <div class="scroll">
              <table class="diff">
                <thead>
                  <tr>
                    <th scope="col">{w.path}</th>
                    <th scope="col">{w.before}</th>
                    <th scope="col">{w.after}</th>
                  </tr>
                </thead>
                <tbody>
                  {p.diff.changes.map((c) => (
                    <tr data-path={c.path}>
                      <td>
                        <code>{c.path}</code>
                      </td>
                      <td>
                        <code>{shown(c.before)}</code>
                      </td>
                      <td>
                        <code>{shown(c.after)}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}
      {p.versions.length === 0 ? (
        <p class="muted">{w.none}</p>
      ) : (
        <ul class="cards versions">
          {p.versions.map((v) => (
            <li data-version={v.n}>
              <strong>
                {w.n} {v.n}
              </strong>{' '}
              · {v.savedBy} · <Time ms={v.savedAt} />
              {v.restoredFrom !== null && ` · ${w.restoredFrom(v.restoredFrom)}`}
              <div>
                {v.n > 1 && (
                  <a
                    href={consolePathWith(
                      'endpointVersions',
                      { a: String(v.n - 1), b: String(v.n) },
                      { id: p.endpointId },
                    )}
                  >
                    {w.compare}
                  </a>
                )}{' '}
                {can('admin') && v.n !== p.versions[0]!.n && (
                  <form
                    method="post"
                    action={consolePath('endpointRestore', { id: p.endpointId, n: String(v.n) })}
                    class="inline"
                  >
                    <Csrf token={p.csrf} />
                    <button type="submit" class="secondary">
                      {w.restore}
                    </button>
                  </form>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </Layout>
  );
}
