import type { ImportResult, listKeys } from '../../customers/keys';
import { Csrf, Layout, Notice, Time } from './layout';
import { consolePath, consolePathWith } from '../paths';
import { useCan, useT } from '../i18n';

export type Lookup = { moduleId: string; key: string; value: string; customerId: string };

export function CustomerKeysPage(p: {
  csrf: string;
  modules: string[];
  lookup: Lookup;
  rows?: Awaited<ReturnType<typeof listKeys>>;
  imported?: ImportResult & { moduleId: string };
  refusal?: string;
}) {
  const t = useT();
  const k = t.keys;
  const l = p.lookup;
  return (
    <Layout title={k.title} nav="customer-keys" csrf={p.csrf}>
      <p class="muted">{k.intro}</p>
      <datalist id="modules">
        {p.modules.map((m) => (
          <option value={m} />
        ))}
      </datalist>
      {p.refusal && (
        <Notice kind="error">
          <p>{p.refusal}</p>
        </Notice>
      )}
      <section>
        <h2>{k.lookUp}</h2>
        <form method="get" action={consolePath('customerKeys')} class="filters" role="search">
          <label>
            {k.moduleId} <input name="moduleId" value={l.moduleId} list="modules" inputmode="numeric" />
          </label>
          <label>
            {k.key} <input name="key" value={l.key} placeholder="phone" />
          </label>
          <label>
            {k.value} <input name="value" value={l.value} placeholder="13800138000" />
          </label>
          <label>
            {k.customerId} <input name="customerId" value={l.customerId} inputmode="numeric" />
          </label>
          <button type="submit">{k.lookUp}</button>
        </form>
        {p.rows &&
          (p.rows.length === 0 ? (
            <p class="muted">{k.noMatch}</p>
          ) : (
            <div class="scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{k.cols.module}</th>
                    <th scope="col">{k.cols.key}</th>
                    <th scope="col">{k.cols.value}</th>
                    <th scope="col">{k.cols.customerId}</th>
                    <th scope="col">{k.cols.source}</th>
                    <th scope="col">{k.cols.updated}</th>
                  </tr>
                </thead>
                <tbody>
                  {p.rows.map((r) => (
                    <tr>
                      <td>{r.moduleId}</td>
                      <td>{r.key}</td>
                      <td>{r.value}</td>
                      <td>{r.customerId}</td>
                      <td>{r.source}</td>
                      <td>
                        <Time ms={r.updatedAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
      </section>
      <section>
        <h2>{k.import}</h2>
        {p.imported && (
          <Notice kind={p.imported.refused > 0 ? 'warn' : 'ok'}>
            <p>{k.imported(p.imported.moduleId, p.imported)}</p>
            {p.imported.added + p.imported.updated > 0 && (
              <p>
                {k.replayNow} <a href={consolePathWith('deliveries', { status: 'unmatched' })}>{k.replayNowLink}</a>
              </p>
            )}
            {p.imported.refused > 0 && (
              <ul>
                {p.imported.examples.map((e) => (
                  <li>{k.row(e.row, k.refusals[e.code](e.by ?? 0))}</li>
                ))}
                {p.imported.refused > p.imported.examples.length && (
                  <li>{k.more(p.imported.refused - p.imported.examples.length)}</li>
                )}
              </ul>
            )}
          </Notice>
        )}
        {useCan()('operator') && (
          <form method="post" action={consolePath('customerKeysImport')} enctype="multipart/form-data">
            <Csrf token={p.csrf} />
            <label>
              {k.moduleId} <input name="moduleId" value={l.moduleId} list="modules" inputmode="numeric" required />
            </label>
            <label>
              {k.file} <input type="file" name="file" accept=".csv,text/csv,text/plain" />
            </label>
            <label>
              {k.paste}{' '}
              <textarea
                name="csv"
                rows={6}
                spellcheck={false}
                placeholder={'customer_id,key,value\n688346218203447296,phone,13800138000'}
              ></textarea>
            </label>
            <button type="submit">{k.submit}</button>
          </form>
        )}
      </section>
    </Layout>
  );
}
