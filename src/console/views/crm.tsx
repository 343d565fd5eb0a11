/** 连接 CRM: the connection test (the product-line list touches no customer) and the product lines by name. */
import type { ProductLine } from '../../crm/client';
import { consolePath, consolePathWith } from '../paths';
import { useT } from '../i18n';
import { Layout, Notice } from './layout';

export function CrmConnectPage(p: {
  csrf: string;
  result: { ok: true; lines: ProductLine[] } | { ok: false; message: string };
  base: string;
  q: string;
}) {
  const t = useT();
  const c = t.crm;
  return (
    <Layout title={c.title} nav="endpoints" csrf={p.csrf}>
      <p>{c.intro(p.base)}</p>
      <form method="get" action={consolePath('crmConnect')} class="filters" role="search">
        <label class="grow">
          {c.search} <input type="search" name="q" value={p.q} maxlength={100} />
        </label>
        <button type="submit">{c.searchButton}</button>
      </form>
      {p.result.ok ? (
        <>
          <Notice kind="ok">
            <p>{c.connected(p.result.lines.length)}</p>
          </Notice>
          <ul class="cards">
            {p.result.lines.map((l) => (
              <li>
                <strong>{l.name || l.id}</strong> {l.isDefault && <span class="status g-ok">{c.isDefault}</span>}
                <div class="muted">
                  {c.id} <code>{l.id}</code>
                  {l.note ? ` · ${l.note}` : ''}
                </div>
                <div>
                  <a class="button secondary" href={consolePathWith('newEndpoint', { productLineId: l.id })}>
                    {c.useIt}
                  </a>
                </div>
              </li>
            ))}
          </ul>
          <p class="muted">{c.moduleNote}</p>
          <p>
            <a href={consolePath('catalogue')}>{t.catalogue.link}</a>
          </p>
        </>
      ) : (
        <Notice kind="error">
          <p>{c.failed}</p>
          <p>
            <code>{p.result.message}</code>
          </p>
          <p>{c.whatToCheck}</p>
        </Notice>
      )}
    </Layout>
  );
}
