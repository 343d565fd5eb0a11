/**
 * A stand-in for the CRM, faithful to its documented API (see README "The stand-in CRM"):
 * `POST /api/moduleData/update`, `POST /api/crm/client/detail` and a create call (`POST /api/moduleData/add`, the
 * web app's own "add customer" call as CRM_CREATE_PATH names it), checked credentials and
 * `default-product-id`, customers in memory per product line, three update modes, and scripted
 * failures. Tests, `npm run dev` and the benchmark reach it over real HTTP.
 *
 * Control API (for tests and dev tooling, never part of the real CRM):
 * - `PUT /__stub/tenants/{productLineId}` `{ mode?, moduleId?, apiUserId?, customers?, failures? }` resets one product
 * line
 * - `POST /__stub/tenants/{productLineId}/failures` `[Failure, ...]` scripts the next answers; `DELETE` drops the rest
 * (an outage ends)
 * - `GET /__stub/tenants/{productLineId}` `{ mode, customers, requests, pendingFailures, maxInFlight }`
 * - `GET /__stub/turnstile?token=` the siteverify calls received (see turnstile.ts)
 * - `POST /__stub/notify/{channel}` a stand-in alert receiver (group bot); `GET` lists what it received
 * - `PUT /__stub/access/certs` the JWKS a Cloudflare Access team publishes at `GET /cdn-cgi/access/certs`
 *
 * It also stands in for Cloudflare Turnstile's `POST /turnstile/v0/siteverify` (turnstile.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { siteverify, TURNSTILE_PATH, turnstileCalls } from './turnstile.ts';
import {
  applyCreate,
  applyUpdate,
  CREATE_PATH,
  expand,
  newTenant,
  productLines,
  readDetail,
  record,
  type Customer,
  type Envelope,
  type Failure,
  type Tenant,
} from './state.ts';

export type CrmStubOptions = {
  /** The API token the CRM accepts. */
  token: string;
  authHeader?: string;
  /** "Bearer" by default; "" for the raw token. */
  authScheme?: string;
  port?: number;
  host?: string;
  /** Keep request bodies in `requests` (off for the benchmark). */
  record?: boolean;
};

export type CrmStub = {
  url: string;
  port: number;
  server: Server;
  tenants: Map<string, Tenant>;
  close(): Promise<void>;
};

const LONG_INTEGER = /\d{16}/;

/** Lossless JSON, so the stub sees exactly which ids arrived as numbers. */
function parseJson(text: string): unknown {
  if (!LONG_INTEGER.test(text)) return JSON.parse(text);
  return JSON.parse(text, function (this: unknown, _k: string, v: unknown, ctx?: { source?: string }) {
    return typeof v === 'number' && !Number.isSafeInteger(v) && ctx?.source && /^-?\d+$/.test(ctx.source)
      ? Number(ctx.source)
      : v;
  } as (this: unknown, key: string, value: unknown) => unknown);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/html' : 'application/json; charset=utf-8',
    ...headers,
  });
  res.end(text);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the stand-in CRM on loopback; resolves once it listens. */
export async function startCrmStub(options: CrmStubOptions): Promise<CrmStub> {
  const tenants = new Map<string, Tenant>();
  const authHeader = (options.authHeader ?? 'authorization').toLowerCase();
  const scheme = options.authScheme ?? 'Bearer';
  const expectedAuth = scheme ? `${scheme} ${options.token}` : options.token;
  const keep = options.record ?? true;
  const alerts = new Map<string, { headers: Record<string, string>; body: string }[]>();

  async function control(req: IncomingMessage, res: ServerResponse, path: string, text: string) {
    const match = /^\/__stub\/tenants\/(\d{1,20})(\/failures)?$/.exec(path);
    if (!match) return send(res, 404, { error: 'unknown control route' });
    const [, pid, failures] = match as unknown as [string, string, string | undefined];
    if (req.method === 'PUT' && !failures) {
      const init = (text ? parseJson(text) : {}) as Parameters<typeof newTenant>[1];
      tenants.set(pid, newTenant(pid, init));
      return send(res, 200, { ok: true });
    }
    const tenant = tenants.get(pid);
    if (!tenant) return send(res, 404, { error: `no tenant ${pid}` });
    if (req.method === 'POST' && failures) {
      tenant.failures.push(...(parseJson(text) as Failure[]));
      return send(res, 200, { pendingFailures: tenant.failures.length });
    }
    if (req.method === 'DELETE' && failures) {
      tenant.failures.length = 0;
      return send(res, 200, { pendingFailures: 0 });
    }
    if (req.method === 'GET') {
      return send(res, 200, {
        mode: tenant.mode,
        pendingFailures: tenant.failures.length,
        maxInFlight: tenant.maxInFlight,
        customers: [...tenant.customers.values()].map((c) => expand(c, tenant)),
        raw: Object.fromEntries(tenant.customers),
        requests: tenant.requests,
      });
    }
    if (req.method === 'DELETE') {
      tenants.delete(pid);
      return send(res, 204, '');
    }
    return send(res, 405, { error: 'method not allowed' });
  }

  let accessKeys = '{"keys":[]}';
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://stub').pathname;
    const text = await readBody(req);
    // A stand-in for group-bot webhooks (WeCom, DingTalk, Feishu) and any alert receiver: POST records, GET lists.
    const notify = /^\/__stub\/notify\/([\w-]{1,64})$/.exec(path);
    if (notify) {
      const channel = notify[1]!;
      if (req.method === 'POST') {
        const list = alerts.get(channel) ?? [];
        list.push({
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
          body: text,
        });
        alerts.set(channel, list);
        return send(res, 200, { errcode: 0, errmsg: 'ok' });
      }
      return send(res, 200, { messages: alerts.get(channel) ?? [] });
    }
    // A stand-in for a Cloudflare Access team's published keys: the tests PUT their JWKS, the adapter GETs it.
    if (path === '/__stub/access/certs' && req.method === 'PUT') {
      accessKeys = text;
      return send(res, 204, '');
    }
    if (path === '/cdn-cgi/access/certs') return send(res, 200, JSON.parse(accessKeys));
    if (path === '/__stub/turnstile')
      return send(res, 200, {
        calls: turnstileCalls(new URL(req.url ?? '/', 'http://stub').searchParams.get('token') ?? undefined),
      });
    if (path.startsWith('/__stub/')) return control(req, res, path, text);
    if (path === TURNSTILE_PATH && req.method === 'POST') {
      const answer = siteverify(text, req.headers['content-type']);
      return send(res, answer.status, answer.body);
    }

    const isUpdate = path === '/api/moduleData/update';
    const isDetail = path === '/api/crm/client/detail';
    const isCreate = path === CREATE_PATH;
    const isLines = path === '/api/productLine/lists';
    if (req.method !== 'POST' || (!isUpdate && !isDetail && !isCreate && !isLines))
      return send(res, 404, { code: 404, message: 'Not Found', data: [] });

    if (req.headers[authHeader] !== expectedAuth)
      return send(res, 401, { code: 401, message: '登录已失效，请重新登录', data: [] });
    // the product lines: no default-product-id (this call is how the ids are found); each tenant is one
    if (isLines) return send(res, 200, productLines([...tenants.values()], text));
    const pid = req.headers['default-product-id'];
    if (typeof pid !== 'string' || !pid)
      return send(res, 200, { code: 400, message: 'default-product-id 不能为空', data: [] });
    const tenant = tenants.get(pid);
    if (!tenant) return send(res, 200, { code: 403, message: '产品线不存在或无权限', data: [] });

    let body: unknown;
    try {
      body = isUpdate || isCreate ? parseJson(text) : Object.fromEntries(new URLSearchParams(text));
    } catch {
      body = undefined;
    }
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    const entry = { at: new Date().toISOString(), path, headers, rawBody: keep ? text : '', body: keep ? body : null };

    tenant.inFlight += 1;
    tenant.maxInFlight = Math.max(tenant.maxInFlight, tenant.inFlight);
    res.once('close', () => {
      tenant.inFlight -= 1;
    });
    const failure = tenant.failures.shift();
    if (failure) {
      if ('delayMs' in failure) await sleep(failure.delayMs);
      else {
        record(tenant, { ...entry, outcome: 'scripted' });
        if ('hang' in failure) return; // never answers; the caller's timeout fires
        if ('drop' in failure) return req.socket.destroy();
        if ('garbage' in failure) return send(res, 200, '<html><body>502 Bad Gateway</body></html>');
        if ('http' in failure) {
          const extra: Record<string, string> =
            failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {};
          return send(
            res,
            failure.http,
            failure.body ?? { code: failure.http, message: `HTTP ${failure.http}`, data: [] },
            extra,
          );
        }
        return send(res, 200, { code: failure.code, message: failure.message ?? `错误 ${failure.code}`, data: [] });
      }
    }
    if (body === undefined) {
      record(tenant, { ...entry, outcome: 'refused' });
      return send(res, 200, { code: 400, message: '请求体不是合法的 JSON', data: [] });
    }
    const answer: Envelope = isCreate
      ? applyCreate(tenant, body)
      : isUpdate
        ? applyUpdate(tenant, body)
        : readDetail(tenant, new URLSearchParams(text));
    record(tenant, { ...entry, outcome: answer.code === 200 ? 'applied' : 'refused' });
    return send(res, 200, answer);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      console.error('crm stub error', err);
      if (!res.headersSent) send(res, 500, { code: 500, message: 'stub error', data: [] });
    });
  });
  server.keepAliveTimeout = 65_000;
  // a busy port rejects (EADDRINUSE) instead of crashing the process with an unhandled 'error' event
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    tenants,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type { Customer, Failure, Tenant };
