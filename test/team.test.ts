/**
 * Who did what (issue "Who did what"): Cloudflare Access sign-in verified from its JWT (signature against the team's
 * keys, audience, expiry, issuer), the three roles checked on every console form and admin route, an audit row per
 * change (never a secret's value), and endpoint versions with their difference and restore. The team's keys are
 * served by the stand-in (tools/crm-stub/server.ts, `/cdn-cgi/access/certs`), signed here with a key of the test's.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUES } from '../src/console/i18n';
import { consolePages } from '../src/console/index';
import { CONSOLE_BASE, ROUTES } from '../src/console/paths';
import { setRole } from '../src/team/people';
import type { Role } from '../src/shared/roles';
import openapi from '../assets/openapi.json';
import {
  call,
  callWith,
  consoleForm,
  consolePage,
  consoleSignIn,
  endpointConfig,
  hook,
  leadJson,
  putEndpoint,
  setupEndpoint,
  unique,
  ZH_PAGE,
} from './helpers';

const AUD = 'aud-console-0f3c';
const BOSS = 'boss@example.com';
const ACCESS = () => ({ ACCESS_TEAM_DOMAIN: env.CRM_BASE_URL, ACCESS_AUD: AUD, ACCESS_ADMIN_EMAIL: BOSS });
const zh = CATALOGUES.zh;

let teamKey: CryptoKeyPair;
let otherKey: CryptoKeyPair;
const rsa = () =>
  crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  ) as Promise<CryptoKeyPair>;
const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const enc = (v: unknown) => b64url(new TextEncoder().encode(JSON.stringify(v)));

/** A JWT as Cloudflare Access signs it (RS256, `kid`), with claims for `email` unless told otherwise. */
async function jwt(
  email: string,
  over: Record<string, unknown> = {},
  key: CryptoKey = teamKey.privateKey,
  kid = 'team-1',
) {
  const now = Math.floor(Date.now() / 1000);
  const head = enc({ alg: 'RS256', kid, typ: 'JWT' });
  const body = enc({
    email,
    aud: [AUD],
    iss: env.CRM_BASE_URL,
    iat: now,
    nbf: now,
    exp: now + 600,
    sub: crypto.randomUUID(),
    ...over,
  });
  const sig = new Uint8Array(
    await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, new TextEncoder().encode(`${head}.${body}`)),
  );
  return `${head}.${body}.${b64url(sig)}`;
}

beforeAll(async () => {
  teamKey = await rsa();
  otherKey = await rsa();
  const jwk = await crypto.subtle.exportKey('jwk', teamKey.publicKey);
  const res = await fetch(`${env.CRM_BASE_URL}/__stub/access/certs`, {
    method: 'PUT',
    body: JSON.stringify({ keys: [{ ...jwk, kid: 'team-1', alg: 'RS256' }] }),
  });
  expect(res.status).toBe(204);
});

/** A console session behind Access: the first page sets the cookie; its CSRF token is on the page. */
async function accessSession(email: string) {
  const token = await jwt(email);
  const res = await callWith(
    new Request(`https://adapter.test${CONSOLE_BASE}`, { headers: { 'cf-access-jwt-assertion': token, ...ZH_PAGE } }),
    ACCESS(),
  );
  expect(res.status).toBe(200);
  const cookie = /^(__Host-console=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await res.text())![1]!;
  return { token, cookie, csrf };
}

const asPerson = (s: { token: string; cookie: string }, path: string, init: RequestInit = {}) =>
  callWith(
    new Request(`https://adapter.test${path}`, {
      ...init,
      headers: {
        'cf-access-jwt-assertion': s.token,
        cookie: s.cookie,
        ...ZH_PAGE,
        ...(init.headers as Record<string, string>),
      },
    }),
    ACCESS(),
  );

const postAs = (
  s: { token: string; cookie: string; csrf: string },
  path: string,
  fields: Record<string, string> = {},
) =>
  asPerson(s, path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://adapter.test' },
    body: new URLSearchParams({ _csrf: s.csrf, ...fields }),
  });

async function personWith(role: Role) {
  const email = `${role}-${crypto.randomUUID().slice(0, 6)}@example.com`;
  await setRole(env.DB, email, role, BOSS, Date.now());
  return { email, ...(await accessSession(email)) };
}

describe('Cloudflare Access sign-in', () => {
  it('takes the person from a valid JWT: the first admin is an admin, anyone else a viewer until an admin says otherwise', async () => {
    const boss = await accessSession(BOSS);
    const page = await (await asPerson(boss, CONSOLE_BASE)).text();
    expect(page).toContain(zh.team.you(BOSS, zh.team.roles.admin));
    const stranger = await accessSession('new-hire@example.com');
    const seen = await (await asPerson(stranger, CONSOLE_BASE)).text();
    expect(seen).toContain(zh.team.you('new-hire@example.com', zh.team.roles.viewer));
    expect(seen).toContain(zh.team.viewerNote);
  });

  const refused: [string, () => Promise<string | undefined>][] = [
    ['an expired one', () => jwt(BOSS, { exp: Math.floor(Date.now() / 1000) - 5 })],
    ['a wrong audience', () => jwt(BOSS, { aud: ['another-app'] })],
    ['a forged signature', () => jwt(BOSS, {}, otherKey.privateKey)],
    ['an unknown key', () => jwt(BOSS, {}, otherKey.privateKey, 'team-9')],
    ['another issuer', () => jwt(BOSS, { iss: 'https://evil.cloudflareaccess.com' })],
    ['no email', () => jwt('', {})],
    ['a missing header', async () => undefined],
    ['garbage', async () => 'not.a.jwt'],
  ];
  for (const [name, make] of refused) {
    it(`refuses ${name} with 401 and a sentence, and lets nothing through`, async () => {
      const token = await make();
      const headers: Record<string, string> = {
        ...ZH_PAGE,
        ...(token === undefined ? {} : { 'cf-access-jwt-assertion': token }),
      };
      const res = await callWith(new Request(`https://adapter.test${CONSOLE_BASE}/endpoints`, { headers }), ACCESS());
      expect(res.status).toBe(401);
      const html = await res.text();
      expect(html).toContain(zh.team.accessRefused('').slice(0, 12));
      expect(html).not.toContain('name="_csrf"');
    });
  }

  it('turns the token sign-in off behind Access; without Access the token still signs in as "admin"', async () => {
    const form = new Request('https://adapter.test/console/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...ZH_PAGE },
      body: new URLSearchParams({ token: 'test-admin-token' }),
    });
    expect((await callWith(form, ACCESS())).status).toBe(403);
    const s = await consoleSignIn();
    expect(await (await call(consolePage('/console', s))).text()).toContain(zh.team.you('admin', zh.team.roles.admin));
  });

  it('the admin API takes an Access JWT too, with the person’s role (the bearer token is "admin")', async () => {
    const viewer = await personWith('viewer');
    const get = await callWith(
      new Request('https://adapter.test/admin/endpoints', { headers: { 'cf-access-jwt-assertion': viewer.token } }),
      ACCESS(),
    );
    expect(get.status).toBe(200);
    const put = await callWith(
      new Request('https://adapter.test/admin/endpoints/x-viewer', {
        method: 'PUT',
        headers: { 'cf-access-jwt-assertion': viewer.token, 'content-type': 'application/json' },
        body: '{}',
      }),
      ACCESS(),
    );
    expect(put.status).toBe(403);
    expect(await put.json()).toMatchObject({ error: { code: 'forbidden' } });
  });
});

/** What each kind of action needs, said here independently of src/console/rules.ts and src/admin/rules.ts. */
function needs(method: string, path: string): Role {
  if (method === 'GET') return 'viewer';
  if (/\/preview$|\/test$|\/sign-out$/.test(path)) return 'viewer';
  if (
    /\/(replay|accept|create-answer|created|create|acknowledge|resolve)$|customer-keys|\/crm\/resume$/.test(path) &&
    !/\/versions\//.test(path)
  )
    return 'operator';
  return 'admin';
}
const fill = (path: string) => path.replace(/:n\b|\{n\}/g, '1').replace(/:[a-z]+|\{[a-z]+\}/gi, 'nothing-here');
const allowed = (role: Role, need: Role) =>
  ['viewer', 'operator', 'admin'].indexOf(role) >= ['viewer', 'operator', 'admin'].indexOf(need);

describe('roles on every action', () => {
  it('every console form: each role allowed or refused (403 with a sentence) as its kind of action says', async () => {
    const people = {
      viewer: await personWith('viewer'),
      operator: await personWith('operator'),
      admin: await personWith('admin'),
    };
    // every POST route the console registers (sign-out aside: it would end the sessions the others use)
    const posts = consolePages.routes
      .filter((r) => r.method === 'POST')
      .map((r) => r.path)
      .filter((r) => r !== ROUTES.signOut && r !== ROUTES.signIn);
    let checked = 0;
    for (const route of posts) {
      const path = `${CONSOLE_BASE}${fill(route)}`;
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const res = await postAs(people[role], path);
        const need = needs('POST', route);
        if (allowed(role, need)) expect(res.status, `${role} POST ${route}`).not.toBe(403);
        else {
          expect(res.status, `${role} POST ${route}`).toBe(403);
          const html = await res.text();
          expect(html.replace(/<[^>]+>/g, ' ').slice(-900), `${role} POST ${route}`).toContain(
            zh.team.needs(need, role).slice(0, 6),
          );
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(60);
  });

  it('every admin route in the OpenAPI document: each role allowed or refused as its kind of action says', async () => {
    const people = {
      viewer: await personWith('viewer'),
      operator: await personWith('operator'),
      admin: await personWith('admin'),
    };
    let checked = 0;
    for (const [route, ops] of Object.entries((openapi as { paths: Record<string, Record<string, unknown>> }).paths)) {
      for (const method of Object.keys(ops).filter((m) => ['get', 'post', 'put', 'delete', 'patch'].includes(m))) {
        for (const role of ['viewer', 'operator', 'admin'] as const) {
          const body = ['post', 'put', 'patch'].includes(method) ? '{}' : undefined;
          const res = await callWith(
            new Request(`https://adapter.test${fill(route)}`, {
              method: method.toUpperCase(),
              headers: { 'cf-access-jwt-assertion': people[role].token, 'content-type': 'application/json' },
              body,
            }),
            ACCESS(),
          );
          const need = needs(method.toUpperCase(), route);
          if (allowed(role, need)) expect(res.status, `${role} ${method} ${route}`).not.toBe(403);
          else expect(res.status, `${role} ${method} ${route}`).toBe(403);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(80);
  });

  it('a viewer sees no edit buttons: no save, no secret field, no replay, no import, no new endpoint', async () => {
    const { endpointId } = await setupEndpoint();
    const viewer = await personWith('viewer');
    const editor = await (await asPerson(viewer, `/console/endpoints/${endpointId}`)).text();
    expect(editor).not.toContain('name="save"');
    expect(editor).not.toContain('id="secret-value"');
    const list = await (await asPerson(viewer, '/console/endpoints')).text();
    expect(list).not.toContain('href="/console/endpoints/_new"');
    const keys = await (await asPerson(viewer, '/console/customer-keys')).text();
    expect(keys).not.toContain('action="/console/customer-keys/import"');
    const catalogue = await (await asPerson(viewer, '/console/crm/fields')).text();
    expect(catalogue).not.toContain('action="/console/crm/fields/field"');
    expect(catalogue).not.toContain('action="/console/crm/fields/paste"');
    const admin = await personWith('admin');
    expect(await (await asPerson(admin, `/console/endpoints/${endpointId}`)).text()).toContain('name="save"');
    expect(await (await asPerson(admin, '/console/crm/fields')).text()).toContain('action="/console/crm/fields/field"');
  });
});

describe('the audit log', () => {
  it('one row per change with who, what and what it touched; a secret’s value never', async () => {
    const admin = await personWith('admin');
    const id = unique('audited');
    const { productLineId } = await setupEndpoint();
    const config = endpointConfig(productLineId, {
      verify: { type: 'token', query: 'token', secret: 'AUDITED_FORM_TOKEN' },
    });
    const saved = await callWith(
      new Request(`https://adapter.test/admin/endpoints/${id}`, {
        method: 'PUT',
        headers: { 'cf-access-jwt-assertion': admin.token, 'content-type': 'application/json' },
        body: JSON.stringify(config),
      }),
      ACCESS(),
    );
    expect(saved.status).toBe(201);
    const secret = await postAs(admin, `/console/endpoints/${id}/secret`, {
      value: 'sekret-value-77aa',
      graceHours: '0',
    });
    expect(secret.status, /class="notice error"[\s\S]{0,400}/.exec(await secret.clone().text())?.[0]).toBe(303);
    const imported = await postAs(admin, '/console/customer-keys/import', {
      moduleId: '347772778973233152',
      csv: 'customer_id,key,value\n688346218203447296,phone,13800138000',
    });
    expect(imported.status).toBe(200);
    await postAs(admin, '/console/team/set', { email: 'helper@example.com', role: 'operator' });
    const rows = (
      await env.DB.prepare('SELECT * FROM audit WHERE actor = ? ORDER BY id')
        .bind(admin.email)
        .all<Record<string, unknown>>()
    ).results;
    expect(rows.map((r) => [r.action, r.target_kind, r.target_id])).toEqual(
      expect.arrayContaining([
        ['sign-in', null, null],
        ['endpoint.saved', 'endpoint', id],
        ['secret.set', 'endpoint', id],
        ['keys.imported', 'module', '347772778973233152'],
        ['role.set', 'person', 'helper@example.com'],
      ]),
    );
    expect(JSON.parse(rows.find((r) => r.action === 'endpoint.saved')!.detail as string)).toMatchObject({
      version: 1,
      created: true,
    });
    expect(JSON.stringify(rows)).not.toContain('sekret-value-77aa');
    // a refused change is not a change: no row
    const viewer = await personWith('viewer');
    await postAs(viewer, `/console/endpoints/${id}/secret`, { value: 'x' });
    expect(
      (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit WHERE actor = ? AND action <> ?')
        .bind(viewer.email, 'sign-in')
        .first<{ n: number }>())!.n,
    ).toBe(0);
    // the API pages it, the console lists it filtered, in both languages
    const api = await call(
      new Request(`https://adapter.test/admin/audit?actor=${encodeURIComponent(admin.email)}&limit=2`, {
        headers: { authorization: 'Bearer test-admin-token' },
      }),
    );
    const page = await api.json<{ entries: unknown[]; nextCursor: string | null }>();
    expect(page.entries).toHaveLength(2);
    expect(page.nextCursor).toMatch(/^[0-9a-z]{26}$/);
    const html = await (
      await asPerson(admin, `/console/audit?actor=${encodeURIComponent(admin.email)}&what=secret.set`)
    ).text();
    expect(html).toContain('<tr data-action="secret.set">');
    expect(html).toContain(zh.audit.actions['secret.set']!);
    expect(html).not.toContain('<tr data-action="role.set">');
  });

  it('says who accepted a refused lead: the person, not "admin"', async () => {
    const { endpointId } = await setupEndpoint();
    const refused = await call(hook(endpointId, leadJson(), { query: '?token=an-old-token' }));
    expect(refused.status).toBe(401);
    const { deliveryId } = (await refused.json()) as { deliveryId: string };
    const operator = await personWith('operator');
    const res = await postAs(operator, `/console/deliveries/${deliveryId}/accept`, { confirm: 'yes' });
    expect(res.status).toBe(303);
    const row = await env.DB.prepare('SELECT accepted_by FROM deliveries WHERE id = ?')
      .bind(deliveryId)
      .first<{ accepted_by: string }>();
    expect(row!.accepted_by).toBe(`${operator.email} (console)`);
    const audit = await env.DB.prepare(
      "SELECT actor, target_id FROM audit WHERE action = 'delivery.accepted' AND target_id = ?",
    )
      .bind(deliveryId)
      .first();
    expect(audit).toEqual({ actor: operator.email, target_id: deliveryId });
  });

  it('failed sign-ins are rows too', async () => {
    const before = (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit WHERE action = 'sign-in.failed'").first<{
      n: number;
    }>())!.n;
    await call(
      new Request('https://adapter.test/console/sign-in', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: 'wrong' }),
      }),
    );
    await callWith(
      new Request('https://adapter.test/console', { headers: { 'cf-access-jwt-assertion': 'not.a.jwt' } }),
      ACCESS(),
    );
    const after = (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit WHERE action = 'sign-in.failed'").first<{
      n: number;
    }>())!.n;
    expect(after - before).toBe(2);
  });
});

describe('endpoint versions', () => {
  it('two saves then a restore give back the first configuration exactly, as a third version; the console shows the difference', async () => {
    const { productLineId } = await setupEndpoint();
    const id = unique('versioned');
    const first = endpointConfig(productLineId);
    const second = { ...first, fields: { ...first.fields, note: { value: '改过的备注' } } };
    expect((await putEndpoint(id, first)).status).toBe(201);
    expect((await putEndpoint(id, second)).status).toBe(200);
    const admin = { authorization: 'Bearer test-admin-token' };
    const list = await (
      await call(new Request(`https://adapter.test/admin/endpoints/${id}/versions`, { headers: admin }))
    ).json<{ versions: { n: number; savedBy: string }[] }>();
    expect(list.versions.map((v) => [v.n, v.savedBy])).toEqual([
      [2, 'admin'],
      [1, 'admin'],
    ]);
    const restored = await call(
      new Request(`https://adapter.test/admin/endpoints/${id}/versions/1/restore`, { method: 'POST', headers: admin }),
    );
    expect(restored.status).toBe(201);
    expect(await restored.json()).toMatchObject({ version: 3, restoredFrom: 1 });
    const v1 = await (
      await call(new Request(`https://adapter.test/admin/endpoints/${id}/versions/1`, { headers: admin }))
    ).json<{ config: unknown }>();
    const v3 = await (
      await call(new Request(`https://adapter.test/admin/endpoints/${id}/versions/3`, { headers: admin }))
    ).json<{ config: unknown; restoredFrom: number }>();
    expect(v3.config).toEqual(v1.config);
    expect(v3.restoredFrom).toBe(1);
    const stored = (await env.ENDPOINTS.get<{ config: unknown }>(`v1:endpoint:${id}`, 'json'))!.config;
    expect(stored).toEqual(v1.config);
    // the difference, in the console
    const s = await consoleSignIn();
    const diff = await (await call(consolePage(`/console/endpoints/${id}/versions?a=1&b=2`, s))).text();
    expect(diff).toContain(zh.versions.diff(1, 2));
    expect(diff).toContain('data-path="fields.note.value"');
    expect(diff).toContain('改过的备注');
    // restored from the console: a fourth version, audited
    const res = await call(consoleForm(`/console/endpoints/${id}/versions/2/restore`, s, {}));
    expect(res.status).toBe(303);
    expect(
      await env.DB.prepare('SELECT action, detail FROM audit WHERE target_id = ? ORDER BY id DESC LIMIT 1')
        .bind(id)
        .first<{ action: string; detail: string }>(),
    ).toMatchObject({ action: 'endpoint.restored', detail: JSON.stringify({ version: 4, restoredFrom: 2 }) });
  });

  it('nothing on the webhook path: a webhook reads no version and writes no audit row', async () => {
    const { endpointId } = await setupEndpoint();
    const before = (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit').first<{ n: number }>())!.n;
    expect((await call(hook(endpointId, leadJson()))).status).toBe(200);
    expect((await env.DB.prepare('SELECT COUNT(*) AS n FROM audit').first<{ n: number }>())!.n).toBe(before);
  });
});

describe('an audit row for every kind of change through the API', () => {
  const bearer = { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' };
  const api = (method: string, path: string, body?: unknown) =>
    call(
      new Request(`https://adapter.test${path}`, {
        method,
        headers: bearer,
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
  const lastAudit = async (action: string) =>
    env.DB.prepare(
      'SELECT actor, via, target_kind, target_id, detail FROM audit WHERE action = ? ORDER BY id DESC LIMIT 1',
    )
      .bind(action)
      .first<Record<string, unknown>>();

  it('each change is one row naming the action and what it touched; a dry run and a refused change are none', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const refused = await call(hook(endpointId, leadJson(), { query: '?token=wrong' }));
    const { deliveryId } = (await refused.json()) as { deliveryId: string };
    const count = async () => (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit').first<{ n: number }>())!.n;
    const steps: [string, string, unknown, string, string | null][] = [
      [
        'PUT',
        `/admin/secrets/AUDIT_${productLineId.slice(-6)}`,
        { value: 'x-secret-value-1' },
        'secret.set',
        `AUDIT_${productLineId.slice(-6)}`,
      ],
      [
        'DELETE',
        `/admin/secrets/AUDIT_${productLineId.slice(-6)}`,
        undefined,
        'secret.deleted',
        `AUDIT_${productLineId.slice(-6)}`,
      ],
      [
        'POST',
        '/admin/customer-keys?moduleId=347772778973233152',
        [{ customer_id: '688346218203447296', key: 'phone', value: '13500135000' }],
        'keys.imported',
        null,
      ],
      [
        'DELETE',
        '/admin/customer-keys?moduleId=347772778973233152&key=phone&value=13500135000',
        undefined,
        'keys.deleted',
        null,
      ],
      ['POST', `/admin/deliveries/${deliveryId}/accept`, undefined, 'delivery.accepted', deliveryId],
      ['POST', '/admin/deliveries/replay', { status: 'rejected', endpoint: endpointId }, 'deliveries.replayed', null],
      ['POST', '/admin/crm/resume', undefined, 'crm.resumed', null],
      ['PUT', '/admin/people/audited%40example.com', { role: 'operator' }, 'role.set', 'audited@example.com'],
      ['DELETE', '/admin/people/audited%40example.com', undefined, 'role.removed', 'audited@example.com'],
      ['DELETE', `/admin/endpoints/${endpointId}`, undefined, 'endpoint.deleted', endpointId],
    ];
    for (const [method, path, body, action, target] of steps) {
      const before = await count();
      const res = await api(method, path, body);
      expect(res.status, `${method} ${path}`).toBeLessThan(300);
      expect(await count(), `${method} ${path}`).toBe(before + 1);
      const row = await lastAudit(action);
      expect(row, action).toMatchObject({ actor: 'admin', via: 'api' });
      if (target) expect(row!.target_id, action).toBe(target);
    }
    expect(JSON.stringify((await env.DB.prepare('SELECT * FROM audit').all()).results)).not.toContain(
      'x-secret-value-1',
    );
    // a dry run and a refused change write none
    const before = await count();
    expect((await api('POST', '/admin/deliveries/replay', { status: 'rejected', dryRun: true })).status).toBe(200);
    expect((await api('DELETE', '/admin/endpoints/no-such-endpoint')).status).toBe(404);
    expect(await count()).toBe(before);
  });
});
