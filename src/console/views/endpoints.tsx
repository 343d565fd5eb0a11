import type { EndpointHealth } from '../../deliveries/stats';
import type { DeliverySummary } from '../../deliveries/store';
import type { StoredEndpoint } from '../../endpoints/schema';
import type { WebhookUrl } from '../../endpoints/url';
import { PRESETS, type Preset } from '../../presets';
import type { Catalogue, KnownProductLine } from '../../endpoints/catalogue';
import { EMPTY_ROW, UPDATE_MODES, type FormState, type Row } from '../mapping-form';
import type { PreviewResult } from '../../pipeline/preview';
import { PreviewResultView } from './deliveries';
import { Csrf, Issues, Layout, Notice, Time } from './layout';
import { consolePath, consolePathWith } from '../paths';
import { useCan, useT, type Messages } from '../i18n';
import { RECIPES_ZH } from '../i18n/recipes';

type Issue = { path: string; message: string };

export function EndpointsPage(p: {
  endpoints: StoredEndpoint[];
  next: string | null;
  health: Map<string, EndpointHealth>;
  held: Map<string, number>;
  csrf: string;
}) {
  const t = useT();
  const e_ = t.endpoints;
  return (
    <Layout title={e_.title} nav="endpoints" csrf={p.csrf}>
      <p>
        {useCan()('admin') && (
          <a class="button" href={consolePath('newEndpoint')}>
            {e_.new}
          </a>
        )}{' '}
        <a href={consolePath('crmConnect')}>{t.crm.link}</a> · <a href={consolePath('catalogue')}>{t.catalogue.link}</a>
      </p>
      {p.endpoints.length === 0 ? (
        <p class="muted">{e_.none}</p>
      ) : (
        <ul class="cards">
          {p.endpoints.map((e) => {
            const h = p.health.get(e.id);
            const rate =
              h?.rate == null ? e_.noDeliveries : e_.rate(Math.round(h.rate * 1000) / 10, h.ok, h.ok + h.failed);
            return (
              <li>
                <a href={consolePath('endpoint', { id: e.id })}>
                  <strong>{e.id}</strong>
                </a>{' '}
                <span class={`status g-${e.config.enabled ? 'ok' : 'other'}`}>
                  {e.config.enabled ? e_.enabled : e_.paused}
                </span>
                {(p.held.get(e.id) ?? 0) > 0 && (
                  <div>
                    <a href={consolePathWith('deliveries', { endpoint: e.id, status: 'held' })}>
                      {e_.held(p.held.get(e.id) ?? 0)}
                    </a>
                  </div>
                )}
                <div>
                  {e.config.name}
                  {e.config.preset ? e_.preset(e.config.preset) : ''}
                </div>
                <div class={h && h.failed > 0 ? 'bad' : 'muted'}>{rate}</div>
                <div>
                  <a href={consolePathWith('deliveries', { endpoint: e.id, range: '24h' })}>{e_.deliveries}</a> ·{' '}
                  <a href={consolePath('endpointTrends', { id: e.id })}>{t.trends.link}</a>
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {p.next && (
        <p>
          <a class="button secondary" href={consolePathWith('endpoints', { cursor: p.next })}>
            {e_.more}
          </a>
        </p>
      )}
    </Layout>
  );
}

export type SampleField = { path: string; value: string };

export type EditorProps = {
  csrf: string;
  /** null for a new endpoint (the id is typed in). */
  endpoint: StoredEndpoint | null;
  id: string;
  configText: string;
  issues: Issue[];
  warnings: string[];
  saved?: 'created' | 'saved';
  /** The outcome of the secret field or the test button, shown at the top. */
  notice?: { kind: 'ok' | 'error'; text: string };
  url: WebhookUrl | null;
  /** The URL with the real token in it, for the signed-in admin (the endpoint's secret is in the vault), else null. */
  realUrl?: string | null;
  preset?: Preset;
  recent: DeliverySummary[];
  sample: { text: string; contentType: string; delivery: string };
  preview: PreviewPaneProps;
  /** The mapping as a form; null when the form cannot show this configuration (it opens in JSON, with a note). */
  form: FormState | null;
  /** Which of the two the user is editing: the form, or the JSON (advanced). */
  editing: 'form' | 'json';
  /** The module's field catalogue: its fields by label, a select's options by label. */
  catalogue: Catalogue;
  moduleId: string;
  /** The product lines 连接 CRM listed, offered by name. */
  productLines: KnownProductLine[];
  /** The secret the endpoint names, and whether the console can store it (SECRETS_KEY is set). */
  /** `previousUntil`: while the value replaced by the last rotation is still accepted (ISO). */
  secret: { name: string; settable: boolean; previousUntil: string | null } | null;
};

export type PreviewPaneProps = {
  result?: PreviewResult;
  issues?: Issue[];
  refusal?: string;
  fields?: SampleField[];
  json?: string;
};

/** The sample's fields (path and value), the list the source pickers are filled from. */
function SampleFields(p: { fields: SampleField[] }) {
  const t = useT();
  return (
    <div id="sample-fields" data-paths={JSON.stringify(p.fields.map((f) => f.path))}>
      <h3>{t.editor.sampleFields}</h3>
      {p.fields.length === 0 ? (
        <p class="muted">{t.editor.sampleFieldsHint}</p>
      ) : (
        <div class="scroll">
          <table class="fields">
            <thead>
              <tr>
                <th scope="col">{t.editor.field}</th>
                <th scope="col">{t.editor.value}</th>
              </tr>
            </thead>
            <tbody>
              {p.fields.map((f) => (
                <tr>
                  <td>
                    <code>{f.path}</code>
                  </td>
                  <td>{f.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/**
 * The preview pane (also answered alone, as a fragment, to the page's script): outcome, sample fields, generated JSON.
 */
export function PreviewPane(p: PreviewPaneProps) {
  const t = useT();
  return (
    <div id="preview" aria-live="polite">
      {p.refusal && (
        <Notice kind="error">
          <p>{p.refusal}</p>
        </Notice>
      )}
      {p.issues && p.issues.length > 0 && (
        <Notice kind="error">
          <p>{t.preview.fixFirst}</p>
        </Notice>
      )}
      {p.result ? (
        <PreviewResultView result={p.result} />
      ) : (
        !p.refusal && !p.issues?.length && <p class="muted">{t.preview.hint}</p>
      )}
      <SampleFields fields={p.fields ?? []} />
      {p.json !== undefined && <template id="config-json">{p.json}</template>}
    </div>
  );
}

/**
 * The pipeline's sentences a marketer meets most, in the console's language (the English text is the API's): how to
 * put the token into the URL, and a secret not set yet (pointing to the console's own field, not to wrangler).
 */
export function localized(t: Messages, text: string): string {
  const token = /^Replace <([A-Z][A-Z0-9_]*)> with the value of the secret \1\.$/.exec(text);
  if (token) return t.editor.howToSendToken(token[1]!);
  const unset = /^secret ([A-Z][A-Z0-9_]*) is not set yet:/.exec(text);
  if (unset) return t.editor.secretNotSet(unset[1]!);
  return text;
}

/** The whole URL to copy, what else the sender must be told, the preset's recipe, and the secret field. */
function UrlSection(
  p: Pick<EditorProps, 'preset' | 'endpoint' | 'secret' | 'csrf' | 'realUrl'> & {
    url: NonNullable<EditorProps['url']>;
  },
) {
  const t = useT();
  return (
    <section class="url">
      <label for="url">{t.editor.url}</label>
      <div class="copy">
        <input id="url" readonly value={p.url.url} />
        <button type="button" data-copy="url" data-copied={t.editor.copied}>
          {t.editor.copy}
        </button>
      </div>
      {p.url.howToSend && <p class="how-to-send">{localized(t, p.url.howToSend)}</p>}
      {p.realUrl && (
        <details class="real-url">
          <summary>{t.editor.revealUrl}</summary>
          <p class="muted">{t.editor.revealUrlHint}</p>
          <div class="copy">
            <input id="real-url" readonly value={p.realUrl} />
            <button type="button" data-copy="real-url" data-copied={t.editor.copied}>
              {t.editor.copy}
            </button>
          </div>
        </details>
      )}
      {p.preset && (
        <p class="recipe">
          <strong>{p.preset.title}:</strong> {(t.lang === 'zh-CN' && RECIPES_ZH[p.preset.name]) || p.preset.recipe}
        </p>
      )}
      {p.endpoint && p.secret && useCan()('admin') && (
        <form method="post" action={consolePath('endpointSecret', { id: p.endpoint.id })} class="secret">
          <Csrf token={p.csrf} />
          <input type="hidden" name="name" value={p.secret.name} />
          <label for="secret-value">{`${t.editor.secretValue} (${p.secret.name})`}</label>
          <div class="copy">
            <input
              id="secret-value"
              name="value"
              type="password"
              autocomplete="off"
              required
              disabled={!p.secret.settable}
            />
            <button type="submit" disabled={!p.secret.settable}>
              {t.editor.setSecret}
            </button>
          </div>
          <label for="secret-grace">{t.editor.secretGrace}</label>
          <select id="secret-grace" name="graceHours" disabled={!p.secret.settable}>
            {[24, 72, 1, 0].map((h) => (
              <option value={String(h)} selected={h === 24}>
                {t.editor.secretGraceHours(h)}
              </option>
            ))}
          </select>
          {p.secret.previousUntil && (
            <p class="muted secret-previous">
              {t.editor.secretPrevious} <Time ms={Date.parse(p.secret.previousUntil)} />
            </p>
          )}
          {!p.secret.settable && <p class="muted">{t.editor.secretNoKey}</p>}
        </form>
      )}
      {p.endpoint && (
        <p class="muted">
          {t.editor.revision(p.endpoint.revision)} <Time ms={p.endpoint.updatedAt} />
        </p>
      )}
    </section>
  );
}

/** A picker of sample fields: the sample's paths, plus the current one when the sample does not have it. */
function FieldPicker(p: { name: string; id?: string; value: string; paths: string[]; none: string; label?: string }) {
  const paths = p.value && !p.paths.includes(p.value) ? [p.value, ...p.paths] : p.paths;
  return (
    <select name={p.name} id={p.id} class="source-field" aria-label={p.label}>
      <option value="">{p.none}</option>
      {paths.map((path) => (
        <option value={path} selected={path === p.value}>
          {path}
        </option>
      ))}
    </select>
  );
}

/** A new endpoint's id, as it will appear in /hooks/{id}. */
function IdField(p: { id: string }) {
  return (
    <label>
      {useT().editor.id} <input name="id" value={p.id} required pattern="[a-z0-9][a-z0-9\-]{0,63}" autocomplete="off" />
    </label>
  );
}

/** The keys the chosen preset fills in (the endpoint's own keys override them). */
function PresetSets(p: { name: string }) {
  const preset: Preset | undefined = (PRESETS as Record<string, Preset>)[p.name];
  if (!preset) return null;
  return (
    <p class="muted preset-sets">
      {`${useT().editor.presetSets}: `}
      {Object.keys(preset.config).map((k) => (
        <code>{k}</code>
      ))}
    </p>
  );
}

const LOOKUP_KEYS = ['phone', 'clue_id', 'lead_id', 'email', 'wechat'];

/** How the customer is found (its id, or a lookup key and the field it comes from) and how it is updated. */
function CustomerFields(p: { form: FormState; paths: string[] }) {
  const t = useT();
  const f = p.form;
  const keys = f.lookupKey && !LOOKUP_KEYS.includes(f.lookupKey) ? [f.lookupKey, ...LOOKUP_KEYS] : LOOKUP_KEYS;
  return (
    <>
      <h3>{t.editor.customer}</h3>
      <label for="customerId">{t.editor.customerId}</label>
      <FieldPicker
        name="customerId"
        id="customerId"
        value={f.customerId}
        paths={p.paths}
        none={t.editor.customerIdNone}
      />
      <div class="pair">
        <label>
          {t.editor.lookupKey}
          <select name="lookupKey">
            <option value="">{t.editor.lookupNone}</option>
            {keys.map((k) => (
              <option value={k} selected={k === f.lookupKey}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <div>
          <label for="lookupFrom">{t.editor.lookupFrom}</label>
          <FieldPicker
            name="lookupFrom"
            id="lookupFrom"
            value={f.lookupFrom}
            paths={p.paths}
            none={t.editor.pickField}
          />
        </div>
      </div>
      <label>
        {t.editor.updateMode}
        <select name="updateMode">
          {UPDATE_MODES.map((m) => (
            <option value={m} selected={m === f.updateMode}>
              {t.editor.modes[m]}
            </option>
          ))}
        </select>
      </label>
      <label id="on-unmatched">
        {t.editor.onUnmatched}
        <select name="onUnmatched">
          {(['keep', 'create'] as const).map((o) => (
            <option value={o} selected={o === f.onUnmatched}>
              {t.editor.onUnmatchedChoices[o]}
            </option>
          ))}
        </select>
      </label>
      <p class="muted">{t.editor.onUnmatchedHelp}</p>
    </>
  );
}

/** Sender, CRM module, secret name, the customer and the update mode. */
function BasicsFieldset(p: {
  form: FormState;
  paths: string[];
  isNew: boolean;
  id: string;
  productLines: KnownProductLine[];
}) {
  const t = useT();
  const f = p.form;
  return (
    <fieldset class="basics">
      {p.isNew && <IdField id={p.id} />}
      <label>
        {t.editor.sender}
        <select name="preset" id="preset">
          <option value="">{t.editor.senderNone}</option>
          {Object.values(PRESETS).map((preset) => (
            <option value={preset.name} selected={f.preset === preset.name} title={preset.recipe}>
              {preset.title}
            </option>
          ))}
        </select>
      </label>
      <PresetSets name={f.preset} />
      <label>
        {t.editor.name} <input name="name" value={f.name} required maxlength={200} />
      </label>
      <label>
        {t.editor.moduleId} <input name="moduleId" value={f.moduleId} inputmode="numeric" required />
      </label>
      <label>
        {t.editor.productLineId}{' '}
        <input
          name="productLineId"
          value={f.productLineId}
          inputmode="numeric"
          required
          list="product-lines"
          autocomplete="off"
        />
      </label>
      <datalist id="product-lines">
        {p.productLines.map((l) => (
          <option value={l.id} label={l.name} />
        ))}
      </datalist>
      {p.productLines.some((l) => l.id === f.productLineId) && (
        <p class="muted">
          {t.editor.productLineName} {p.productLines.find((l) => l.id === f.productLineId)!.name}
        </p>
      )}
      <label>
        {t.editor.secretName} <input name="secret" value={f.secret} pattern="[A-Z][A-Z0-9_]*" autocomplete="off" />
      </label>
      <CustomerFields form={f} paths={p.paths} />
    </fieldset>
  );
}

/** One `CRM field ← source` row. */
function MappingRow(p: { row: Row; i: number; paths: string[]; catalogue: Catalogue }) {
  const t = useT();
  const e = t.editor;
  const r = p.row;
  const n = (k: string) => `row.${p.i}.${k}`;
  return (
    <li class="maprow" data-kind={r.kind}>
      <label>
        {e.crmField} <input name={n('field')} value={r.field} list="crm-fields" autocomplete="off" maxlength={100} />
      </label>
      <label>
        {e.crmFieldLabel} <input name={n('label')} value={r.label} />
      </label>
      <label>
        {e.source}
        <select name={n('kind')} class="kind">
          <option value="field" selected={r.kind === 'field'}>
            {e.sourceField}
          </option>
          <option value="constant" selected={r.kind === 'constant'}>
            {e.sourceConstant}
          </option>
          <option value="map" selected={r.kind === 'map'}>
            {e.sourceMap}
          </option>
        </select>
      </label>
      <div class="if-field if-map">
        <label for={`row-${p.i}-from`}>{e.from}</label>
        <FieldPicker name={n('from')} id={`row-${p.i}-from`} value={r.from} paths={p.paths} none={e.pickField} />
      </div>
      <label class="if-constant">
        {e.constant} <input name={n('value')} value={r.value} />
      </label>
      <label class="if-map">
        {e.map}
        <textarea name={n('map')} rows={3} spellcheck={false}>
          {r.map}
        </textarea>
      </label>
      <OptionHint catalogue={p.catalogue} field={r.field} />
      <span class="toggles">
        <label class="check">
          <input type="checkbox" name={n('required')} checked={r.required} /> {e.required}
        </label>
        <label class="check">
          <input type="checkbox" name={n('keep')} checked={r.keep} /> {e.keep}
        </label>
      </span>
    </li>
  );
}

/** The options a select row may name, by label (the value map takes them as typed: `sample value = option label`). */
function OptionHint(p: { catalogue: Catalogue; field: string }) {
  const e = useT().editor;
  const options = Object.hasOwn(p.catalogue.fields, p.field)
    ? Object.values(p.catalogue.fields[p.field]!.options).filter(Boolean)
    : [];
  if (options.length === 0) return null;
  const shown = options.slice(0, 30);
  return (
    <p class="muted if-map hint">
      {e.optionsKnown} {shown.join('、')}
      {options.length > shown.length ? ` … (${options.length})` : ''}
    </p>
  );
}

/** The name the console gives one of the CRM's own fields (`name` → 姓名), or '' for any other key (`toString` too). */
export const builtInLabel = (t: Messages, key: string): string =>
  Object.hasOwn(t.editor.builtIn, key) ? (t.editor.builtIn as Record<string, string>)[key]! : '';

/** The CRM fields a row may name: the module's catalogue, by label (the CRM's own fields first). */
function CrmFieldList(p: { catalogue: Catalogue; t: Messages }) {
  return (
    <datalist id="crm-fields">
      {Object.entries(p.catalogue.fields).map(([f, field]) => (
        <option value={f} label={field.label || builtInLabel(p.t, f) || f} />
      ))}
    </datalist>
  );
}

/** The sample to preview with (a recent delivery, or one pasted) and the preview itself. */
function PreviewSection(p: Pick<EditorProps, 'recent' | 'sample' | 'preview' | 'endpoint'> & { action: string }) {
  const t = useT();
  const e = t.editor;
  return (
    <div class="pane">
      <h2>{e.preview}</h2>
      <label for="delivery">{e.recent}</label>
      <select id="delivery" name="delivery">
        <option value="">{e.recentNone}</option>
        {p.recent.map((d) => {
          const suffix = ` · ${t.status[d.status][0]} ${d.customerId ?? ''}`;
          return (
            <option value={d.id} selected={p.sample.delivery === d.id} data-time={d.receivedAt} data-suffix={suffix}>
              {`${d.receivedAt.slice(0, 19).replace('T', ' ')} UTC${suffix}`}
            </option>
          );
        })}
      </select>
      <label for="sample">{e.sample}</label>
      <textarea id="sample" name="sample" rows={8} spellcheck={false}>
        {p.sample.text}
      </textarea>
      <label for="contentType">{e.contentType}</label>
      <input id="contentType" name="contentType" value={p.sample.contentType} />
      <p>
        <button type="submit" formaction={p.action} class="secondary">
          {e.previewButton}
        </button>{' '}
        {p.endpoint && (
          <button
            type="submit"
            formaction={consolePath('endpointTest', { id: p.endpoint.id })}
            class="secondary"
            title={e.sendTestHelp}
          >
            {e.sendTest}
          </button>
        )}{' '}
        <span class="muted">{e.previewHelp}</span>
      </p>
      <PreviewPane {...p.preview} />
    </div>
  );
}

/** The mapping as a form: the basics, then one row per CRM field (and one empty row to fill in). */
function MappingForm(p: Omit<EditorProps, 'preview'> & { form: FormState; preview: string; pane: PreviewPaneProps }) {
  const t = useT();
  const e = t.editor;
  const paths = (p.pane.fields ?? []).map((f) => f.path);
  // one empty row to fill in (three for a mapping still empty); "Add a field" asks for more
  const rows = [...p.form.rows, ...(p.form.rows.length ? [EMPTY_ROW] : [EMPTY_ROW, EMPTY_ROW, EMPTY_ROW])];
  return (
    <>
      <BasicsFieldset form={p.form} paths={paths} isNew={!p.endpoint} id={p.id} productLines={p.productLines} />
      <fieldset class="mapping">
        <legend>{e.mapping}</legend>
        <CrmFieldList catalogue={p.catalogue} t={t} />
        <p class="muted">
          <a href={consolePathWith('catalogue', { moduleId: p.form.moduleId })}>{e.catalogueLink}</a> ·{' '}
          {e.catalogueHelp}
        </p>
        <ol class="maprows">
          {rows.map((row, i) => (
            <MappingRow row={row} i={i} paths={paths} catalogue={p.catalogue} />
          ))}
        </ol>
        <button type="submit" formaction={p.preview} class="secondary" name="addRow" value="1">
          {e.addRow}
        </button>
      </fieldset>
      {useCan()('admin') && (
        <p>
          <button type="submit" name="save" value="form">
            {p.endpoint ? e.save : e.create}
          </button>
        </p>
      )}
    </>
  );
}

/** A configuration the form cannot show: the id field for a new one, and the note that it opens in JSON. */
function JsonOnlyNote(p: { endpoint: StoredEndpoint | null; id: string }) {
  return (
    <>
      {!p.endpoint && <IdField id={p.id} />}
      <Notice kind="warn">
        <p>{useT().editor.jsonOnly}</p>
      </Notice>
    </>
  );
}

/** The configuration as JSON: closed while the form is what is edited, open when the form cannot show it. */
function AdvancedJson(p: EditorProps) {
  const e = useT().editor;
  return (
    <details class="advanced" open={!p.form || p.editing === 'json' ? true : undefined}>
      <summary>{e.advanced}</summary>
      <label for="config">{e.json}</label>
      <textarea
        id="config"
        name="config"
        rows={20}
        spellcheck={false}
        aria-describedby="config-issues"
        aria-invalid={p.issues.length > 0 ? 'true' : undefined}
      >
        {p.configText}
      </textarea>
      {useCan()('admin') && (
        <p>
          <button type="submit" name="save" value="json">
            {p.endpoint ? e.save : e.create}
          </button>
        </p>
      )}
    </details>
  );
}

export function EditorPage(p: EditorProps) {
  const t = useT();
  const e = t.editor;
  const action = p.endpoint ? consolePath('endpoint', { id: p.endpoint.id }) : consolePath('endpoints');
  const preview = p.endpoint
    ? consolePath('endpointPreview', { id: p.endpoint.id })
    : consolePath('newEndpointPreview');
  return (
    <Layout title={p.endpoint ? e.title(p.endpoint.id) : e.titleNew} nav="endpoints" csrf={p.csrf}>
      {p.saved && (
        <Notice kind="ok">
          <p>{p.saved === 'created' ? e.created : e.saved}</p>
        </Notice>
      )}
      {p.notice && (
        <Notice kind={p.notice.kind}>
          <p>{p.notice.text}</p>
        </Notice>
      )}
      {p.warnings.length > 0 && (
        <Notice kind="warn">
          <ul>
            {p.warnings.map((w) => (
              <li>{localized(t, w)}</li>
            ))}
          </ul>
        </Notice>
      )}
      {p.endpoint && (
        <p>
          <a href={consolePath('endpointVersions', { id: p.endpoint.id })}>{t.versions.link}</a> ·{' '}
          <a href={consolePath('endpointTrends', { id: p.endpoint.id })}>{t.trends.link}</a>
        </p>
      )}
      {p.url && (
        <UrlSection
          url={p.url}
          realUrl={p.realUrl}
          preset={p.preset}
          endpoint={p.endpoint}
          secret={p.secret}
          csrf={p.csrf}
        />
      )}
      <form method="post" action={action} class="editor" id="editor" data-preview={preview}>
        <Csrf token={p.csrf} />
        <input type="hidden" name="editing" value={p.editing} />
        <div class="pane">
          <Issues id="config-issues" issues={p.issues} />
          {p.form ? (
            <MappingForm {...p} form={p.form} preview={preview} pane={p.preview} />
          ) : (
            <JsonOnlyNote endpoint={p.endpoint} id={p.id} />
          )}
          <AdvancedJson {...p} />
        </div>
        <PreviewSection
          recent={p.recent}
          sample={p.sample}
          preview={p.preview}
          action={preview}
          endpoint={p.endpoint}
        />
      </form>
    </Layout>
  );
}
