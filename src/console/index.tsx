/**
 * The console: server-rendered pages under /console for the people who run the adapter. Routes stay thin:
 * they parse the form or query, call the same functions as the admin API, and render a view.
 * Signed-in by a session cookie (./session.ts); every POST also needs the session's CSRF token.
 */
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { JSX } from 'hono/jsx/jsx-runtime';
import { Hono } from 'hono/tiny';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import * as z from '../shared/zod';
import { preprocess } from '../shared/zod';
import { crmSettings } from '../crm/client';
import { csvRows, importCustomerKeys, KeyName, listKeys } from '../customers/keys';
import { listAttempts } from '../deliveries/attempts';
import { healthOf, healthStatement, overview } from '../deliveries/stats';
import { DELIVERY_STATUSES, getDelivery, listDeliveries, storedPayloads, type DeliveryStatus } from '../deliveries/store';
import { checkConfig, saveEndpoint, warningsFor, type Issue } from '../endpoints/save';
import { CrmId, EndpointId, formatIssues, type StoredEndpoint } from '../endpoints/schema';
import { getEndpoint, listEndpointIds, listEndpoints } from '../endpoints/store';
import { webhookUrl } from '../endpoints/url';
import type { AppEnv } from '../env';
import { BODY_LIMITS, limitBodies } from '../http/body-limits';
import { ApiError, errorBody, type ErrorCode } from '../http/errors';
import { PRESETS } from '../presets';
import { leadsOf, previewOfDelivery, previewWebhook, sampleView, storedSample, type Sample } from '../pipeline/preview';
import { replayMany, replayOne, heldCounts, releaseHeld } from '../pipeline/replay';
import { parseJsonLossless } from '../receive/json';
import { safeEqual, utf8 } from '../verify/crypto';
import { CONSOLE_BASE, consolePath, consolePathWith, ROUTES } from './paths';
import { CATALOGUES, LANG_COOKIE, Page, pickLang, type Lang, type Messages } from './i18n';
import { EMPTY_ROW, fromForm, readForm, sampleFields, toForm, type FormState } from './mapping-form';
import { crmFieldLabels, rememberCrmFields } from '../endpoints/crm-fields';
import { setSecret } from '../secrets/set';
import { masterKey } from '../secrets/vault';
import { isRecord } from '../shared/json';
import { csrfOk, endSession, readSession, startSession, type Session } from './session';
import { CustomerKeysPage, type Lookup } from './views/customer-keys';
import { BulkConfirmPage, BulkDonePage, DeliveriesPage, DeliveryPage, RANGES, type ListFilter, type Range } from './views/deliveries';
import { EditorPage, EndpointsPage, PreviewPane, type EditorProps, type PreviewPaneProps } from './views/endpoints';
import { ErrorPage, Issues } from './views/layout';
import { OverviewPage } from './views/overview';
import { SignInPage } from './views/sign-in';
import { AUTH_RETRY_AFTER_SECONDS, authBlocked, authFailed } from '../http/auth-throttle';
import { countRateLimited } from '../deliveries/rate-limited';

type ConsoleEnv = AppEnv & { Variables: { session: Session; lang: Lang } };
type C = Context<ConsoleEnv>;

/** The reader's catalogue (the language is chosen once per request, see ./i18n). */
const tOf = (c: Context): Messages => CATALOGUES[(c as C).get('lang') ?? pickLang(getCookie(c, LANG_COOKIE), c.req.header('accept-language'))];

/** A page in the reader's language: every view below reads the catalogue and this page's path through `useT()`. */
function render(c: Context, page: JSX.Element, status: ContentfulStatusCode = 200) {
  const url = new URL(c.req.url);
  return c.html(<Page.Provider value={{ t: tOf(c), here: url.pathname + url.search }}>{page}</Page.Provider>, status);
}

export const consolePages = new Hono<ConsoleEnv>();

// Pages are never cached, never framed, and run no inline script (everything rendered is escaped as well).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** A form's validation problems in one line: `path: message; …`. */
const issueText = (error: Parameters<typeof formatIssues>[0]) =>
  formatIssues(error)
    .map((i) => `${i.path}: ${i.message}`)
    .join('; ');

/** A refusal: the page a browser can read, or the JSON `{ error }` every other client gets. */
function refuse(c: C, status: ContentfulStatusCode, code: ErrorCode, message: string) {
  if ((c.req.header('accept') ?? '').includes('text/html')) {
    return render(c, <ErrorPage status={status} code={code} message={message} csrf={c.get('session')?.csrf} />, status);
  }
  return c.json(errorBody(code, message), status);
}

consolePages.onError((err, c) => {
  if (err instanceof ApiError) return refuse(c as C, err.status, err.code, err.message);
  console.error('console error', err);
  return refuse(c as C, 500, 'internal_error', tOf(c).refusal.internal);
});

consolePages.get(ROUTES.static, (c) => c.env.ASSETS.fetch(c.req.raw));

// Every body is read within a limit before anything else reads it: sign-in (unauthenticated) a few KiB.
const limitFor = (path: string) => (path.endsWith(ROUTES.signIn) ? BODY_LIMITS.signIn : path.endsWith(ROUTES.customerKeysImport) ? BODY_LIMITS.import : BODY_LIMITS.other);
consolePages.use(
  '*',
  limitBodies(limitFor, (c, max) => refuse(c as C, 413, 'payload_too_large', tOf(c).refusal.formTooLarge(max))),
);

// The language: the reader's choice (cookie, set by the switch below), else the browser's; answers vary by both.
consolePages.use('*', async (c, next) => {
  c.set('lang', pickLang(getCookie(c, LANG_COOKIE), c.req.header('accept-language')));
  await next();
  c.header('vary', 'accept-language, cookie');
  c.header('content-language', c.get('lang') === 'zh' ? 'zh-CN' : 'en');
});

consolePages.use('*', async (c, next) => {
  await next();
  if (c.res.headers.get('content-type')?.startsWith('text/html')) {
    c.header('content-security-policy', CSP);
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'same-origin');
    c.header('cache-control', 'no-store');
  }
});

/** Where to go after signing in: a console path only (never another site). */
const safeNext = (next: unknown) => (typeof next === 'string' && /^\/console(?:[/?][^\\\s]*)?$/.test(next) && !next.startsWith('//') ? next : '/console');

// State-changing requests come from this origin only (a second line behind SameSite=Strict and the CSRF token).
consolePages.use('*', async (c, next) => {
  const origin = c.req.header('origin');
  if (c.req.method === 'POST' && origin !== undefined && origin !== new URL(c.req.url).origin) {
    return refuse(c, 403, 'csrf_failed', tOf(c).refusal.otherSite);
  }
  await next();
});

/** The language switch: remembered for a year (the reader's choice wins over Accept-Language), then back to the page. */
consolePages.get(ROUTES.language, (c) => {
  const to = c.req.query('to') === 'en' ? 'en' : 'zh';
  setCookie(c, LANG_COOKIE, to, { path: CONSOLE_BASE, maxAge: 365 * 86_400, sameSite: 'Lax', secure: true });
  return c.redirect(safeNext(c.req.query('next')), 303);
});

consolePages.get(ROUTES.signIn, async (c) => {
  if (await readSession(c)) return c.redirect(safeNext(c.req.query('next')), 303);
  return render(c, <SignInPage next={safeNext(c.req.query('next'))} />);
});

/** 429 for a client that failed to sign in too often (refused before its token is even compared). */
function tooManySignIns(c: C, next: string) {
  c.header('retry-after', String(AUTH_RETRY_AFTER_SECONDS));
  return render(c, <SignInPage next={next} error={tOf(c).signIn.tooMany(AUTH_RETRY_AFTER_SECONDS)} />, 429);
}

consolePages.post(ROUTES.signIn, async (c) => {
  if (authBlocked('console', c.req.raw, Date.now())) return tooManySignIns(c as C, '/console');
  const form = await c.req.parseBody();
  const next = safeNext(form.next);
  const expected = c.env.ADMIN_TOKEN;
  if (!expected) return render(c, <SignInPage next={next} error={tOf(c).signIn.notSet} />, 503);
  const token = typeof form.token === 'string' ? form.token.trim() : '';
  if (!token || !(await safeEqual(token, expected))) {
    const now = Date.now();
    const flush = countRateLimited(c.env.DB, '_auth-console', now);
    if (flush) c.executionCtx.waitUntil(flush.catch((err) => console.error('auth failure count write failed', err)));
    if (await authFailed(c.env.AUTH_RATE_LIMITER, 'console', c.req.raw, now)) return tooManySignIns(c, next);
    return render(c, <SignInPage next={next} error={tOf(c).signIn.wrong} />, 401);
  }
  await startSession(c, expected);
  return c.redirect(next, 303);
});

// Everything below needs a session; a POST needs its CSRF token too.
consolePages.use('*', async (c, next) => {
  const session = await readSession(c);
  if (!session) {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') {
      const url = new URL(c.req.url);
      return c.redirect(consolePathWith('signIn', { next: url.pathname + url.search }), 303);
    }
    return refuse(c, 401, 'unauthorized', tOf(c).refusal.signInFirst);
  }
  c.set('session', session);
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
    const header = c.req.header('x-csrf-token');
    const given = header ?? (await c.req.parseBody())._csrf;
    if (!(await csrfOk(session, typeof given === 'string' ? given : undefined))) {
      return refuse(c, 403, 'csrf_failed', tOf(c).refusal.csrf);
    }
  }
  await next();
});

consolePages.post(ROUTES.signOut, async (c) => {
  await endSession(c, c.get('session'));
  return c.redirect(consolePath('signIn'), 303);
});

consolePages.get(ROUTES.overview, async (c) => {
  const endpoints = new Set(await listEndpointIds(c.env.ENDPOINTS));
  return render(c, <OverviewPage data={await overview(c.env.DB, Date.now(), endpoints)} csrf={c.get('session').csrf} />);
});

// ---- deliveries

const blank = (v: unknown) => (v === '' ? undefined : v);
const ListQuery = z.object({
  endpoint: preprocess(blank, z.optional(EndpointId)),
  status: preprocess(blank, z.optional(z.enum(DELIVERY_STATUSES as [DeliveryStatus, ...DeliveryStatus[]]))),
  range: preprocess(blank, z._default(z.enum(Object.keys(RANGES) as [Range, ...Range[]]), 'all')),
  q: preprocess(blank, z.optional(z.string().check(z.trim()).check(z.maxLength(100)))),
  cursor: preprocess(blank, z.optional(z.string().check(z.regex(/^[0-9a-z]{26}$/)))),
});

const sinceOf = (range: Range, now: number) => (RANGES[range] ? now - RANGES[range] : undefined);

consolePages.get(ROUTES.deliveries, async (c) => {
  const parsed = ListQuery.safeParse(c.req.query());
  const q = parsed.success ? parsed.data : ListQuery.parse({});
  const filter: ListFilter = { endpoint: q.endpoint, status: q.status, range: q.range, q: q.q };
  const [list, endpoints] = await Promise.all([
    listDeliveries(c.env.DB, { endpoint: q.endpoint, status: q.status, since: sinceOf(q.range, Date.now()), q: q.q, cursor: q.cursor, limit: 50 }),
    listEndpointIds(c.env.ENDPOINTS),
  ]);
  const issues = parsed.success ? undefined : formatIssues(parsed.error).map((i) => `${i.path}: ${i.message}`);
  const leads = await leadsOf(
    c.env.ENDPOINTS,
    await storedPayloads(
      c.env.DB,
      list.deliveries.map((d) => d.id),
    ),
  );
  return render(
    c,
    <DeliveriesPage filter={filter} endpoints={endpoints} rows={list.deliveries} leads={leads} nextCursor={list.nextCursor} csrf={c.get('session').csrf} issues={issues} />,
    parsed.success ? 200 : 400,
  );
});

const BulkForm = z.object({
  status: z.enum(DELIVERY_STATUSES as [DeliveryStatus, ...DeliveryStatus[]]),
  endpoint: preprocess(blank, z.optional(EndpointId)),
  range: z._default(z.enum(Object.keys(RANGES) as [Range, ...Range[]]), 'all'),
  confirm: preprocess(blank, z.optional(z.coerce.number().check(z.int()).check(z.gte(1)))),
});
const BULK_LIMIT = 500;

consolePages.post(ROUTES.bulkReplay, async (c) => {
  const parsed = BulkForm.safeParse(await c.req.parseBody());
  if (!parsed.success) return refuse(c, 400, 'validation_failed', issueText(parsed.error));
  const f = parsed.data;
  const now = Date.now();
  const since = sinceOf(f.range, now);
  const filter = { status: f.status, endpoint: f.endpoint, since: since === undefined ? undefined : new Date(since).toISOString(), limit: BULK_LIMIT };
  const shown: ListFilter = { status: f.status, endpoint: f.endpoint, range: f.range };
  if (f.confirm === undefined) {
    const dry = await replayMany(c.env.DB, c.env.DELIVERY_QUEUE, { ...filter, dryRun: true }, now);
    return render(c, <BulkConfirmPage csrf={c.get('session').csrf} filter={shown} matched={dry.matched} limit={BULK_LIMIT} />);
  }
  const done = await replayMany(c.env.DB, c.env.DELIVERY_QUEUE, { ...filter, dryRun: false }, now);
  return render(c, <BulkDonePage csrf={c.get('session').csrf} filter={shown} queued={done.queued} matched={done.matched} />, 202);
});

/** Why a replay or preview was refused, in the reader's language (the core's own words for the details). */
function whyText(c: Context, r: { why: string; message: string }): string {
  const t = tOf(c);
  if (r.why === 'not_found') return t.refusal.noDelivery;
  return `${t.deliveries.notReplayable} (${r.message})`;
}

async function deliveryPage(
  c: C,
  id: string,
  extra: { done?: string; refusal?: string; preview?: Awaited<ReturnType<typeof previewWebhook>> } = {},
  status: ContentfulStatusCode = 200,
) {
  const [d, attempts, stored] = await Promise.all([getDelivery(c.env.DB, id), listAttempts(c.env.DB, id), storedPayloads(c.env.DB, [id])]);
  if (!d) throw new ApiError(404, 'not_found', tOf(c).refusal.noDelivery);
  const lead = (await leadsOf(c.env.ENDPOINTS, stored)).get(id);
  return render(c, <DeliveryPage d={d} lead={lead} attempts={attempts} csrf={c.get('session').csrf} {...extra} />, status);
}

consolePages.get(ROUTES.delivery, (c) => deliveryPage(c, c.req.param('id'), { done: c.req.query('done') }));

consolePages.get(ROUTES.deliveryPreview, async (c) => {
  const id = c.req.param('id');
  const preview = await previewOfDelivery(c.env, id);
  if (!preview.ok) return deliveryPage(c, id, { refusal: tOf(c).deliveries.noPreview(whyText(c, preview)) }, preview.why === 'not_found' ? 404 : 409);
  return deliveryPage(c, id, { preview: preview.result });
});

consolePages.post(ROUTES.deliveryReplay, async (c) => {
  const id = c.req.param('id');
  const result = await replayOne(c.env.DB, c.env.DELIVERY_QUEUE, id, Date.now());
  if (!result.ok) return deliveryPage(c, id, { refusal: tOf(c).deliveries.notReplayed(whyText(c, result)) }, result.why === 'not_found' ? 404 : 409);
  return c.redirect(consolePathWith('delivery', { done: 'replayed' }, { id }), 303);
});

// ---- endpoints

consolePages.get(ROUTES.endpoints, async (c) => {
  const [endpoints, health, held] = await Promise.all([listEndpoints(c.env.ENDPOINTS), healthStatement(c.env.DB, Date.now() - 86_400_000).all(), heldCounts(c.env.DB)]);
  return render(c, <EndpointsPage endpoints={endpoints} health={healthOf(health.results)} held={held} csrf={c.get('session').csrf} />);
});

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

/** The editor for a stored endpoint (or a new one when `endpoint` is null), with its URL, recipe, recent deliveries and warnings. */
async function editorPage(c: C, endpoint: StoredEndpoint | null, state: EditorState, status: ContentfulStatusCode = 200) {
  const recent = endpoint ? (await listDeliveries(c.env.DB, { endpoint: endpoint.id, limit: 10 })).deliveries.filter((d) => d.replayable) : [];
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
  const labels = await crmFieldLabels(c.env.ENDPOINTS, moduleId);
  const form = state.form !== undefined ? state.form : doc.ok ? formOf(doc.value, labels) : null;
  const secretName = config?.verify && 'secret' in config.verify && typeof config.verify.secret === 'string' ? config.verify.secret : null;
  return render(
    c,
    <EditorPage
      csrf={c.get('session').csrf}
      endpoint={endpoint}
      id={state.id}
      configText={state.configText}
      issues={state.issues ?? []}
      warnings={config && !state.issues?.length ? await warningsFor(config, c.env) : []}
      saved={state.saved}
      notice={state.notice}
      url={endpoint ? webhookUrl(c.req.url, endpoint) : null}
      preset={config?.preset ? PRESETS[config.preset] : undefined}
      recent={recent}
      sample={sample}
      preview={preview ?? {}}
      form={form}
      editing={form ? (state.editing ?? 'form') : 'json'}
      labels={labels}
      secret={secretName ? { name: secretName, settable: masterKey(c.env).ok } : null}
    />,
    status,
  );
}

/** The form for a document, or null when the form cannot show it. */
function formOf(doc: unknown, labels: Record<string, string>): FormState | null {
  const read = toForm(doc, labels);
  return read.ok ? read.state : null;
}

const SAVED = { created: 'created', saved: 'saved' } as const;

consolePages.get(ROUTES.newEndpoint, (c) => editorPage(c, null, { id: '', configText: JSON.stringify(NEW_CONFIG, null, 2) }));

consolePages.get(ROUTES.endpoint, async (c) => {
  const endpoint = await getEndpoint(c.env.ENDPOINTS, c.req.param('id'));
  if (!endpoint) throw new ApiError(404, 'not_found', tOf(c).refusal.noEndpoint);
  const saved = SAVED[c.req.query('saved') as keyof typeof SAVED];
  const secret = c.req.query('secret');
  const notice = secret ? { kind: 'ok' as const, text: tOf(c).editor.secretSaved(secret) } : undefined;
  return editorPage(c, endpoint, { id: endpoint.id, configText: JSON.stringify(endpoint.config, null, 2), saved, notice });
});

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
function editedDocument(c: C, body: Record<string, string | File | (string | File)[]>, f: z.infer<typeof EditorForm>) {
  const doc = parseConfigText(f.config);
  // a post without the form's fields (a script, an older page) is the JSON alone
  const editing: 'form' | 'json' = (f.save ?? f.editing) === 'json' || !('moduleId' in body) ? 'json' : 'form';
  if (!doc.ok) return { doc: { ok: false as const, issues: doc.issues.map((i) => ({ ...i, message: tOf(c).editor.notJson(i.message) })) }, editing, form: null };
  const current = formOf(doc.value, {});
  if (editing === 'json' || !current || !isRecord(doc.value)) return { doc, editing: 'json' as const, form: current };
  const form = readForm(body);
  return { doc: { ok: true as const, value: fromForm(form, doc.value) }, editing, form };
}

/** The sample the editor was given: the text typed (it wins over the pre-selected delivery), else that delivery. */
async function sampleOf(c: C, s: EditorProps['sample']): Promise<{ sample?: Sample; refusal?: string }> {
  if (s.delivery && !s.text.trim()) {
    const stored = await storedSample(c.env.DB, s.delivery);
    return stored.ok ? { sample: stored.sample } : { refusal: tOf(c).editor.sampleDelivery(s.delivery, stored.message) };
  }
  if (!s.text.trim()) return {};
  return { sample: { bytes: utf8(s.text), contentType: s.contentType || null, headers: { 'content-type': s.contentType }, query: {} } };
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
  return { result, fields: sampleFields(result.view ?? (await sampleView(config.preset, sample))) };
}

/** Save (or create) from the editor form: errors are shown beside the configuration, with status 400. */
async function saveFromForm(c: C, endpoint: StoredEndpoint | null, id: string) {
  const body = await c.req.parseBody();
  const form = EditorForm.safeParse(body);
  if (!form.success) return refuse(c, 400, 'validation_failed', issueText(form.error));
  const f = form.data;
  const sample = { text: f.sample, contentType: f.contentType, delivery: f.delivery };
  const edited = editedDocument(c, body, f);
  const text = edited.doc.ok ? JSON.stringify(edited.doc.value, null, 2) : f.config;
  const again = (issues: Issue[]) => editorPage(c, endpoint, { id, configText: text, editing: edited.editing, form: edited.form, issues, sample }, 400);
  const idCheck = EndpointId.safeParse(id);
  if (!idCheck.success) return again(formatIssues(idCheck.error).map((i) => ({ path: 'id', message: i.message })));
  if (!endpoint && (await getEndpoint(c.env.ENDPOINTS, id))) return again([{ path: 'id', message: tOf(c).editor.exists(id) }]);
  if (!edited.doc.ok) return again(edited.doc.issues);
  const saved = await saveEndpoint(c.env, id, edited.doc.value);
  if (!saved.ok) return again(saved.issues);
  if (saved.endpoint.config.enabled) await releaseHeld(c.env.DB, c.env.DELIVERY_QUEUE, id, Date.now());
  if (edited.editing === 'form' && edited.form) await rememberCrmFields(c.env.ENDPOINTS, saved.endpoint.config.crm.moduleId, edited.form.rows);
  return c.redirect(consolePathWith('endpoint', { saved: saved.created ? 'created' : 'saved' }, { id }), 303);
}

consolePages.post(ROUTES.endpoints, async (c) => saveFromForm(c, null, String((await c.req.parseBody()).id ?? '').trim()));

/** The endpoint a route names, or 404. */
async function endpointOf(c: C): Promise<StoredEndpoint> {
  const endpoint = await getEndpoint(c.env.ENDPOINTS, c.req.param('id') ?? '');
  if (!endpoint) throw new ApiError(404, 'not_found', tOf(c).refusal.noEndpoint);
  return endpoint;
}

consolePages.post(ROUTES.endpoint, async (c) => {
  const endpoint = await endpointOf(c);
  return saveFromForm(c, endpoint, endpoint.id);
});

/** Preview of the configuration being edited (saved or not): the page's script asks for the fragment only. */
async function previewFromForm(c: C, endpoint: StoredEndpoint | null) {
  const body = await c.req.parseBody();
  const form = EditorForm.safeParse(body);
  if (!form.success) return refuse(c, 400, 'validation_failed', issueText(form.error));
  const f = form.data;
  const sample = { text: f.sample, contentType: f.contentType, delivery: f.delivery };
  const edited = editedDocument(c, body, f);
  const checked = edited.doc.ok ? checkConfig(edited.doc.value) : edited.doc;
  const issues = checked.ok ? [] : checked.issues;
  const json = edited.doc.ok ? JSON.stringify(edited.doc.value, null, 2) : f.config;
  const preset = edited.doc.ok && isRecord(edited.doc.value) && typeof edited.doc.value.preset === 'string' ? edited.doc.value.preset : undefined;
  const pane: PreviewPaneProps = {
    ...(checked.ok ? await previewOf(c, checked.config, sample, { mapping: checked.mapping }) : await previewOf(c, null, sample, { preset, issues })),
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
  const rows = edited.form && body.addRow ? { ...edited.form, rows: [...edited.form.rows, { ...EMPTY_ROW }] } : edited.form;
  return editorPage(c, endpoint, { id, configText: json, editing: edited.editing, form: rows, issues, sample, preview: pane });
}

consolePages.post(ROUTES.newEndpointPreview, (c) => previewFromForm(c, null));
consolePages.post(ROUTES.endpointPreview, async (c) => previewFromForm(c, await endpointOf(c)));

/** "Send a test": the pasted sample (or the picked delivery) through the endpoint *as saved*, shown as its preview. */
consolePages.post(ROUTES.endpointTest, async (c) => {
  const endpoint = await endpointOf(c);
  const form = SampleForm.safeParse(await c.req.parseBody());
  if (!form.success) return refuse(c, 400, 'validation_failed', issueText(form.error));
  const sample = { text: form.data.sample, contentType: form.data.contentType, delivery: form.data.delivery };
  const t = tOf(c);
  const preview = await previewOf(c, endpoint.config, sample);
  const notice = preview.result || preview.refusal ? { kind: 'ok' as const, text: t.editor.tested } : { kind: 'error' as const, text: t.editor.testNeedsSample };
  return editorPage(c, endpoint, { id: endpoint.id, configText: JSON.stringify(endpoint.config, null, 2), sample, preview, notice }, preview.result ? 200 : 400);
});

/** The secret field beside the URL: stores the value the endpoint's verify.secret names (never shown again). */
consolePages.post(ROUTES.endpointSecret, async (c) => {
  const endpoint = await endpointOf(c);
  const body = await c.req.parseBody();
  const verify = endpoint.config.verify;
  const name = 'secret' in verify && typeof verify.secret === 'string' ? verify.secret : null;
  const value = typeof body.value === 'string' ? body.value.trim() : '';
  const t = tOf(c);
  const again = (text: string, status: ContentfulStatusCode) =>
    editorPage(c, endpoint, { id: endpoint.id, configText: JSON.stringify(endpoint.config, null, 2), notice: { kind: 'error', text } }, status);
  if (!name) return again(t.editor.secretNone, 400);
  if (!value || value.length > 4096) return again(t.reason.validation_failed, 400);
  const set = await setSecret(c.env, name, value);
  if (!set.ok) return again(set.why === 'no_key' ? t.editor.secretNoKey : t.editor.secretWorker(name), set.why === 'no_key' ? 503 : 409);
  return c.redirect(consolePathWith('endpoint', { secret: name }, { id: endpoint.id }), 303);
});

// ---- customer keys

const LookupQuery = z.object({
  moduleId: preprocess(blank, z.optional(CrmId)),
  key: preprocess(blank, z.optional(KeyName)),
  value: preprocess(blank, z.optional(z.string().check(z.trim()).check(z.maxLength(256)))),
  customerId: preprocess(blank, z.optional(CrmId)),
});

async function modulesOf(kv: KVNamespace): Promise<string[]> {
  return [...new Set((await listEndpoints(kv)).map((e) => e.config.crm.moduleId))];
}

consolePages.get(ROUTES.customerKeys, async (c) => {
  const raw = c.req.query();
  const lookup: Lookup = { moduleId: raw.moduleId ?? '', key: raw.key ?? '', value: raw.value ?? '', customerId: raw.customerId ?? '' };
  const modules = await modulesOf(c.env.ENDPOINTS);
  const csrf = c.get('session').csrf;
  if (!Object.values(lookup).some((v) => v.trim() !== '')) return render(c, <CustomerKeysPage csrf={csrf} modules={modules} lookup={lookup} />);
  const parsed = LookupQuery.safeParse(raw);
  let refusal = parsed.success ? undefined : issueText(parsed.error);
  if (parsed.success && parsed.data.value !== undefined && !parsed.data.key) refusal = tOf(c).keys.whichKey;
  if (refusal || !parsed.success) return render(c, <CustomerKeysPage csrf={csrf} modules={modules} lookup={lookup} refusal={refusal} />, 400);
  const q = parsed.data;
  const rows = await listKeys(c.env.DB, q.moduleId, { key: q.key, value: q.value, customerId: q.customerId }, 100);
  return render(c, <CustomerKeysPage csrf={csrf} modules={modules} lookup={lookup} rows={rows} />);
});

consolePages.post(ROUTES.customerKeysImport, async (c) => {
  const form = await c.req.parseBody();
  const moduleId = CrmId.safeParse(typeof form.moduleId === 'string' ? form.moduleId.trim() : '');
  const lookup: Lookup = { moduleId: typeof form.moduleId === 'string' ? form.moduleId : '', key: '', value: '', customerId: '' };
  const page = async (extra: { refusal?: string; imported?: Awaited<ReturnType<typeof importCustomerKeys>> & { moduleId: string } }, status: ContentfulStatusCode = 200) =>
    render(c, <CustomerKeysPage csrf={c.get('session').csrf} modules={await modulesOf(c.env.ENDPOINTS)} lookup={lookup} {...extra} />, status);
  if (!moduleId.success) return page({ refusal: tOf(c).keys.badModule }, 400);
  const file = form.file;
  const text = file instanceof File && file.size > 0 ? await file.text() : typeof form.csv === 'string' ? form.csv : '';
  if (!text.trim()) return page({ refusal: tOf(c).keys.noCsv }, 400);
  const rows = csvRows(text);
  if (rows === null) return page({ refusal: tOf(c).keys.noHeader }, 400);
  const imported = await importCustomerKeys(c.env.DB, moduleId.data, rows, Date.now());
  return page({ imported: { ...imported, moduleId: moduleId.data } });
});

consolePages.all('*', (c) => refuse(c, 404, 'not_found', tOf(c).refusal.noPage(new URL(c.req.url).pathname)));
