import type { ImportResult, listKeys } from '../../customers/keys';
import { Csrf, Layout, Notice, Time } from './layout';
import { consolePath } from '../paths';

export type Lookup = { moduleId: string; key: string; value: string; customerId: string };

export function CustomerKeysPage(p: {
  csrf: string;
  modules: string[];
  lookup: Lookup;
  rows?: Awaited<ReturnType<typeof listKeys>>;
  imported?: ImportResult & { moduleId: string };
  refusal?: string;
}) {
  const l = p.lookup;
  return (
    <Layout title="Customer keys" nav="customer-keys" csrf={p.csrf}>
      <p class="muted">
        External keys (phone, the ad platform’s lead id, e-mail …) that find a customer’s CRM id when a webhook carries no id. Kept per CRM module; learned from every successful
        update, or imported here.
      </p>
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
        <h2>Look up</h2>
        <form method="get" action={consolePath('customerKeys')} class="filters" role="search">
          <label>
            Module id <input name="moduleId" value={l.moduleId} list="modules" inputmode="numeric" />
          </label>
          <label>
            Key <input name="key" value={l.key} placeholder="phone" />
          </label>
          <label>
            Value <input name="value" value={l.value} placeholder="13800138000" />
          </label>
          <label>
            Customer id <input name="customerId" value={l.customerId} inputmode="numeric" />
          </label>
          <button type="submit">Look up</button>
        </form>
        {p.rows &&
          (p.rows.length === 0 ? (
            <p class="muted">No key matches.</p>
          ) : (
            <div class="scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">module</th>
                    <th scope="col">key</th>
                    <th scope="col">value</th>
                    <th scope="col">customer id</th>
                    <th scope="col">source</th>
                    <th scope="col">updated</th>
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
        <h2>Import CSV</h2>
        {p.imported && (
          <Notice kind={p.imported.refused > 0 ? 'warn' : 'ok'}>
            <p>{`Module ${p.imported.moduleId}: ${p.imported.received} rows received, ${p.imported.added} added, ${p.imported.updated} updated, ${p.imported.unchanged} unchanged, ${p.imported.refused} refused.`}</p>
            {p.imported.refused > 0 && (
              <ul>
                {Object.entries(p.imported.reasons).map(([reason, n]) => (
                  <li>{`${n} × ${reason}`}</li>
                ))}
                {p.imported.examples.map((e) => (
                  <li>{`row ${e.row}: ${e.reason}`}</li>
                ))}
              </ul>
            )}
          </Notice>
        )}
        <form method="post" action={consolePath('customerKeysImport')} enctype="multipart/form-data">
          <Csrf token={p.csrf} />
          <label>
            Module id <input name="moduleId" value={l.moduleId} list="modules" inputmode="numeric" required />
          </label>
          <label>
            CSV file (header <code>customer_id,key,value</code>) <input type="file" name="file" accept=".csv,text/csv,text/plain" />
          </label>
          <label>
            or paste it <textarea name="csv" rows={6} spellcheck={false} placeholder={'customer_id,key,value\n688346218203447296,phone,13800138000'}></textarea>
          </label>
          <button type="submit">Import</button>
        </form>
      </section>
    </Layout>
  );
}
