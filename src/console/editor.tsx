/**
 * The endpoint pages of the console: the list, and the editor of a new or stored endpoint (the mapping form and its
 * JSON, the live preview, Send a test, the secret field). The form's reading and writing is ./mapping-form.ts.
 */
import type { Hono } from 'hono/tiny';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import * as z from '../shared/zod';
import { crmSettings } from '../crm/client';
import { healthOf, healthStatement } from '../deliveries/stats';
import { listDeliveries } from '../deliveries/store';
import { checkConfig, saveEndpoint, warningsFor, type Issue } from '../endpoints/save';
import { CrmId, EndpointId, formatIssues, type StoredEndpoint } from '../endpoints/schema';
import { getEndpoint, listEndpointsPage } from '../endpoints/store';
import { webhookUrl } from '../endpoints/url';
import { ApiError } from '../http/errors';
import { PRESETS } from '../presets';
import { previewWebhook, sampleView, storedSample, type Sample } from '../pipeline/preview';
import { heldCounts, releaseHeld } from '../pipeline/replay';
import { coordinationOf } from '../coordination';
import { parseJsonLossless } from '../receive/json';
import { utf8 } from '../verify/crypto';
import { consolePathWith, ROUTES } from './paths';
import {
  EMPTY_ROW,
  fromForm,
  readForm,
  resolveForm,
  sampleFields,
  toForm,
  type FormIssue,
  type FormState,
} from './mapping-form';
import { CUSTOMER_MODULE_ID, emptyCatalogue, knownProductLines, type Catalogue } from '../endpoints/catalogue';
import { learnedCatalogue, readCatalogue, rememberFields } from '../endpoints/catalogue-store';
import { setSecret } from '../secrets/set';
import { webhookSecretsOf } from '../secrets/handoff';
import {
  DEFAULT_GRACE_HOURS,
  masterKey,
  MAX_GRACE_HOURS,
  previousValidUntil,
  readSecretCached,
} from '../secrets/vault';
import { isRecord } from '../shared/json';
import { EditorPage, EndpointsPage, PreviewPane, type EditorProps, type PreviewPaneProps } from './views/endpoints';
import { Issues } from './views/layout';
import { TrendsPage } from './views/trends';
import { endpointTrend, type TrendRange } from '../watch/trends';
import { CATALOGUES } from './i18n';
import { type C, type ConsoleEnv, issueText, refuse, render, tOf } from './page';

/** A new endpoint starts as a 金数据 form: the sender most of our users connect first. */
const NEW_CONFIG = {
  preset: 'jinshuju',
  name: '',
  crm: { moduleId: '', productLineId: '' },
  fields: {},
};

type EditorState = {
  id: string;
  /** The document being edited (what the JSON textarea shows). */
  configText: string;
  editing?: 'form' | 'json';
  /** The form as the user left it (after a refused save or a preview); else read from configText. */
  form?: FormState | null;
  issues?: Issue[];
  sample?: EditorProps['sample'];
  preview?: PreviewPaneProps;
  saved?: EditorProps['saved'];
  notice?: EditorProps['notice'];
};

/**
 * The editor for a stored endpoint (or a new one when `endpoint` is null), with its URL, recipe, recent deliveries and
 * warnings.
 */
async function editorPage(
  c: C,
  endpoint: StoredEndpoint | null,
  state: EditorState,
  status: ContentfulStatusCode = 200,
) {
  const recent = endpoint
    ? (await listDeliveries(c.env.DB, { endpoint: endpoint.id, limit: 10 })).deliveries.filter((d) => d.replayable)
    : [];
  let sample = state.sample;
  let preview = state.preview;
  if (!sample) {
    // a stored endpoint opens with a preview of its newest replayable delivery
    sample = { text: '', contentType: 'application/json', delivery: recent[0]?.id ?? '' };
    if (endpoint && recent[0]) preview = await previewOf(c, endpoint.config, sample);
  }
  const config = endpoint?.config;
  const doc = parseConfigText(state.configText);
  const moduleId = state.form?.moduleId ?? config?.crm.moduleId ?? '';
  const catalogue = await learnedCatalogue(c.env, moduleId);
  const form = state.form !== undefined ? state.form : doc.ok ? formOf(doc.value, catalogue) : null;
  const secretName =
    config?.verify && 'secret' in config.verify && typeof config.verify.secret === 'string'
      ? config.verify.secret
      : null;
  return render(
    c,
    <EditorPage
      csrf={c.get('session').csrf}
      endpoint={endpoint}
      id={state.id}
      configText={state.configText}
      issues={state.issues ?? []}
      warnings={
        config && !state.issues?.length
          ? await warningsFor(config, c.env, webhookSecretsOf(c.req.raw.headers)?.names)
          : []
      }
      saved={state.saved}
      notice={state.notice}
      url={endpoint ? webhookUrl(c.req.url, endpoint) : null}
      realUrl={endpoint ? await realWebhookUrl(c, endpoint) : null}
      preset={config?.preset ? PRESETS[config.preset] : undefined}
      recent={recent}
      sample={sample}
      preview={preview ?? {}}
      form={form}
      editing={form ? (state.editing ?? 'form') : 'json'}
      catalogue={catalogue}
      moduleId={moduleId}
      productLines={await knownProductLines(c.env.ENDPOINTS)}
      secret={
        secretName
          ? {
              name: secretName,
              settable: masterKey(c.env).ok,
              previousUntil: await previousValidUntil(c.env.ENDPOINTS, secretName),
            }
          : null
      }
    />,
    status,
  );
}

/**
 * The URL to paste with the real token in it, for the signed-in admin, when the endpoint reads a token from the query
 * and its secret is in the vault: shown behind a reveal, never logged, stored or answered by the API.
 */
async function realWebhookUrl(c: C, endpoint: StoredEndpoint): Promise<string | null> {
  const verify = endpoint.config.verify;
  if (verify.type !== 'token' || !verify.query || typeof verify.secret !== 'string') return null;
  const stored = await readSecretCached(c.env.ENDPOINTS, c.env.SECRETS_KEY, verify.secret).catch(() => undefined);
  if (!stored) return null;
  const url = new URL(`/hooks/${endpoint.id}`, c.req.url);
  url.searchParams.set(verify.query, stored.value);
  return url.toString();
}

/** The form for a document, or null when the form cannot show it. */
function formOf(doc: unknown, catalogue: Catalogue): FormState | null {
  const read = toForm(doc, catalogue);
  return read.ok ? read.state : null;
}

const SAVED = { created: 'created', saved: 'saved' } as const;

/** The sample the editor previews and tests with. */
const SampleForm = z.object({
  sample: z._default(z.string().check(z.maxLength(1024 * 1024)), ''),
  contentType: z._default(z.string().check(z.maxLength(200)), 'application/json'),
  delivery: z._default(z.string().check(z.maxLength(26)), ''),
});

const EditorForm = z.object({
  config: z.string().check(z.maxLength(256 * 1024)),
  sample: SampleForm.shape.sample,
  contentType: SampleForm.shape.contentType,
  delivery: SampleForm.shape.delivery,
  /** Which one the user edits (the page's script says json once the textarea is typed in); `save` (the button) wins. */
  editing: z._default(z.string(), 'form'),
  save: z.optional(z.string()),
});

/** The configuration text as JSON (ids above 2^53 keep their digits), or the issue to show beside it. */
function parseConfigText(text: string): { ok: true; value: unknown } | { ok: false; issues: Issue[] } {
  try {
    return { ok: true, value: parseJsonLossless(text) };
  } catch (err) {
    return { ok: false, issues: [{ path: '', message: (err as Error).message }] };
  }
}

/**
 * The document the editor's form stands for: the form's values over the JSON document (which carries every key the
 * form does not show), or the JSON alone when the user edits JSON (or the form cannot show the document).
 */
async function editedDocument(
  c: C,
  body: Record<string, string | File | (string | File)[]>,
  f: z.infer<typeof EditorForm>,
) {
  const doc = parseConfigText(f.config);
  // a post without the form's fields (a script, an older page) is the JSON alone
  const editing: 'form' | 'json' = (f.save ?? f.editing) === 'json' || !('moduleId' in body) ? 'json' : 'form';
  const none: Issue[] = [];
  if (!doc.ok)
    return {
      doc: { ok: false as const, issues: doc.issues.map((i) => ({ ...i, message: tOf(c).editor.notJson(i.message) })) },
      editing,
      form: null,
      named: none,
    };
  const current = formOf(doc.value, emptyCatalogue());
  if (editing === 'json' || !current || !isRecord(doc.value))
    return { doc, editing: 'json' as const, form: current, named: none };
  const form = readForm(body);
  // the names typed (a field's label, an option's label) as the CRM's ids
  const resolved = resolveForm(form, await readCatalogue(c.env, form.moduleId), BUILT_IN_NAMES);
  const named = resolved.issues.map((i) => ({ path: i.path, message: formIssueText(c, i) }));
  return {
    doc: { ok: true as const, value: fromForm(resolved.state, doc.value) },
    editing,
    form,
    resolved: resolved.state,
    named,
  };
}

/** The names the console gives the CRM's own fields, in either language (姓名, Mobile …), as their keys. */
const BUILT_IN_NAMES: Record<string, string> = Object.assign(
  Object.create(null),
  ...Object.values(CATALOGUES).map((m) =>
    Object.fromEntries(Object.entries(m.editor.builtIn).map(([key, name]) => [name, key])),
  ),
);

function formIssueText(c: C, i: FormIssue): string {
  const e = tOf(c).editor;
  return i.problem === 'unknown_field' ? e.unknownField(i.value) : e.unknownOption(i.field, i.value);
}

/** The sample the editor was given: the text typed (it wins over the pre-selected delivery), else that delivery. */
async function sampleOf(c: C, s: EditorProps['sample']): Promise<{ sample?: Sample; refusal?: string }> {
  if (s.delivery && !s.text.trim()) {
    const stored = await storedSample(c.env.DB, s.delivery);
    return stored.ok
      ? { sample: stored.sample }
      : { refusal: tOf(c).editor.sampleDelivery(s.delivery, stored.message) };
  }
  if (!s.text.trim()) return {};
  return {
    sample: {
      bytes: utf8(s.text),
      contentType: s.contentType || null,
      headers: { 'content-type': s.contentType },
      query: {},
    },
  };
}

/** The preview pane: the outcome under a valid configuration, and the sample's fields to pick from in any case. */
async function previewOf(
  c: C,
  config: Parameters<typeof previewWebhook>[2] | null,
  s: EditorProps['sample'],
  options: { mapping?: Parameters<typeof previewWebhook>[4]; preset?: string; issues?: Issue[] } = {},
): Promise<PreviewPaneProps> {
  const { sample, refusal } = await sampleOf(c, s);
  if (!sample) return { refusal, issues: options.issues };
  if (!config) return { issues: options.issues, fields: sampleFields(await sampleView(options.preset, sample)) };
  const result = await previewWebhook(c.env.DB, crmSettings(c.env), config, sample, options.mapping);
  return { result, fields: sampleFields(result.view ?? (await sampleView(config.preset, sample, config.redact))) };
}

/**
 * The editor's form as posted: the sample, the document it stands for (see editedDocument) and that document's text.
 */
async function readEditorForm(c: C) {
  const body = await c.req.parseBody();
  const form = EditorForm.safeParse(body);
  if (!form.success) return { ok: false as const, refusal: refuse(c, 400, 'validation_failed', issueText(form.error)) };
  const f = form.data;
  const edited = await editedDocument(c, body, f);
  const json = edited.doc.ok ? JSON.stringify(edited.doc.value, null, 2) : f.config;
  return {
    ok: true as const,
    body,
    sample: { text: f.sample, contentType: f.contentType, delivery: f.delivery },
    edited,
    json,
  };
}

/** Save (or create) from the editor form: errors are shown beside the configuration, with status 400. */
async function saveFromForm(c: C, endpoint: StoredEndpoint | null, id: string) {
  const posted = await readEditorForm(c);
  if (!posted.ok) return posted.refusal;
  const { sample, edited, json: text } = posted;
  const again = (issues: Issue[]) =>
    editorPage(c, endpoint, { id, configText: text, editing: edited.editing, form: edited.form, issues, sample }, 400);
  const idCheck = EndpointId.safeParse(id);
  if (!idCheck.success) return again(formatIssues(idCheck.error).map((i) => ({ path: 'id', message: i.message })));
  if (!endpoint && (await getEndpoint(c.env.ENDPOINTS, id)))
    return again([{ path: 'id', message: tOf(c).editor.exists(id) }]);
  if (!edited.doc.ok) return again(edited.doc.issues);
  if (edited.named.length) return again(edited.named);
  const saved = await saveEndpoint(c.env, id, edited.doc.value, c.get('person')?.who ?? 'admin');
  if (!saved.ok) return again(saved.issues);
  c.set('auditDetail', { targetId: id, version: saved.version, created: saved.created });
  if (saved.endpoint.config.enabled)
    await releaseHeld(c.env.DB, c.env.DELIVERY_QUEUE, coordinationOf(c.env), id, Date.now());
  if (edited.editing === 'form' && edited.resolved)
    await rememberFields(c.env, saved.endpoint.config.crm.moduleId, edited.resolved.rows);
  return c.redirect(consolePathWith('endpoint', { saved: saved.created ? 'created' : 'saved' }, { id }), 303);
}

/** The endpoint a route names, or 404. */
async function endpointOf(c: C): Promise<StoredEndpoint> {
  const endpoint = await getEndpoint(c.env.ENDPOINTS, c.req.param('id') ?? '');
  if (!endpoint) throw new ApiError(404, 'not_found', tOf(c).refusal.noEndpoint);
  return endpoint;
}

/** Preview of the configuration being edited (saved or not): the page's script asks for the fragment only. */
async function previewFromForm(c: C, endpoint: StoredEndpoint | null) {
  const posted = await readEditorForm(c);
  if (!posted.ok) return posted.refusal;
  const { body, sample, edited, json } = posted;
  const checked = edited.doc.ok ? checkConfig(edited.doc.value) : edited.doc;
  const issues = [...edited.named, ...(checked.ok ? [] : checked.issues)];
  const preset =
    edited.doc.ok && isRecord(edited.doc.value) && typeof edited.doc.value.preset === 'string'
      ? edited.doc.value.preset
      : undefined;
  const pane: PreviewPaneProps = {
    ...(checked.ok
      ? await previewOf(c, checked.config, sample, { mapping: checked.mapping })
      : await previewOf(c, null, sample, { preset, issues })),
    json: edited.editing === 'form' ? json : undefined,
  };
  if (c.req.header('x-console-fragment') === 'preview') {
    return render(
      c,
      <div>
        <Issues id="config-issues" issues={issues} />
        <PreviewPane {...pane} />
      </div>,
    );
  }
  const id = endpoint ? endpoint.id : String(body.id ?? '');
  // "Add a field" (no script needed): the same page with one more empty row
  const rows =
    edited.form && body.addRow ? { ...edited.form, rows: [...edited.form.rows, { ...EMPTY_ROW }] } : edited.form;
  return editorPage(c, endpoint, {
    id,
    configText: json,
    editing: edited.editing,
    form: rows,
    issues,
    sample,
    preview: pane,
  });
}

/** "Send a test": the pasted sample (or the picked delivery) through the endpoint *as saved*, shown as its preview. */
async function sendTest(c: C) {
  const endpoint = await endpointOf(c);
  const form = SampleForm.safeParse(await c.req.parseBody());
  if (!form.success) return refuse(c, 400, 'validation_failed', issueText(form.error));
  const sample = { text: form.data.sample, contentType: form.data.contentType, delivery: form.data.delivery };
  const t = tOf(c);
  const preview = await previewOf(c, endpoint.config, sample);
  const notice =
    preview.result || preview.refusal
      ? { kind: 'ok' as const, text: t.editor.tested }
      : { kind: 'error' as const, text: t.editor.testNeedsSample };
  return editorPage(
    c,
    endpoint,
    { id: endpoint.id, configText: JSON.stringify(endpoint.config, null, 2), sample, preview, notice },
    preview.result ? 200 : 400,
  );
}

/** The secret field beside the URL: stores the value the endpoint's verify.secret names (never shown again). */
async function setSecretFromForm(c: C) {
  const endpoint = await endpointOf(c);
  const body = await c.req.parseBody();
  const verify = endpoint.config.verify;
  const name = 'secret' in verify && typeof verify.secret === 'string' ? verify.secret : null;
  const value = typeof body.value === 'string' ? body.value.trim() : '';
  const t = tOf(c);
  const again = (text: string, status: ContentfulStatusCode) =>
    editorPage(
      c,
      endpoint,
      { id: endpoint.id, configText: JSON.stringify(endpoint.config, null, 2), notice: { kind: 'error', text } },
      status,
    );
  if (!name) return again(t.editor.secretNone, 400);
  if (!value || value.length > 4096) return again(t.reason.validation_failed, 400);
  const grace = Number(body.graceHours ?? DEFAULT_GRACE_HOURS);
  if (!Number.isFinite(grace) || grace < 0 || grace > MAX_GRACE_HOURS) return again(t.reason.validation_failed, 400);
  const set = await setSecret(c.env, name, value, grace, webhookSecretsOf(c.req.raw.headers));
  if (!set.ok) {
    const text =
      set.why === 'no_key'
        ? t.editor.secretNoKey
        : set.why === 'key_mismatch'
          ? t.editor.secretKeyMismatch
          : t.editor.secretWorker(name);
    return again(text, set.why === 'worker_secret' ? 409 : 503);
  }
  c.set('auditDetail', { secret: name, graceHours: grace });
  return c.redirect(consolePathWith('endpoint', { secret: name }, { id: endpoint.id }), 303);
}

/** An endpoint's editor, with the notice a redirect back asked for (`?saved=`, `?secret=`). */
async function storedEditor(c: C) {
  const endpoint = await endpointOf(c);
  const saved = SAVED[c.req.query('saved') as keyof typeof SAVED];
  const secret = c.req.query('secret');
  const notice = secret ? { kind: 'ok' as const, text: tOf(c).editor.secretSaved(secret) } : undefined;
  return editorPage(c, endpoint, {
    id: endpoint.id,
    configText: JSON.stringify(endpoint.config, null, 2),
    saved,
    notice,
  });
}

/** The endpoint pages: the list, the editor (new and existing), its preview, test and secret. */
export function endpointRoutes(pages: Hono<ConsoleEnv>) {
  pages.get(ROUTES.endpoints, async (c) => {
    const cursor = c.req.query('cursor')?.slice(0, 1024) || undefined;
    const [page, health, held] = await Promise.all([
      listEndpointsPage(c.env.ENDPOINTS, { limit: 100, cursor }).catch(() =>
        listEndpointsPage(c.env.ENDPOINTS, { limit: 100 }),
      ),
      healthStatement(c.env.DB, Date.now() - 86_400_000).all(),
      heldCounts(c.env.DB),
    ]);
    return render(
      c,
      <EndpointsPage
        endpoints={page.endpoints}
        next={page.next}
        health={healthOf(health.results)}
        held={held}
        csrf={c.get('session').csrf}
      />,
    );
  });
  pages.get(ROUTES.newEndpoint, (c) => {
    // picked on 连接 CRM: the product line (by name there), and the customer module the vendor documents as fixed
    const picked = CrmId.safeParse(c.req.query('productLineId') ?? '');
    const config = picked.success
      ? { ...NEW_CONFIG, crm: { moduleId: CUSTOMER_MODULE_ID, productLineId: picked.data } }
      : NEW_CONFIG;
    return editorPage(c, null, { id: '', configText: JSON.stringify(config, null, 2) });
  });
  pages.get(ROUTES.endpoint, storedEditor);
  pages.post(ROUTES.endpoints, async (c) => saveFromForm(c, null, String((await c.req.parseBody()).id ?? '').trim()));
  pages.post(ROUTES.endpoint, async (c) => {
    const endpoint = await endpointOf(c);
    return saveFromForm(c, endpoint, endpoint.id);
  });
  pages.post(ROUTES.newEndpointPreview, (c) => previewFromForm(c, null));
  pages.post(ROUTES.endpointPreview, async (c) => previewFromForm(c, await endpointOf(c)));
  pages.post(ROUTES.endpointTest, sendTest);
  pages.post(ROUTES.endpointSecret, setSecretFromForm);
  pages.get(ROUTES.endpointTrends, async (c) => {
    const endpoint = await endpointOf(c);
    const asked = c.req.query('range');
    const range: TrendRange = asked === '7d' || asked === '30d' ? asked : '24h';
    const zone = c.env.WATCH_TIME_ZONE || 'Asia/Shanghai';
    const buckets = await endpointTrend(c.env.DB, endpoint.id, range, Date.now(), zone);
    return render(
      c,
      <TrendsPage csrf={c.get('session').csrf} endpointId={endpoint.id} range={range} zone={zone} buckets={buckets} />,
    );
  });
}
