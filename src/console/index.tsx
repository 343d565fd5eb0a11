/**
 * The console: server-rendered pages under /console for the people who run the adapter. Routes stay thin:
 * they parse the form or query, call the same functions as the admin API, and render a view.
 * Signed-in by a session cookie (./session.ts); every POST also needs the session's CSRF token.
 */
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { Hono } from 'hono/tiny';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import * as z from '../shared/zod';
import { preprocess } from '../shared/zod';
import { csvRows, importCustomerKeys, KeyName, listKeys } from '../customers/keys';
import { listAttempts } from '../deliveries/attempts';
import { overview } from '../deliveries/stats';
import {
  DELIVERY_STATUSES,
  getDelivery,
  listDeliveries,
  storedPayloads,
  type DeliveryStatus,
} from '../deliveries/store';
import { CrmId, EndpointId, formatIssues } from '../endpoints/schema';
import { listEndpointIds, listEndpointSummaries } from '../endpoints/store';
import { BODY_LIMITS, limitBodies } from '../http/body-limits';
import { ApiError } from '../http/errors';
import { previewOfDelivery, type previewWebhook } from '../pipeline/preview';
import { leadsOf } from './leads';
import { acceptOne, replayMany, replayOne } from '../pipeline/replay';
import { answerCreate } from '../pipeline/create-check';
import { crmSettings, listProductLines } from '../crm/client';
import { CrmConnectPage } from './views/crm';
import { catalogueRoutes } from './catalogue';
import { teamRoutes } from './team';
import { acknowledgeProblem, getProblem, listProblems, resolveProblem } from '../watch/problems';
import { CONSOLE_ORIGIN_KEY } from '../watch';
import { rememberProductLines } from '../endpoints/catalogue';
import { safeEqual } from '../verify/crypto';
import { CONSOLE_BASE, consolePath, consolePathWith, ROUTES } from './paths';
import { LANG_COOKIE, pickLang } from './i18n';
import { csrfOk, endSession, readSession, sessionKey, startSession } from './session';
import { accessConfig, verifyAccess } from '../http/access';
import { actorOf, type Person } from '../shared/roles';
import { recordAudit } from '../team/audit';
import { roleOf } from '../team/people';
import { CONSOLE_RULES } from './rules';
import { guard } from '../team/guard';
import { CustomerKeysPage, type Lookup } from './views/customer-keys';
import {
  BulkConfirmPage,
  BulkDonePage,
  DeliveriesPage,
  DeliveryPage,
  RANGES,
  type ListFilter,
  type Range,
} from './views/deliveries';
import { OverviewPage } from './views/overview';
import { crmGates, resumeCrm } from '../pipeline/crm-status';
import { SignInPage } from './views/sign-in';
import { AUTH_RETRY_AFTER_SECONDS, authBlocked, authFailed } from '../http/auth-throttle';
import { countAuthFailure } from '../deliveries/rate-limited';
import { type C, type ConsoleEnv, issueText, refuse, render, tOf } from './page';
import { endpointRoutes } from './editor';

export const consolePages = new Hono<ConsoleEnv>();

// Pages are never cached, never framed, and run no inline script (everything rendered is escaped as well).
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

consolePages.onError((err, c) => {
  if (err instanceof ApiError) return refuse(c as C, err.status, err.code, err.message);
  console.error('console error', err);
  return refuse(c as C, 500, 'internal_error', tOf(c).refusal.internal);
});

consolePages.get(ROUTES.static, (c) => c.env.ASSETS.fetch(c.req.raw));

// Every body is read within a limit before anything else reads it: sign-in (unauthenticated) a few KiB.
const limitFor = (path: string) =>
  path.endsWith(ROUTES.signIn)
    ? BODY_LIMITS.signIn
    : path.endsWith(ROUTES.customerKeysImport)
      ? BODY_LIMITS.import + BODY_LIMITS.formEnvelope
      : BODY_LIMITS.other;
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
const safeNext = (next: unknown) =>
  typeof next === 'string' && /^\/console(?:[/?][^\\\s]*)?$/.test(next) && !next.startsWith('//') ? next : '/console';

// State-changing requests come from this origin only (a second line behind SameSite=Strict and the CSRF token).
consolePages.use('*', async (c, next) => {
  const origin = c.req.header('origin');
  if (c.req.method === 'POST' && origin !== undefined && origin !== new URL(c.req.url).origin) {
    return refuse(c, 403, 'csrf_failed', tOf(c).refusal.otherSite);
  }
  await next();
});

/**
 * The language switch: remembered for a year (the reader's choice wins over Accept-Language), then back to the page.
 */
consolePages.get(ROUTES.language, (c) => {
  const to = c.req.query('to') === 'en' ? 'en' : 'zh';
  setCookie(c, LANG_COOKIE, to, { path: CONSOLE_BASE, maxAge: 365 * 86_400, sameSite: 'Lax', secure: true });
  return c.redirect(safeNext(c.req.query('next')), 303);
});

consolePages.get(ROUTES.signIn, async (c) => {
  // behind Cloudflare Access there is no token to type: Access signed the person in already
  if (accessConfig(c.env) || (await readSession(c))) return c.redirect(safeNext(c.req.query('next')), 303);
  return render(c, <SignInPage next={safeNext(c.req.query('next'))} />);
});

/** 429 for a client that failed to sign in too often (refused before its token is even compared). */
function tooManySignIns(c: C, next: string) {
  c.header('retry-after', String(AUTH_RETRY_AFTER_SECONDS));
  return render(c, <SignInPage next={next} error={tOf(c).signIn.tooMany(AUTH_RETRY_AFTER_SECONDS)} />, 429);
}

consolePages.post(ROUTES.signIn, async (c) => {
  const counted = (now: number) =>
    c.executionCtx.waitUntil(
      countAuthFailure(c.env.DB, 'console', now).catch((err) => console.error('auth failure count write failed', err)),
    );
  if (authBlocked('console', c.req.raw, Date.now())) {
    counted(Date.now());
    return tooManySignIns(c as C, '/console');
  }
  const form = await c.req.parseBody();
  const next = safeNext(form.next);
  if (accessConfig(c.env)) return refuse(c, 403, 'forbidden', tOf(c).team.tokenOff);
  const expected = c.env.ADMIN_TOKEN;
  if (!expected) return render(c, <SignInPage next={next} error={tOf(c).signIn.notSet} />, 503);
  const token = typeof form.token === 'string' ? form.token.trim() : '';
  if (!token || !(await safeEqual(token, expected))) {
    const now = Date.now();
    counted(now);
    await recordAudit(c.env.DB, {
      actor: 'unknown',
      via: 'console',
      action: 'sign-in.failed',
      detail: { why: 'wrong_token' },
    });
    if (await authFailed(c.env.AUTH_RATE_LIMITER, 'console', c.req.raw, now)) return tooManySignIns(c, next);
    return render(c, <SignInPage next={next} error={tOf(c).signIn.wrong} />, 401);
  }
  await startSession(c, expected);
  await recordAudit(c.env.DB, { actor: 'admin', via: 'console', action: 'sign-in' });
  // where the console is, for the links in the watch's messages (unless CONSOLE_URL says it)
  if (!c.env.CONSOLE_URL)
    await c.env.ENDPOINTS.put(CONSOLE_ORIGIN_KEY, new URL(c.req.url).origin).catch(() => undefined);
  return c.redirect(next, 303);
});

// Everything below needs a person: Cloudflare Access's JWT when it is configured (the session then only carries the
// CSRF token), else a session from the admin token (one person, "admin"). A POST needs its CSRF token too.
consolePages.use('*', async (c, next) => {
  const access = accessConfig(c.env);
  let session = await readSession(c);
  let person: Person;
  if (access) {
    const verified = await verifyAccess(c.req.header('cf-access-jwt-assertion'), access, (i, init) => fetch(i, init));
    if (!verified.ok) {
      c.executionCtx.waitUntil(
        recordAudit(c.env.DB, {
          actor: 'unknown',
          via: 'console',
          action: 'sign-in.failed',
          detail: { why: verified.why },
        }).catch(() => undefined),
      );
      return refuse(c, 401, 'unauthorized', tOf(c).team.accessRefused(verified.why));
    }
    if (!session || session.who !== verified.email) {
      session = await startSession(c, sessionKey(c.env), Date.now(), verified.email);
      await recordAudit(c.env.DB, { actor: verified.email, via: 'console', action: 'sign-in' });
    }
    person = {
      who: verified.email,
      role: await roleOf(c.env.DB, verified.email, c.env.ACCESS_ADMIN_EMAIL),
      via: 'console',
    };
  } else {
    if (!session) {
      if (c.req.method === 'GET' || c.req.method === 'HEAD') {
        const url = new URL(c.req.url);
        return c.redirect(consolePathWith('signIn', { next: url.pathname + url.search }), 303);
      }
      return refuse(c, 401, 'unauthorized', tOf(c).refusal.signInFirst);
    }
    // the admin token is one person: "admin", who may do everything
    person = { who: session.who, role: 'admin', via: 'console' };
  }
  c.set('session', session);
  c.set('person', person);
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
    const header = c.req.header('x-csrf-token');
    const given = header ?? (await c.req.parseBody())._csrf;
    if (!(await csrfOk(session, typeof given === 'string' ? given : undefined))) {
      return refuse(c, 403, 'csrf_failed', tOf(c).refusal.csrf);
    }
  }
  await next();
});

// The role each form needs, checked before it runs; each change that succeeded is one audit row (./rules.ts).
consolePages.use(
  '*',
  guard(
    CONSOLE_RULES,
    (c) => (c as C).get('person'),
    (c, needed, person) => {
      const t = tOf(c);
      return refuse(c as C, 403, 'forbidden', t.team.needs(t.team.roles[needed], t.team.roles[person.role]));
    },
  ),
);

consolePages.post(ROUTES.signOut, async (c) => {
  await endSession(c, c.get('session'));
  return c.redirect(consolePath('signIn'), 303);
});

consolePages.get(ROUTES.overview, async (c) => {
  const endpoints = new Set(await listEndpointIds(c.env.ENDPOINTS));
  // a gate that cannot be asked is no reason to hide the overview
  const [data, crm] = await Promise.all([
    overview(c.env.DB, Date.now(), endpoints),
    crmGates(c.env).catch(() => ({ gates: [] })),
  ]);
  const paused = crm.gates.filter((g) => g.paused);
  const problems = (await listProblems(c.env.DB, { limit: 30 })).filter((p) => p.state !== 'resolved');
  const resolvedId = c.req.query('resolved');
  const resolved = resolvedId ? await getProblem(c.env.DB, resolvedId.slice(0, 300)) : null;
  return render(
    c,
    <OverviewPage
      data={data}
      paused={paused}
      resumed={c.req.query('done') === 'resumed'}
      csrf={c.get('session').csrf}
      problems={problems}
      resolved={resolved}
    />,
  );
});

// a problem: acknowledged (someone is on it), or resolved (the overview then offers to replay its deliveries)
consolePages.post(ROUTES.problemAcknowledge, async (c) => {
  const changed = await acknowledgeProblem(c.env.DB, c.req.param('id'), actorOf(c.get('person')), Date.now());
  if (!changed.ok) return refuse(c, 404, 'not_found', tOf(c).watch.notFound);
  return c.redirect(consolePath('overview'), 303);
});
consolePages.post(ROUTES.problemResolve, async (c) => {
  const changed = await resolveProblem(c.env.DB, c.req.param('id'), actorOf(c.get('person')), Date.now());
  if (!changed.ok) return refuse(c, 404, 'not_found', tOf(c).watch.notFound);
  return c.redirect(consolePathWith('overview', { resolved: changed.problem.id }), 303);
});

consolePages.post(ROUTES.crmResume, async (c) => {
  await resumeCrm(c.env);
  return c.redirect(consolePathWith('overview', { done: 'resumed' }), 303);
});

// ---- deliveries

const blank = (v: unknown) => (v === '' ? undefined : v);
const ListQuery = z.object({
  endpoint: preprocess(blank, z.optional(EndpointId)),
  // `attention`: every status that needs a person (the overview's "all failed" link)
  status: preprocess(
    blank,
    z.optional(z.enum(['attention', ...DELIVERY_STATUSES] as ['attention', ...DeliveryStatus[]])),
  ),
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
    listDeliveries(c.env.DB, {
      endpoint: q.endpoint,
      status: q.status,
      since: sinceOf(q.range, Date.now()),
      q: q.q,
      cursor: q.cursor,
      limit: 50,
    }),
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
    <DeliveriesPage
      filter={filter}
      endpoints={endpoints}
      rows={list.deliveries}
      leads={leads}
      nextCursor={list.nextCursor}
      csrf={c.get('session').csrf}
      issues={issues}
    />,
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
  const filter = {
    status: f.status,
    endpoint: f.endpoint,
    since: since === undefined ? undefined : new Date(since).toISOString(),
    limit: BULK_LIMIT,
  };
  const shown: ListFilter = { status: f.status, endpoint: f.endpoint, range: f.range };
  if (f.confirm === undefined) {
    const dry = await replayMany(c.env.DB, c.env.DELIVERY_QUEUE, { ...filter, dryRun: true }, now);
    c.set('auditDetail', { noChange: true });
    return render(
      c,
      <BulkConfirmPage csrf={c.get('session').csrf} filter={shown} matched={dry.matched} limit={BULK_LIMIT} />,
    );
  }
  const done = await replayMany(c.env.DB, c.env.DELIVERY_QUEUE, { ...filter, dryRun: false }, now);
  c.set('auditDetail', { status: f.status, endpoint: f.endpoint, queued: done.queued });
  return render(
    c,
    <BulkDonePage csrf={c.get('session').csrf} filter={shown} queued={done.queued} matched={done.matched} />,
    202,
  );
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
  const [d, attempts, stored] = await Promise.all([
    getDelivery(c.env.DB, id),
    listAttempts(c.env.DB, id),
    storedPayloads(c.env.DB, [id]),
  ]);
  if (!d) throw new ApiError(404, 'not_found', tOf(c).refusal.noDelivery);
  const lead = (await leadsOf(c.env.ENDPOINTS, stored)).get(id);
  return render(
    c,
    <DeliveryPage d={d} lead={lead} attempts={attempts} csrf={c.get('session').csrf} {...extra} />,
    status,
  );
}

consolePages.get(ROUTES.delivery, (c) => deliveryPage(c, c.req.param('id'), { done: c.req.query('done') }));

consolePages.get(ROUTES.deliveryPreview, async (c) => {
  const id = c.req.param('id');
  const preview = await previewOfDelivery(c.env, id);
  if (!preview.ok)
    return deliveryPage(
      c,
      id,
      { refusal: tOf(c).deliveries.noPreview(whyText(c, preview)) },
      preview.why === 'not_found' ? 404 : 409,
    );
  return deliveryPage(c, id, { preview: preview.result });
});

consolePages.post(ROUTES.deliveryReplay, async (c) => {
  const id = c.req.param('id');
  const result = await replayOne(c.env.DB, c.env.DELIVERY_QUEUE, id, Date.now());
  if (!result.ok)
    return deliveryPage(
      c,
      id,
      { refusal: tOf(c).deliveries.notReplayed(whyText(c, result)) },
      result.why === 'not_found' ? 404 : 409,
    );
  return c.redirect(consolePathWith('delivery', { done: 'replayed' }, { id }), 303);
});

consolePages.post(ROUTES.deliveryAccept, async (c) => {
  const id = c.req.param('id');
  const t = tOf(c);
  const body = await c.req.parseBody();
  if (body.confirm !== 'yes')
    return deliveryPage(c, id, { refusal: t.deliveries.notAccepted(t.deliveries.review.confirm) }, 400);
  const result = await acceptOne(c.env.DB, c.env.DELIVERY_QUEUE, id, actorOf(c.get('person')), Date.now());
  if (!result.ok)
    return deliveryPage(
      c,
      id,
      { refusal: t.deliveries.notAccepted(t.reason.not_reviewable) },
      result.why === 'not_found' ? 404 : 409,
    );
  return c.redirect(consolePathWith('delivery', { done: 'accepted' }, { id }), 303);
});

// a create whose outcome was unknown: the person who checked the CRM answers
consolePages.post(ROUTES.deliveryCreated, async (c) => {
  const id = c.req.param('id');
  const t = tOf(c);
  const body = await c.req.parseBody();
  const customerId = typeof body.customerId === 'string' ? body.customerId.trim() : '';
  const result = await answerCreate(c.env, id, { created: true, customerId }, Date.now());
  if (!result.ok)
    return deliveryPage(
      c,
      id,
      {
        refusal: t.deliveries.create.notAnswered(result.why === 'invalid' ? t.deliveries.create.badId : result.message),
      },
      result.why === 'not_found' ? 404 : 400,
    );
  return c.redirect(consolePathWith('delivery', { done: 'replayed' }, { id }), 303);
});

consolePages.post(ROUTES.deliveryCreate, async (c) => {
  const id = c.req.param('id');
  const result = await answerCreate(c.env, id, { created: false }, Date.now());
  if (!result.ok)
    return deliveryPage(
      c,
      id,
      { refusal: tOf(c).deliveries.create.notAnswered(result.message) },
      result.why === 'not_found' ? 404 : 409,
    );
  return c.redirect(consolePathWith('delivery', { done: 'replayed' }, { id }), 303);
});

// 连接 CRM: the connection test, and the product lines to pick by name
consolePages.get(ROUTES.crmConnect, async (c) => {
  const settings = crmSettings(c.env);
  const q = (c.req.query('q') ?? '').trim().slice(0, 100);
  const result = await listProductLines(fetch, settings, q);
  if (result.ok) await rememberProductLines(c.env.ENDPOINTS, result.lines);
  return render(c, <CrmConnectPage csrf={c.get('session').csrf} result={result} base={settings.baseUrl} q={q} />);
});

endpointRoutes(consolePages);
catalogueRoutes(consolePages);
teamRoutes(consolePages);

// ---- customer keys

const LookupQuery = z.object({
  moduleId: preprocess(blank, z.optional(CrmId)),
  key: preprocess(blank, z.optional(KeyName)),
  value: preprocess(blank, z.optional(z.string().check(z.trim()).check(z.maxLength(256)))),
  customerId: preprocess(blank, z.optional(CrmId)),
});

async function modulesOf(kv: KVNamespace): Promise<string[]> {
  return [...new Set((await listEndpointSummaries(kv)).map((e) => e.moduleId))];
}

consolePages.get(ROUTES.customerKeys, async (c) => {
  const raw = c.req.query();
  const lookup: Lookup = {
    moduleId: raw.moduleId ?? '',
    key: raw.key ?? '',
    value: raw.value ?? '',
    customerId: raw.customerId ?? '',
  };
  const modules = await modulesOf(c.env.ENDPOINTS);
  const csrf = c.get('session').csrf;
  if (!Object.values(lookup).some((v) => v.trim() !== ''))
    return render(c, <CustomerKeysPage csrf={csrf} modules={modules} lookup={lookup} />);
  const parsed = LookupQuery.safeParse(raw);
  let refusal = parsed.success ? undefined : issueText(parsed.error);
  if (parsed.success && parsed.data.value !== undefined && !parsed.data.key) refusal = tOf(c).keys.whichKey;
  if (refusal || !parsed.success)
    return render(c, <CustomerKeysPage csrf={csrf} modules={modules} lookup={lookup} refusal={refusal} />, 400);
  const q = parsed.data;
  const rows = await listKeys(c.env.DB, q.moduleId, { key: q.key, value: q.value, customerId: q.customerId }, 100);
  return render(c, <CustomerKeysPage csrf={csrf} modules={modules} lookup={lookup} rows={rows} />);
});

consolePages.post(ROUTES.customerKeysImport, async (c) => {
  const form = await c.req.parseBody();
  const moduleId = CrmId.safeParse(typeof form.moduleId === 'string' ? form.moduleId.trim() : '');
  const lookup: Lookup = {
    moduleId: typeof form.moduleId === 'string' ? form.moduleId : '',
    key: '',
    value: '',
    customerId: '',
  };
  const page = async (
    extra: { refusal?: string; imported?: Awaited<ReturnType<typeof importCustomerKeys>> & { moduleId: string } },
    status: ContentfulStatusCode = 200,
  ) =>
    render(
      c,
      <CustomerKeysPage
        csrf={c.get('session').csrf}
        modules={await modulesOf(c.env.ENDPOINTS)}
        lookup={lookup}
        {...extra}
      />,
      status,
    );
  if (!moduleId.success) return page({ refusal: tOf(c).keys.badModule }, 400);
  const file = form.file;
  const text = file instanceof File && file.size > 0 ? await file.text() : typeof form.csv === 'string' ? form.csv : '';
  if (!text.trim()) return page({ refusal: tOf(c).keys.noCsv }, 400);
  const rows = csvRows(text);
  if (rows === null) return page({ refusal: tOf(c).keys.noHeader }, 400);
  const imported = await importCustomerKeys(c.env.DB, moduleId.data, rows, Date.now());
  c.set('auditDetail', {
    targetId: moduleId.data,
    added: imported.added,
    updated: imported.updated,
    refused: imported.refused,
  });
  return page({ imported: { ...imported, moduleId: moduleId.data } });
});

consolePages.all('*', (c) => refuse(c, 404, 'not_found', tOf(c).refusal.noPage(new URL(c.req.url).pathname)));
