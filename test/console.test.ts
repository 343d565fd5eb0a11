/**
 * The console under /console, in workerd with real KV, D1 and the stand-in CRM: sessions, CSRF, and each
 * page calling the same functions as the admin API. (The browser itself is tested in test/e2e/.)
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ADMIN,
  call as callAnyLanguage,
  callWith as callWithAnyLanguage,
  crmFailures,
  crmState,
  CUSTOMER_ID,
  deliveryRow,
  hook,
  leadJson,
  MODULE_ID,
  recordingQueue,
  rowsFor,
  setupEndpoint,
  unique,
} from './helpers';

const BASE = 'https://adapter.test';

/**
 * This file checks the console's behaviour in English (its reader's browser asks for it); console-i18n.test.ts checks
 * both languages.
 */
const english = (r: Request) => {
  if (!r.headers.has('accept-language')) r.headers.set('accept-language', 'en-US,en;q=0.9');
  return r;
};
const call = (r: Request) => callAnyLanguage(english(r));
const callWith = (r: Request, overrides: Parameters<typeof callWithAnyLanguage>[1]) =>
  callWithAnyLanguage(english(r), overrides);
const HTML = { accept: 'text/html' };

type Session = { cookie: string; csrf: string };

/** Signs in with the admin token; returns the cookie to send and the page's CSRF token. */
async function signIn(): Promise<Session> {
  const res = await call(form('/console/sign-in', { token: 'test-admin-token', next: '/console/deliveries' }));
  expect(res.status).toBe(303);
  const cookie = /^(__Host-console=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]!;
  const page = await call(new Request(`${BASE}/console/deliveries`, { headers: { cookie } }));
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  return { cookie, csrf };
}

function form(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Request {
  return new Request(`${BASE}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields),
  });
}

const get = (path: string, s: Session, headers: Record<string, string> = {}) =>
  call(new Request(`${BASE}${path}`, { headers: { cookie: s.cookie, ...headers } }));
const post = (path: string, s: Session, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  call(form(path, { _csrf: s.csrf, ...fields }, { cookie: s.cookie, ...headers }));

/** A failed sync delivery (the CRM answers 500 once): returns the endpoint, tenant and delivery id. */
async function failedDelivery(body = leadJson()) {
  const { endpointId, productLineId } = await setupEndpoint();
  await crmFailures(productLineId, [{ status: 500 }]);
  const res = await call(hook(endpointId, body));
  expect(res.status).toBe(502);
  const [row] = await rowsFor(endpointId);
  expect(row!.status).toBe('failed');
  return { endpointId, productLineId, id: row!.id };
}

afterEach(() => vi.useRealTimers());

describe('sign-in and sessions', () => {
  it('redirects a signed-out visit to sign-in, keeping where it was going', async () => {
    const res = await call(new Request(`${BASE}/console/deliveries?status=failed`));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/sign-in?next=%2Fconsole%2Fdeliveries%3Fstatus%3Dfailed');
  });

  it('exchanges the admin token for a signed HttpOnly, Secure, SameSite=Strict cookie with an expiry', async () => {
    const res = await call(form('/console/sign-in', { token: 'test-admin-token', next: '/console/endpoints' }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/endpoints');
    const cookie = res.headers.get('set-cookie')!;
    // <expires>.<nonce>.<who>.<signature>: the admin token signs in as one person, "admin"
    expect(cookie).toMatch(/^__Host-console=\d{13}\.[A-Za-z0-9_-]{24}\.YWRtaW4\.[A-Za-z0-9_-]{43};/);
    for (const attr of ['Max-Age=43200', 'Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict'])
      expect(cookie).toContain(attr);
  });

  it('refuses a wrong token with 401 and sets no cookie', async () => {
    const res = await call(form('/console/sign-in', { token: 'not-the-token' }, HTML));
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.text()).toContain('That is not the admin token.');
  });

  it('never sends a signed-in user to another site after sign-in', async () => {
    for (const next of ['https://evil.example/', '//evil.example/console', '/console\\@evil.example']) {
      const res = await call(form('/console/sign-in', { token: 'test-admin-token', next }));
      expect(res.headers.get('location')).toBe('/console');
    }
  });

  it('refuses a tampered, a foreign or an expired cookie', async () => {
    const s = await signIn();
    const [value, sig] = [s.cookie.slice(0, s.cookie.lastIndexOf('.')), s.cookie.slice(s.cookie.lastIndexOf('.') + 1)];
    const flipped = `${value}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    expect((await get('/console', { ...s, cookie: flipped })).status).toBe(303);
    expect((await get('/console', { ...s, cookie: s.cookie.replace('__Host-console', 'console') })).status).toBe(303);
    expect((await get('/console', s)).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 12 * 3600_000 + 1000);
    const res = await get('/console', s);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/console\/sign-in/);
  });

  it('a console cookie never authorises the admin API', async () => {
    const s = await signIn();
    const res = await call(new Request(`${BASE}/admin/endpoints`, { headers: { cookie: s.cookie } }));
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('signs out: the cookie is cleared', async () => {
    const s = await signIn();
    const res = await post('/console/sign-out', s, {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/sign-in');
    expect(res.headers.get('set-cookie')).toMatch(/^__Host-console=;.*Max-Age=0/);
  });

  it('pages carry a strict Content-Security-Policy and are not cached', async () => {
    const res = await get('/console', await signIn());
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('CSRF', () => {
  it('refuses a POST without the CSRF token: 403, and the delivery is not replayed', async () => {
    const { id } = await failedDelivery();
    const s = await signIn();
    const queue = recordingQueue();
    const res = await callWith(form(`/console/deliveries/${id}/replay`, {}, { cookie: s.cookie }), {
      DELIVERY_QUEUE: queue,
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'csrf_failed' } });
    expect(queue.sent).toEqual([]);
    expect((await deliveryRow(id))!.status).toBe('failed');
  });

  it('refuses a POST with a token from another session, and one posted from another origin', async () => {
    const { id } = await failedDelivery();
    const [a, b] = [await signIn(), await signIn()];
    expect((await post(`/console/deliveries/${id}/replay`, { cookie: a.cookie, csrf: b.csrf }, {})).status).toBe(403);
    expect((await post(`/console/deliveries/${id}/replay`, a, {}, { origin: 'https://evil.example' })).status).toBe(
      403,
    );
    expect((await deliveryRow(id))!.status).toBe('failed');
  });

  it('refuses a POST without a session with 401', async () => {
    const res = await call(form('/console/sign-out', { _csrf: 'x' }));
    expect(res.status).toBe(401);
  });
});

describe('overview', () => {
  it('charts the last 24 hours and 7 days and names the failing endpoint', async () => {
    const { endpointId, id } = await failedDelivery();
    const html = await (await get('/console', await signIn())).text();
    expect(html).toContain('<svg');
    expect(html).toContain('Last 24 hours, per hour');
    expect(html).toContain('Last 7 days, per 24 hours');
    expect(html).toContain(`/console/deliveries/${id}`);
    expect(html).toContain(endpointId);
  });
  it('does not list a deleted endpoint as failing now', async () => {
    const { endpointId } = await failedDelivery();
    const s = await signIn();
    const failingNow = async () =>
      /id="failing"[\s\S]*?<\/ul>|id="failing"[\s\S]*?<\/p>/.exec(await (await get('/console', s)).text())?.[0] ?? '';
    expect(await failingNow()).toContain(endpointId);
    expect(
      (await call(new Request(`${BASE}/admin/endpoints/${endpointId}`, { method: 'DELETE', headers: ADMIN }))).status,
    ).toBe(204);
    expect(await failingNow()).not.toContain(endpointId);
  });
});

describe('deliveries', () => {
  it('filters by endpoint, status and free text (customer id, phone)', async () => {
    const { endpointId, id } = await failedDelivery(leadJson({ mobile: '13912345678' }));
    const s = await signIn();
    const list = async (q: string) => (await get(`/console/deliveries?${q}`, s)).text();
    expect(await list(`endpoint=${endpointId}&status=failed`)).toContain(`/console/deliveries/${id}`);
    expect(await list(`endpoint=${endpointId}&status=delivered`)).not.toContain(`/console/deliveries/${id}`);
    expect(await list(`q=13912345678`)).toContain(`/console/deliveries/${id}`);
    expect(await list(`endpoint=${endpointId}&q=${CUSTOMER_ID}`)).toContain(`/console/deliveries/${id}`);
    expect(await list(`endpoint=${endpointId}&q=13900000000`)).not.toContain(`/console/deliveries/${id}`);
  });

  it('answers a malformed filter with 400 and the problem, not a 500', async () => {
    const res = await get('/console/deliveries?status=nonsense', await signIn());
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('status:');
  });

  it('renders a payload holding <script> and <img onerror> as text', async () => {
    const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const { id } = await failedDelivery(leadJson({ comment: evil, name: evil }));
    const html = await (await get(`/console/deliveries/${id}`, await signIn())).text();
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;');
  });

  it('shows what arrived, the exact CRM request and the CRM answer', async () => {
    const { id } = await failedDelivery();
    const html = await (await get(`/console/deliveries/${id}`, await signIn())).text();
    expect(html).toContain('想了解价格');
    expect(html).toContain('/api/moduleData/update');
    expect(html).toContain(CUSTOMER_ID);
    expect(html).toContain('crm_unavailable');
  });

  it('replays a delivery through the queue after a POST with the CSRF token', async () => {
    const { id } = await failedDelivery();
    const s = await signIn();
    const queue = recordingQueue();
    const res = await callWith(form(`/console/deliveries/${id}/replay`, { _csrf: s.csrf }, { cookie: s.cookie }), {
      DELIVERY_QUEUE: queue,
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/deliveries/${id}?done=replayed`);
    expect(queue.sent).toEqual([{ id }]);
    expect((await deliveryRow(id))!.status).toBe('queued');
  });

  it('previews a replay under the current configuration without calling the CRM', async () => {
    const { id, productLineId } = await failedDelivery();
    const before = (await crmState(productLineId)).requests.length;
    const html = await (await get(`/console/deliveries/${id}/preview`, await signIn())).text();
    expect(html).toContain('Would update the customer');
    expect(html).toContain('input_1680509561692');
    expect((await crmState(productLineId)).requests.length).toBe(before);
  });

  it('bulk replay asks first with the count, then queues exactly those', async () => {
    const a = await failedDelivery();
    const res1 = await call(hook(a.endpointId, leadJson({ name: 'second' })));
    expect(res1.status).toBe(200);
    await crmFailures(a.productLineId, [{ status: 500 }]);
    expect((await call(hook(a.endpointId, leadJson({ name: 'third' })))).status).toBe(502);
    const s = await signIn();
    const fields = { status: 'failed', endpoint: a.endpointId, range: '24h' };
    const ask = await post('/console/deliveries/replay', s, fields, HTML);
    expect(ask.status).toBe(200);
    expect(await ask.text()).toContain(`Replay 2 failed deliveries of ${a.endpointId} received in the last 24h?`);
    const queue = recordingQueue();
    const done = await callWith(
      form('/console/deliveries/replay', { _csrf: s.csrf, ...fields, confirm: '2' }, { cookie: s.cookie }),
      { DELIVERY_QUEUE: queue },
    );
    expect(done.status).toBe(202);
    expect(await done.text()).toContain('2 of 2 deliveries queued for replay.');
    expect(queue.sent).toHaveLength(2);
    expect((await rowsFor(a.endpointId)).map((r) => r.status).sort()).toEqual(['delivered', 'queued', 'queued']);
  });
});

describe('endpoints', () => {
  it('previews what the user typed over the delivery the editor pre-selected', async () => {
    const { endpointId } = await setupEndpoint();
    expect((await call(hook(endpointId, leadJson({ name: '旧样本' })))).status).toBe(200);
    const [row] = await rowsFor(endpointId);
    const s = await signIn();
    const config = JSON.parse((await env.ENDPOINTS.get(`v1:endpoint:${endpointId}`))!).config;
    const fields = {
      config: JSON.stringify(config),
      delivery: row!.id,
      sample: leadJson({ name: '新样本' }),
      contentType: 'application/json',
    };
    const typed = await (
      await post(`/console/endpoints/${endpointId}/preview`, s, fields, { 'x-console-fragment': 'preview' })
    ).text();
    expect(typed).toContain('新样本');
    expect(typed).not.toContain('旧样本');
    const picked = await (
      await post(
        `/console/endpoints/${endpointId}/preview`,
        s,
        { ...fields, sample: '' },
        { 'x-console-fragment': 'preview' },
      )
    ).text();
    expect(picked).toContain('旧样本');
  });

  it('lists endpoints with their enabled state and last-24h success rate', async () => {
    const { endpointId } = await failedDelivery();
    const html = await (await get('/console/endpoints', await signIn())).text();
    expect(html).toContain(endpointId);
    expect(html).toMatch(
      new RegExp(
        `${endpointId}</strong></a> <span class="status g-ok">enabled</span>[\\s\\S]*?0% succeeded in 24 h \\(0 of 1\\)`,
      ),
    );
  });

  it('shows the URL to paste and the configuration', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const html = await (await get(`/console/endpoints/${endpointId}`, await signIn())).text();
    // the whole URL: the token's query parameter carries the secret's name as a placeholder, never its value
    expect(html).toContain(`value="https://adapter.test/hooks/${endpointId}?token=&lt;TEST_FORM_TOKEN&gt;"`);
    // the pipeline's English sentence, in the console's words (this page is English): pointing to the console's own
    // field
    expect(html).toContain('Replace &lt;TEST_FORM_TOKEN&gt; in the URL with the secret’s value');
    expect(html).not.toContain('form-token-2f9c');
    expect(html).toContain(productLineId);
  });

  it('shows validation errors next to the configuration and stores nothing', async () => {
    const { endpointId } = await setupEndpoint();
    const before = await env.ENDPOINTS.get(`v1:endpoint:${endpointId}`);
    const s = await signIn();
    const bad = JSON.stringify({
      name: 'x',
      crm: { moduleId: 'abc', productLineId: '1' },
      verify: { type: 'none' },
      fields: { name: '$trim(' },
    });
    const res = await post(`/console/endpoints/${endpointId}`, s, { config: bad }, HTML);
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('crm.moduleId');
    expect(html).toContain('aria-invalid="true"');
    expect(await env.ENDPOINTS.get(`v1:endpoint:${endpointId}`)).toBe(before);
    const notJson = await post(`/console/endpoints/${endpointId}`, s, { config: '{ nope' }, HTML);
    expect(notJson.status).toBe(400);
    expect(await notJson.text()).toContain('not valid JSON');
  });

  it('saves an edited configuration (ids above 2^53 keep their digits)', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const s = await signIn();
    const stored = (await env.ENDPOINTS.get<{ config: Record<string, unknown> }>(`v1:endpoint:${endpointId}`, 'json'))!;
    const text = JSON.stringify({ ...stored.config, name: '新名字' }).replace(`"${MODULE_ID}"`, MODULE_ID);
    const res = await post(`/console/endpoints/${endpointId}`, s, { config: text });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/endpoints/${endpointId}?saved=saved`);
    const after = (await env.ENDPOINTS.get<{
      config: { name: string; crm: { moduleId: string; productLineId: string } };
    }>(`v1:endpoint:${endpointId}`, 'json'))!;
    expect(after.config.name).toBe('新名字');
    expect(after.config.crm).toEqual({ moduleId: MODULE_ID, productLineId });
  });

  it('creates an endpoint, and refuses to overwrite an existing one from "new"', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const s = await signIn();
    const config = JSON.stringify({
      name: 'n',
      crm: { moduleId: MODULE_ID, productLineId },
      verify: { type: 'none' },
      customerId: 'id',
      fields: { name: 'name' },
    });
    const id = unique('new');
    const created = await post('/console/endpoints', s, { id, config });
    expect(created.status).toBe(303);
    expect(await env.ENDPOINTS.get(`v1:endpoint:${id}`)).not.toBeNull();
    const clash = await post('/console/endpoints', s, { id: endpointId, config }, HTML);
    expect(clash.status).toBe(400);
    expect(await clash.text()).toContain('exists already');
  });

  it('previews an unsaved mapping on a pasted sample, as a fragment for the live pane', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const s = await signIn();
    const stored = (await env.ENDPOINTS.get<{ config: Record<string, unknown> }>(`v1:endpoint:${endpointId}`, 'json'))!;
    const config = JSON.stringify({
      ...stored.config,
      fields: { ...(stored.config.fields as object), note: '"备注: " & comment' },
    });
    const res = await post(
      `/console/endpoints/${endpointId}/preview`,
      s,
      { config, sample: leadJson(), contentType: 'application/json' },
      { 'x-console-fragment': 'preview' },
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Would update the customer');
    expect(html).toContain('备注: 想了解价格');
    expect(html).not.toContain('<html');
    // nothing saved, nothing sent
    expect(
      (await env.ENDPOINTS.get<{ config: { fields: { note: unknown } } }>(`v1:endpoint:${endpointId}`, 'json'))!.config
        .fields.note,
    ).toEqual({ from: 'comment' });
    expect((await crmState(productLineId)).requests).toEqual([]);
  });

  it('previews on a recent delivery picked from the list', async () => {
    const { endpointId, id } = await failedDelivery(leadJson({ comment: '来自最近的投递' }));
    const s = await signIn();
    const page = await (await get(`/console/endpoints/${endpointId}`, s)).text();
    expect(page).toContain(`<option value="${id}" selected="" data-time=`);
    expect(page).toContain('来自最近的投递');
    const stored = (await env.ENDPOINTS.get<{ config: unknown }>(`v1:endpoint:${endpointId}`, 'json'))!;
    const res = await post(
      `/console/endpoints/${endpointId}/preview`,
      s,
      { config: JSON.stringify(stored.config), delivery: id },
      { 'x-console-fragment': 'preview' },
    );
    expect(await res.text()).toContain('来自最近的投递');
  });

  it('the preview names configuration problems instead of a CRM body', async () => {
    const { endpointId } = await setupEndpoint();
    const res = await post(
      `/console/endpoints/${endpointId}/preview`,
      await signIn(),
      { config: '{"name": 1}', sample: '{}' },
      { 'x-console-fragment': 'preview' },
    );
    const html = await res.text();
    expect(html).toContain('Fix the configuration to see the preview.');
    expect(html).toContain('<code>name</code>');
  });
});

describe('customer keys', () => {
  it('imports a CSV file with a summary, then finds the key', async () => {
    const s = await signIn();
    const moduleId = `9${MODULE_ID.slice(1)}`;
    const body = new FormData();
    body.set('_csrf', s.csrf);
    body.set('moduleId', moduleId);
    body.set(
      'file',
      new File([`customer_id,key,value\n${CUSTOMER_ID},phone,+86 138-0013-8000\nnot-an-id,phone,1\n`], 'keys.csv', {
        type: 'text/csv',
      }),
    );
    const res = await call(
      new Request(`${BASE}/console/customer-keys/import`, { method: 'POST', headers: { cookie: s.cookie }, body }),
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(
      `Module ${moduleId}: 2 rows received, 1 added, 0 updated, 0 unchanged, 1 refused.`,
    );
    const found = await (
      await get(`/console/customer-keys?moduleId=${moduleId}&key=phone&value=13800138000`, s)
    ).text();
    expect(found).toContain(`<td>${CUSTOMER_ID}</td>`);
    expect(found).toContain('<td>import</td>');
  });

  it('refuses a CSV without its header, and a value without a key, with the reason', async () => {
    const s = await signIn();
    const res = await post('/console/customer-keys/import', s, { moduleId: MODULE_ID, csv: '1,2,3' }, HTML);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('header row with customer_id,key,value');
    const lookup = await get('/console/customer-keys?value=138', s);
    expect(lookup.status).toBe(400);
  });
});

describe('static assets', () => {
  it('serves the stylesheet and the script without a session', async () => {
    const css = await call(new Request(`${BASE}/console/static/app.css`));
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
    const js = await call(new Request(`${BASE}/console/static/app.js`));
    expect(js.status).toBe(200);
  });
});

// the admin API's own token still works beside the console
it('the admin API keeps answering bearer tokens', async () => {
  expect((await call(new Request(`${BASE}/admin/endpoints`, { headers: ADMIN }))).status).toBe(200);
});

it('an unknown console page is a 404 page for a signed-in browser', async () => {
  const res = await get('/console/nowhere', await signIn(), HTML);
  expect(res.status).toBe(404);
  expect(await res.text()).toContain('No console page at /console/nowhere');
});

it('pages start with the HTML5 doctype (no quirks mode)', async () => {
  const html = await (await get('/console', await signIn())).text();
  expect(html.startsWith('<!DOCTYPE html><html lang="en">')).toBe(true);
});

describe('the console Worker behind the CONSOLE binding', () => {
  it('answers 503 console_unavailable, as JSON, when the console Worker is not deployed', async () => {
    const { default: worker } = await import('../src/index');
    const { createExecutionContext } = await import('cloudflare:test');
    const gone = {
      fetch: async () => {
        throw new Error('Worker "crm-webhook-adapter-console" not found');
      },
    };
    const res = await worker.fetch(
      new Request(`${BASE}/console/sign-in`),
      { ...env, CONSOLE: gone } as unknown as Env,
      createExecutionContext(),
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: { code: 'console_unavailable', message: expect.stringContaining('npm run deploy') },
    });
  });
});
