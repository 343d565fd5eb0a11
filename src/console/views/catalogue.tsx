/** 字段目录: a CRM module's fields by name and a select's options by name, learned, pasted or typed by hand. */
import type { Catalogue, CatalogueField, FieldType } from '../../endpoints/catalogue';
import { consolePath } from '../paths';
import { useCan, useT } from '../i18n';
import { builtInLabel } from './endpoints';
import { Csrf, Layout, Notice } from './layout';

export type CataloguePageProps = {
  csrf: string;
  moduleId: string;
  modules: string[];
  catalogue: Catalogue | null;
  notice?: { kind: 'ok' | 'error'; text: string };
  paste?: string;
};

const TYPES: FieldType[] = ['text', 'select', 'multi', 'number', 'date', 'other'];

/** A select's options as the form's lines: `option name = option id`. */
export const optionLines = (options: Record<string, string>) =>
  Object.entries(options)
    .map(([id, label]) => `${label} = ${id}`)
    .join('\n');

function TypeSelect(p: { value: FieldType; id: string }) {
  const t = useT().catalogue;
  return (
    <select name="type" id={p.id}>
      {TYPES.map((type) => (
        <option value={type} selected={p.value === type}>
          {t.types[type]}
        </option>
      ))}
    </select>
  );
}

/** One field: its name, key, type, options and origin, with its edit form and its remove button. */
function FieldRow(p: { fieldKey: string; field: CatalogueField; csrf: string; moduleId: string }) {
  const t = useT();
  const c = t.catalogue;
  const f = p.field;
  const builtIn = builtInLabel(t, p.fieldKey);
  const options = Object.values(f.options).filter(Boolean);
  return (
    <tr>
      <td>{f.label || builtIn || <span class="muted">{c.unnamed}</span>}</td>
      <td>
        <code>{p.fieldKey}</code>
      </td>
      <td>{c.types[f.type]}</td>
      <td>
        {options.length
          ? options.slice(0, 20).join('、') + (options.length > 20 ? ` … (${options.length})` : '')
          : t.none}
      </td>
      <td>{c.origins[f.origin]}</td>
      <td>
        {useCan()('admin') && (
          <details>
            <summary>{c.edit}</summary>
            <form method="post" action={consolePath('catalogueField')} class="stack">
              <Csrf token={p.csrf} />
              <input type="hidden" name="moduleId" value={p.moduleId} />
              <input type="hidden" name="key" value={p.fieldKey} />
              <label>
                {c.label} <input name="label" value={f.label} maxlength={100} />
              </label>
              <label for={`type-${p.fieldKey}`}>{c.type}</label>
              <TypeSelect value={f.type} id={`type-${p.fieldKey}`} />
              <label>
                {c.optionLines}
                <textarea name="options" rows={4} spellcheck={false}>
                  {optionLines(f.options)}
                </textarea>
              </label>
              <button type="submit">{c.save}</button>
            </form>
            {f.origin !== 'built-in' && (
              <form method="post" action={consolePath('catalogueRemove')} class="inline">
                <Csrf token={p.csrf} />
                <input type="hidden" name="moduleId" value={p.moduleId} />
                <input type="hidden" name="key" value={p.fieldKey} />
                <button type="submit" class="secondary">
                  {c.remove}
                </button>
              </form>
            )}
          </details>
        )}
      </td>
    </tr>
  );
}

export function CataloguePage(p: CataloguePageProps) {
  const t = useT();
  const c = t.catalogue;
  const fields = p.catalogue ? Object.entries(p.catalogue.fields) : [];
  const learned = fields.some(([, f]) => f.origin !== 'built-in');
  return (
    <Layout title={c.title} nav="endpoints" csrf={p.csrf}>
      <p>{c.intro}</p>
      <form method="get" action={consolePath('catalogue')} class="filters">
        <label class="grow">
          {c.module} <input name="moduleId" value={p.moduleId} list="modules" inputmode="numeric" maxlength={30} />
          <datalist id="modules">
            {p.modules.map((m) => (
              <option value={m} />
            ))}
          </datalist>
        </label>
        <button type="submit">{c.show}</button>
      </form>
      {p.notice && (
        <Notice kind={p.notice.kind}>
          <p>{p.notice.text}</p>
        </Notice>
      )}
      {p.catalogue && (
        <>
          <p class="muted">{c.sources}</p>
          {!learned && (
            <Notice kind="warn">
              <p>{c.empty}</p>
            </Notice>
          )}
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">{c.field}</th>
                  <th scope="col">{c.key}</th>
                  <th scope="col">{c.type}</th>
                  <th scope="col">{c.options}</th>
                  <th scope="col">{c.origin}</th>
                  <th scope="col"></th>
                </tr>
              </thead>
              <tbody>
                {fields.map(([key, field]) => (
                  <FieldRow fieldKey={key} field={field} csrf={p.csrf} moduleId={p.moduleId} />
                ))}
              </tbody>
            </table>
          </div>
          {useCan()('admin') && (
            <>
              <h2>{c.paste}</h2>
              <form method="post" action={consolePath('cataloguePaste')} class="stack">
                <Csrf token={p.csrf} />
                <input type="hidden" name="moduleId" value={p.moduleId} />
                <label for="capture">{c.pasteHelp}</label>
                <textarea id="capture" name="capture" rows={8} spellcheck={false}>
                  {p.paste ?? ''}
                </textarea>
                <button type="submit">{c.pasteButton}</button>
              </form>
              <h2>{c.add}</h2>
              <form method="post" action={consolePath('catalogueField')} class="stack">
                <Csrf token={p.csrf} />
                <input type="hidden" name="moduleId" value={p.moduleId} />
                <label>
                  {c.key} <input name="key" maxlength={64} autocomplete="off" />
                </label>
                <label>
                  {c.label} <input name="label" maxlength={100} />
                </label>
                <label for="type-new">{c.type}</label>
                <TypeSelect value="text" id="type-new" />
                <label>
                  {c.optionLines}
                  <textarea name="options" rows={3} spellcheck={false}></textarea>
                </label>
                <button type="submit">{c.save}</button>
              </form>
            </>
          )}
        </>
      )}
    </Layout>
  );
}
