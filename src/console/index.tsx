/**
 * The console: server-rendered pages under /console for the people who run the adapter. Routes stay thin:
 * they parse the form or query, call the same functions as the admin API, and render a view.
 * Signed-in by a session cookie (./session.ts); every POST also needs the session's CSRF token.
 */
import type { Context } from 'hono';
import { Hono } from 'hono/tiny';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import * as z from '../shared/zod';
import { preprocess } from '../shared/zod';
import { crmSettings } from '../crm/client';
import { csvRows, importCustomerKeys, KeyName, listKeys } from '../customers/keys';
import { listAttempts } from '../deliveries/attempts';
import { healthOf, healthStatement, overview } from '../deliveries/stats';
import { DELIVERY_STATUSES, getDelivery, listDeliveries, type DeliveryStatus } from '../deliveries/store';
import { checkConfig, saveEndpoint, warningsFor, type Issue } from '../endpoints/save';
import { CrmId, EndpointId, formatIssues, type StoredEndpoint } from '../endpoints/schema';
import { getEndpoint, listEndpointIds, listEndpoints } from '../endpoints/store';
import { webhookUrl } from '../endpoints/url';
import type { AppEnv } from '../env';
import { BODY_LIMITS, limitBodies } from '../http/body-limits';
import { ApiError, errorBody, type ErrorCode } from '../http/errors';
import { PRESETS } from '../presets';
import { previewOfDelivery, previewWebhook, storedSample, type Sample } from '../pipeline/preview';
import { replayMany, replayOne, heldCounts, releaseHeld } from '../pipeline/replay';
import { parseJsonLossless } from '../receive/json';
import { safeEqual, utf8 } from '../verify/crypto';
import { consolePath, consolePathWith, ROUTES } from './paths';
import { csrfOk, endSession, readSession, startSession, type Session } from './session';
import { CustomerKeysPage, type Lookup } from './views/customer-keys';
import { BulkConfirmPage, BulkDonePage, DeliveriesPage, DeliveryPage, RANGES, type ListFilter, type Range } from './views/deliveries';
import { EditorPage, EndpointsPage, PreviewPane, type EditorProps, type PreviewPaneProps } from './views/endpoints';
import { ErrorPage, Issues } from './views/layout';
import { OverviewPage } from './views/overview';
import { SignInPage } from './views/sign-in';
import { AUTH_RETRY_AFTER_SECONDS, authBlocked, authFailed } from '../http/auth-throttle';
import { countRateLimited } from '../deliveries/rate-limited';

type ConsoleEnv = AppEnv & { Variables: { session: Session } };
type C = Context<ConsoleEnv>;

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
    return c.html(<ErrorPage status={status} code={code} message={message} csrf={c.get('session')?.csrf} />, status);
  }
  return c.json(errorBody(code, message), status);
}

consolePages.onError((err, c) => {
  if (err instanceof ApiError) return refuse(c as C, err.status, err.code, err.message);
  console.error('console error', err);
  return refuse(c as C, 500, 'internal_error', 'Internal error');
});

consolePages.get(ROUTES.static, (c) => c.env.ASSETS.fetch(c.req.raw));

// Every body is read within a limit before anything else reads it: sign-in (unauthenticated) a few KiB.
const limitFor = (path: string) => (path.endsWith(ROUTES.signIn) ? BODY_LIMITS.signIn : path.endsWith(ROUTES.customerKeysImport) ? BODY_LIMITS.import : BODY_LIMITS.other);
consolePages.use(
  '*',
  limitBodies(limitFor, (c, max) => refuse(c as C, 413, 'payload_too_large', `The form is larger than ${max} bytes`)),
);

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
    return refuse(c, 403, 'csrf_failed', 'A console form was posted from another site');
  }
  await next();
});

consolePages.get(ROUTES.signIn, async (c) => {
  if (await readSession(c)) return c.redirect(safeNext(c.req.query('next')), 303);
  return c.html(<SignInPage next={safeNext(c.req.query('next'))} />);
});

/** 429 for a client that failed to sign in too often (refused before its token is even compared). */
function tooManySignIns(c: C, next: string) {
  c.header('retry-after', String(AUTH_RETRY_AFTER_SECONDS));
  return c.html(<SignInPage next={next} error={`Too many failed sign-ins from this address: wait ${AUTH_RETRY_AFTER_SECONDS} s.`} />, 429);
}

consolePages.post(ROUTES.signIn, async (c) => {
  if (authBlocked('console', c.req.raw, Date.now())) return tooManySignIns(c as C, '/console');
  const form = await c.req.parseBody();
  const next = safeNext(form.next);
  const expected = c.env.ADMIN_TOKEN;
  if (!expected) return c.html(<SignInPage next={next} error="ADMIN_TOKEN is not set on this Worker: nobody can sign in until it is (wrangler secret put ADMIN_TOKEN)." />, 503);
  const token = typeof form.token === 'string' ? form.token.trim() : '';
  if (!token || !(await safeEqual(token, expected))) {
    const now = Date.now();
    const flush = countRateLimited(c.env.DB, '_auth-console', now);
    if (flush) c.executionCtx.waitUntil(flush.catch((err) => console.error('auth failure count write failed', err)));
    if (await authFailed(c.env.AUTH_RATE_LIMITER, 'console', c.req.raw, now)) return tooManySignIns(c, next);
    return c.html(<SignInPage next={next} error="That is not the admin token." />, 401);
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
    return refuse(c, 401, 'unauthorized', 'Sign in to the console first');
  }
  c.set('session', session);
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
    const header = c.req.header('x-csrf-token');
    const given = header ?? (await c.req.parseBody())._csrf;
    if (!(await csrfOk(session, typeof given === 'string' ? given : undefined))) {
      return refuse(c, 403, 'csrf_failed', 'This form is missing its security token, or it is from an older session: reload the page and try again');
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
  return c.html(<OverviewPage data={await overview(c.env.DB, Date.now(), endpoints)} csrf={c.get('session').csrf} />);
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
  return c.html(
    <DeliveriesPage filter={filter} endpoints={endpoints} rows={list.deliveries} nextCursor={list.nextCursor} csrf={c.get('session').csrf} issues={issues} />,
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
    return c.html(<BulkConfirmPage csrf={c.get('session').csrf} filter={shown} matched={dry.matched} limit={BULK_LIMIT} />);
  }
  const done = await replayMany(c.env.DB, c.env.DELIVERY_QUEUE, { ...filter, dryRun: false }, now);
  return c.html(<BulkDonePage csrf={c.get('session').csrf} filter={shown} queued={done.queued} matched={done.matched} />, 202);
});

async function deliveryPage(
  c: C,
  id: string,
  extra: { done?: string; refusal?: string; preview?: Awaited<ReturnType<typeof previewWebhook>> } = {},
  status: ContentfulStatusCode = 200,
) {
  const [d, attempts] = await Promise.all([getDelivery(c.env.DB, id), listAttempts(c.env.DB, id)]);
  if (!d) throw new ApiError(404, 'not_found', 'No such delivery');
  return c.html(<DeliveryPage d={d} attempts={attempts} csrf={c.get('session').csrf} {...extra} />, status);
}

consolePages.get(ROUTES.delivery, (c) => deliveryPage(c, c.req.param('id'), { done: c.req.query('done') }));

consolePages.get(ROUTES.deliveryPreview, async (c) => {
  const id = c.req.param('id');
  const preview = await previewOfDelivery(c.env, id);
  if (!preview.ok) return deliveryPage(c, id, { refusal: `No preview: ${preview.message}` }, preview.why === 'not_found' ? 404 : 409);
  return deliveryPage(c, id, { preview: preview.result });
});

consolePages.post(ROUTES.deliveryReplay, async (c) => {
  const id = c.req.param('id');
  const result = await replayOne(c.env.DB, c.env.DELIVERY_QUEUE, id, Date.now());
  if (!result.ok) return deliveryPage(c, id, { refusal: `Not replayed: ${result.message}` }, result.why === 'not_found' ? 404 : 409);
  return c.redirect(consolePathWith('delivery', { done: 'replayed' }, { id }), 303);
});

// ---- endpoints

consolePages.get(ROUTES.endpoints, async (c) => {
  const [endpoints, health, held] = await Promise.all([listEndpoints(c.env.ENDPOINTS), healthStatement(c.env.DB, Date.now() - 86_400_000).all(), heldCounts(c.env.DB)]);
  return c.html(<EndpointsPage endpoints={endpoints} health={healthOf(health.results)} held={held} csrf={c.get('session').csrf} />);
});

const NEW_CONFIG = {
  name: 'Landing page form',
  preset: 'html-form',
  crm: { moduleId: '347772778973233152', productLineId: '688051545102614528' },
  verify: { type: 'token', secret: 'LANDING_FORM_TOKEN' },
  customerId: 'customer_id',
  fields: { phone: '$cnMobile(phone)', note: 'message' },
};

type EditorState = { id: string; configText: string; issues?: Issue[]; sample?: EditorProps['sample']; preview?: PreviewPaneProps; saved?: EditorProps['saved'] };

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
  return c.html(
    <EditorPage
      csrf={c.get('session').csrf}
      endpoint={endpoint}
      id={state.id}
      configText={state.configText}
      issues={state.issues ?? []}
      warnings={config && !state.issues?.length ? await warningsFor(config, c.env) : []}
      saved={state.saved}
      url={endpoint ? webhookUrl(c.req.url, endpoint) : null}
      preset={config?.preset ? PRESETS[config.preset] : undefined}
      recent={recent}
      sample={sample}
      preview={preview ?? {}}
    />,
    status,
  );
}

const SAVED = { created: 'created', saved: 'saved' } as const;

consolePages.get(ROUTES.newEndpoint, (c) => editorPage(c, null, { id: '', configText: JSON.stringify(NEW_CONFIG, null, 2) }));

consolePages.get(ROUTES.endpoint, async (c) => {
  const endpoint = await getEndpoint(c.env.ENDPOINTS, c.req.param('id'));
  if (!endpoint) throw new ApiError(404, 'not_found', 'No such endpoint');
  const saved = SAVED[c.req.query('saved') as keyof typeof SAVED];
  return editorPage(c, endpoint, { id: endpoint.id, configText: JSON.stringify(endpoint.config, null, 2), saved });
});

const EditorForm = z.object({
  config: z.string().check(z.maxLength(256 * 1024)),
  sample: z._default(z.string().check(z.maxLength(1024 * 1024)), ''),
  contentType: z._default(z.string().check(z.maxLength(200)), 'application/json'),
  delivery: z._default(z.string().check(z.maxLength(26)), ''),
});

/** The configuration text as JSON (ids above 2^53 keep their digits), or the issue to show beside it. */
function parseConfigText(text: string): { ok: true; value: unknown } | { ok: false; issues: Issue[] } {
  try {
    return { ok: true, value: parseJsonLossless(text) };
  } catch (err) {
    return { ok: false, issues: [{ path: '', message: `not valid JSON: ${(err as Error).message}` }] };
  }
}

async function previewOf(c: C, config: Parameters<typeof previewWebhook>[2], s: EditorProps['sample'], mapping?: Parameters<typeof previewWebhook>[4]): Promise<PreviewPaneProps> {
  let sample: Sample;
  // what the user typed wins over the delivery the editor pre-selected
  if (s.delivery && !s.text.trim()) {
    const stored = await storedSample(c.env.DB, s.delivery);
    if (!stored.ok) return { refusal: `Delivery ${s.delivery}: ${stored.message}` };
    sample = stored.sample;
  } else {
    if (!s.text.trim()) return {};
    sample = { bytes: utf8(s.text), contentType: s.contentType || null, headers: { 'content-type': s.contentType }, query: {} };
  }
  return { result: await previewWebhook(c.env.DB, crmSettings(c.env), config, sample, mapping) };
}

/** Save (or create) from the editor form: errors are shown beside the configuration, with status 400. */
async function saveFromForm(c: C, endpoint: StoredEndpoint | null, id: string) {
  const form = EditorForm.safeParse(await c.req.parseBody());
  if (!form.success) return refuse(c, 400, 'validation_failed', issueText(form.error));
  const f = form.data;
  const sample = { text: f.sample, contentType: f.contentType, delivery: f.delivery };
  const again = (issues: Issue[]) => editorPage(c, endpoint, { id, configText: f.config, issues, sample }, 400);
  const idCheck = EndpointId.safeParse(id);
  if (!idCheck.success) return again(formatIssues(idCheck.error).map((i) => ({ path: 'id', message: i.message })));
  if (!endpoint && (await getEndpoint(c.env.ENDPOINTS, id))) return again([{ path: 'id', message: `an endpoint "${id}" exists already: open it from the list to edit it` }]);
  const raw = parseConfigText(f.config);
  if (!raw.ok) return again(raw.issues);
  const saved = await saveEndpoint(c.env, id, raw.value);
  if (saved.ok && saved.endpoint.config.enabled) await releaseHeld(c.env.DB, c.env.DELIVERY_QUEUE, id, Date.now());
  if (!saved.ok) return again(saved.issues);
  return c.redirect(consolePathWith('endpoint', { saved: saved.created ? 'created' : 'saved' }, { id }), 303);
}

consolePages.post(ROUTES.endpoints, async (c) => saveFromForm(c, null, String((await c.req.parseBody()).id ?? '').trim()));

consolePages.post(ROUTES.endpoint, async (c) => {
  const endpoint = await getEndpoint(c.env.ENDPOINTS, c.req.param('id'));
  if (!endpoint) throw new ApiError(404, 'not_found', 'No such endpoint');
  return saveFromForm(c, endpoint, endpoint.id);
});

/** Preview of the configuration being edited (saved or not): the page's script asks for the fragment only. */
async function previewFromForm(c: C, endpoint: StoredEndpoint | null) {
  const form = EditorForm.safeParse(await c.req.parseBody());
  if (!form.success) return refuse(c, 400, 'validation_failed', issueText(form.error));
  const f = form.data;
  const sample = { text: f.sample, contentType: f.contentType, delivery: f.delivery };
  const raw = parseConfigText(f.config);
  const checked = raw.ok ? checkConfig(raw.value) : raw;
  const issues = checked.ok ? [] : checked.issues;
  const pane: PreviewPaneProps = checked.ok ? await previewOf(c, checked.config, sample, checked.mapping) : { issues };
  if (c.req.header('x-console-fragment') === 'preview') {
    return c.html(
      <div>
        <Issues id="config-issues" issues={issues} />
        <PreviewPane {...pane} />
      </div>,
    );
  }
  const id = endpoint ? endpoint.id : String((await c.req.parseBody()).id ?? '');
  return editorPage(c, endpoint, { id, configText: f.config, issues, sample, preview: pane });
}

consolePages.post(ROUTES.newEndpointPreview, (c) => previewFromForm(c, null));

consolePages.post(ROUTES.endpointPreview, async (c) => {
  const endpoint = await getEndpoint(c.env.ENDPOINTS, c.req.param('id'));
  if (!endpoint) throw new ApiError(404, 'not_found', 'No such endpoint');
  return previewFromForm(c, endpoint);
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
  if (!Object.values(lookup).some((v) => v.trim() !== '')) return c.html(<CustomerKeysPage csrf={csrf} modules={modules} lookup={lookup} />);
  const parsed = LookupQuery.safeParse(raw);
  let refusal = parsed.success ? undefined : issueText(parsed.error);
  if (parsed.success && parsed.data.value !== undefined && !parsed.data.key) refusal = 'Say which key the value is (phone, clue_id, email …)';
  if (refusal || !parsed.success) return c.html(<CustomerKeysPage csrf={csrf} modules={modules} lookup={lookup} refusal={refusal} />, 400);
  const q = parsed.data;
  const rows = await listKeys(c.env.DB, q.moduleId, { key: q.key, value: q.value, customerId: q.customerId }, 100);
  return c.html(<CustomerKeysPage csrf={csrf} modules={modules} lookup={lookup} rows={rows} />);
});

consolePages.post(ROUTES.customerKeysImport, async (c) => {
  const form = await c.req.parseBody();
  const moduleId = CrmId.safeParse(typeof form.moduleId === 'string' ? form.moduleId.trim() : '');
  const lookup: Lookup = { moduleId: typeof form.moduleId === 'string' ? form.moduleId : '', key: '', value: '', customerId: '' };
  const page = async (extra: { refusal?: string; imported?: Awaited<ReturnType<typeof importCustomerKeys>> & { moduleId: string } }, status: ContentfulStatusCode = 200) =>
    c.html(<CustomerKeysPage csrf={c.get('session').csrf} modules={await modulesOf(c.env.ENDPOINTS)} lookup={lookup} {...extra} />, status);
  if (!moduleId.success) return page({ refusal: 'Module id: a CRM id is a decimal string such as "347772778973233152"' }, 400);
  const file = form.file;
  const text = file instanceof File && file.size > 0 ? await file.text() : typeof form.csv === 'string' ? form.csv : '';
  if (!text.trim()) return page({ refusal: 'Choose a CSV file or paste the rows' }, 400);
  const rows = csvRows(text);
  if (rows === null) return page({ refusal: 'The CSV needs a header row with customer_id,key,value' }, 400);
  const imported = await importCustomerKeys(c.env.DB, moduleId.data, rows, Date.now());
  return page({ imported: { ...imported, moduleId: moduleId.data } });
});

consolePages.all('*', (c) => refuse(c, 404, 'not_found', `No console page at ${new URL(c.req.url).pathname}`));
