/** Builders shared by the integration tests: a valid request first, then each test breaks one thing. */
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import worker from '../src/index';
import consoleWorker from '../src/console/worker';
import type { EndpointConfigInput } from '../src/endpoints/schema';

export const MODULE_ID = '347772778973233152';
export const CUSTOMER_ID = '688346218203447296';
export const ADMIN = { authorization: 'Bearer test-admin-token' };

/** Sends a request through the Worker's fetch and waits for its `waitUntil` work (the D1 write). */
export async function call(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

let counter = 0;
/** A name no other test uses, so tests never depend on each other's state. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}-${counter}`;
}

/** A fresh snowflake-sized id (18 digits, above 2^53). */
export function snowflake(): string {
  const digits = crypto.getRandomValues(new Uint32Array(3));
  return `7${Array.from(digits, (d) => String(d % 1_000_000).padStart(6, '0'))
    .join('')
    .slice(0, 17)}`;
}

// ---- the stand-in CRM -------------------------------------------------------

type TenantInit = {
  mode?: 'merge' | 'replace' | 'reassign-owner';
  /** The customer module's id in this CRM (and in the endpoint's config); MODULE_ID unless told. */
  moduleId?: string;
  customers?: Record<string, unknown>[];
  failures?: unknown[];
  /** The product line's name in `/api/productLine/lists`. */
  name?: string;
};

/** A product line of its own in the stand-in CRM, with one customer CUSTOMER_ID unless told otherwise. */
export async function crmTenant(init: TenantInit = {}): Promise<string> {
  const productLineId = snowflake();
  const body = {
    customers: [{ id: CUSTOMER_ID, name: '旧名字', phone: '13000000000', own_id: '400000000000000002' }],
    ...init,
  };
  const res = await fetch(`${env.CRM_BASE_URL}/__stub/tenants/${productLineId}`, {
    method: 'PUT',
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`stub: ${res.status}`);
  return productLineId;
}

export type StubRequest = {
  path: string;
  headers: Record<string, string>;
  rawBody: string;
  body: Record<string, unknown>;
  outcome: string;
};
export type StubState = {
  mode: string;
  customers: Record<string, unknown>[];
  requests: StubRequest[];
  pendingFailures: number;
  maxInFlight: number;
};

/** What the stand-in CRM holds and received for one product line. */
export async function crmState(productLineId: string): Promise<StubState> {
  const res = await fetch(`${env.CRM_BASE_URL}/__stub/tenants/${productLineId}`);
  return res.json();
}

// ---- endpoints --------------------------------------------------------------

/** A valid endpoint configuration (token in the query), the example minus what a test changes. */
export function endpointConfig(
  productLineId: string,
  overrides: Partial<EndpointConfigInput> = {},
): EndpointConfigInput {
  return {
    name: 'Landing page form',
    enabled: true,
    crm: { moduleId: MODULE_ID, productLineId },
    verify: { type: 'token', query: 'token', secret: 'TEST_FORM_TOKEN' },
    customerId: 'crm_id',
    fields: {
      name: '$trim(name)',
      phone: '$cnMobile(mobile)',
      source: { value: '514465485002113024' },
      select_1680162080347: { from: 'level', map: { A: '484020435193692160', B: '484020435193692161' } },
      note: { from: 'comment' },
      input_1680509561692: { from: 'utm_campaign', required: true },
    },
    ...overrides,
  };
}

export async function putEndpoint(id: string, config: unknown): Promise<Response> {
  return call(
    new Request(`https://adapter.test/admin/endpoints/${id}`, {
      method: 'PUT',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: typeof config === 'string' ? config : JSON.stringify(config),
    }),
  );
}

/** Stores an endpoint and a tenant for it; returns both ids. */
export async function setupEndpoint(overrides: Partial<EndpointConfigInput> = {}, tenant: TenantInit = {}) {
  const productLineId = await crmTenant(tenant);
  const endpointId = unique('ep');
  const config = endpointConfig(productLineId, overrides);
  if (tenant.moduleId) config.crm = { moduleId: tenant.moduleId, productLineId };
  const res = await putEndpoint(endpointId, config);
  if (res.status !== 201) throw new Error(`PUT endpoint: ${res.status} ${await res.text()}`);
  return { endpointId, productLineId };
}

/** A webhook POST as a form tool sends it. */
export function hook(
  endpointId: string,
  body: string | FormData,
  init: { query?: string; headers?: Record<string, string> } = {},
): Request {
  const headers = new Headers(init.headers);
  if (typeof body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return new Request(`https://adapter.test/hooks/${endpointId}${init.query ?? '?token=form-token-2f9c'}`, {
    method: 'POST',
    headers,
    body,
  });
}

/** The JSON body the example mapping expects. */
export function leadJson(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    crm_id: CUSTOMER_ID,
    name: ' 吴九 ',
    mobile: '+86 139-0013-9000',
    level: 'A',
    comment: '想了解价格',
    utm_campaign: 'spring',
    ...overrides,
  });
}

// ---- the delivery log -------------------------------------------------------

export type Row = Record<string, unknown> & { id: string; status: string; reason: string | null };

export async function deliveryRow(id: string): Promise<Row | null> {
  return env.DB.prepare('SELECT * FROM deliveries WHERE id = ?').bind(id).first<Row>();
}

export async function rowsFor(endpointId: string): Promise<Row[]> {
  const { results } = await env.DB.prepare('SELECT * FROM deliveries WHERE endpoint_id = ? ORDER BY id')
    .bind(endpointId)
    .all<Row>();
  return results;
}

// ---- signing ----------------------------------------------------------------

export async function hmacOf(
  secret: string,
  body: string,
  encoding: 'hex' | 'base64',
  algorithm = 'SHA-256',
): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: algorithm },
    false,
    ['sign'],
  );
  const sig = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(body)));
  return encoding === 'hex'
    ? Array.from(sig, (b) => b.toString(16).padStart(2, '0')).join('')
    : btoa(String.fromCharCode(...sig));
}

// ---- queue, cron ------------------------------------------------------------

export type Sent = { id: string; delaySeconds?: number };

/**
 * A queue producer that records what is sent, for tests that then run the consumer themselves
 * (createMessageBatch + getQueueResult) instead of racing the local queue's own consumer.
 */
export function recordingQueue(options: { fail?: boolean } = {}) {
  const sent: Sent[] = [];
  const queue = {
    sent,
    async send(body: { id: string }, opts?: { delaySeconds?: number }) {
      if (options.fail) throw new Error('queue unavailable (test)');
      sent.push({ id: body.id, ...(opts?.delaySeconds !== undefined ? { delaySeconds: opts.delaySeconds } : {}) });
    },
    async sendBatch(messages: { body: { id: string } }[]) {
      if (options.fail) throw new Error('queue unavailable (test)');
      for (const m of messages) sent.push({ id: m.body.id });
    },
  };
  return queue;
}

/** Sends a request through the Worker with some bindings replaced (a recording queue, a broken D1). */
export async function callWith(request: Request, overrides: Partial<Record<keyof Env, unknown>>): Promise<Response> {
  const ctx = createExecutionContext();
  // bindings replaced for one call reach the console Worker only when it is called itself (a service binding has its
  // own env)
  const target = new URL(request.url).pathname.startsWith('/console') ? consoleWorker : worker;
  const response = await target.fetch(request, { ...env, ...overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** Runs the queue consumer on messages for these deliveries, as the queue would deliver them. */
export async function drive(
  ids: string[],
  options: { queue?: string; overrides?: Partial<Record<keyof Env, unknown>> } = {},
) {
  const batch = createMessageBatch(
    options.queue ?? 'crm-deliveries',
    ids.map((id, i) => ({ id: `msg-${i}-${id}`, timestamp: new Date(), attempts: 1, body: { id } })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<{ id: string }>, { ...env, ...options.overrides } as Env, ctx);
  return getQueueResult(batch, ctx);
}

/** Runs the cron trigger as if at `at` (ms). */
export async function runScheduled(at: number, overrides: Partial<Record<keyof Env, unknown>> = {}) {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ scheduledTime: at, cron: '*/5 * * * *' }),
    { ...env, ...overrides } as Env,
    ctx,
  );
  // the console Worker's cron (the watch) runs on the same schedule
  await consoleWorker.scheduled(
    createScheduledController({ scheduledTime: at, cron: '*/5 * * * *' }),
    { ...env, ...overrides } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

export async function attemptsFor(deliveryId: string) {
  const { results } = await env.DB.prepare('SELECT * FROM attempts WHERE delivery_id = ? ORDER BY n')
    .bind(deliveryId)
    .all<Record<string, unknown>>();
  return results;
}

/** Ends a scripted outage: the stand-in CRM drops the answers still scripted for one product line. */
export async function crmRecovers(productLineId: string) {
  const res = await fetch(`${env.CRM_BASE_URL}/__stub/tenants/${productLineId}/failures`, { method: 'DELETE' });
  if (!res.ok) throw new Error(`stub: ${res.status}`);
}

/** Scripts the stand-in CRM's next answers for one product line. */
export async function crmFailures(productLineId: string, failures: unknown[]) {
  const res = await fetch(`${env.CRM_BASE_URL}/__stub/tenants/${productLineId}/failures`, {
    method: 'POST',
    body: JSON.stringify(failures),
  });
  if (!res.ok) throw new Error(`stub: ${res.status}`);
}

// ---- D1 rows written, as D1 bills them ----------------------------------------

/**
 * The D1 binding with every statement's `meta.rows_written` added up (D1's own count: table rows and index entries).
 * `first()` and `raw()` are run as `all()` so that their meta is seen too.
 */
export function countingDb(db: D1Database): { db: D1Database; written: () => number; statements: () => string[] } {
  let written = 0;
  const log: string[] = [];
  const count = (sql: string, meta: { rows_written?: number } | undefined) => {
    written += meta?.rows_written ?? 0;
    if (meta?.rows_written) log.push(`${meta.rows_written} ${sql.replace(/\s+/g, ' ').slice(0, 60)}`);
  };
  const wrap = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const wrapped = {
      bind: (...values: unknown[]) => wrap(stmt.bind(...values), sql),
      run: async () => {
        const r = await stmt.run();
        count(sql, r.meta);
        return r;
      },
      all: async () => {
        const r = await stmt.all();
        count(sql, r.meta);
        return r;
      },
      first: async (column?: string) => {
        const r = await stmt.all<Record<string, unknown>>();
        count(sql, r.meta);
        const row = r.results[0] ?? null;
        return column === undefined ? row : (row?.[column] ?? null);
      },
      raw: async (options?: { columnNames?: boolean }) => {
        const r = await stmt.all<Record<string, unknown>>();
        count(sql, r.meta);
        const rows = r.results.map((row) => Object.values(row));
        return options?.columnNames ? [Object.keys(r.results[0] ?? {}), ...rows] : rows;
      },
      __inner: stmt,
      __sql: sql,
    };
    return wrapped as unknown as D1PreparedStatement;
  };
  const counted = {
    prepare: (sql: string) => wrap(db.prepare(sql), sql),
    batch: async (statements: D1PreparedStatement[]) => {
      const own = statements as unknown as { __inner?: D1PreparedStatement; __sql?: string }[];
      const results = await db.batch(own.map((s, i) => s.__inner ?? statements[i]!));
      for (const [i, r] of results.entries()) count(own[i]!.__sql ?? 'batch', r.meta);
      return results;
    },
    exec: (sql: string) => db.exec(sql),
    withSession: () => counted,
    dump: () => db.dump(),
  };
  return { db: counted as unknown as D1Database, written: () => written, statements: () => [...log] };
}

// ---- the console ------------------------------------------------------------

export type ConsoleSession = { cookie: string; csrf: string };
export const ZH_PAGE = { 'accept-language': 'zh-CN,zh;q=0.9', accept: 'text/html' };

/** Signs in to the console with the admin token: the session cookie and the CSRF token its forms carry. */
export async function consoleSignIn(): Promise<ConsoleSession> {
  const res = await call(
    new Request('https://adapter.test/console/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: 'test-admin-token' }),
    }),
  );
  const cookie = /^(__Host-console=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]!;
  const page = await call(new Request('https://adapter.test/console/endpoints', { headers: { cookie } }));
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]! };
}

/** A console form post (its CSRF token added), as a Chinese browser sends it. */
export function consoleForm(path: string, s: ConsoleSession, fields: Record<string, string>): Request {
  return new Request(`https://adapter.test${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: s.cookie, ...ZH_PAGE },
    body: new URLSearchParams({ _csrf: s.csrf, ...fields }),
  });
}

/** A console page, as a Chinese browser asks for it. */
export function consolePage(path: string, s: ConsoleSession): Request {
  return new Request(`https://adapter.test${path}`, { headers: { cookie: s.cookie, ...ZH_PAGE } });
}
