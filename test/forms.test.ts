/** Public HTML forms posting from a browser: honeypot, redirects, CORS, Turnstile, rate limit, masking. */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { CUSTOMER_ID, call, crmState, deliveryRow, hook, leadJson, rowsFor, setupEndpoint } from './helpers';
import htmlForm from './fixtures/html-form.json';

const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://www.example.com' };
const body = (extra = '') => `${htmlForm.body}${extra}&level=A&utm_campaign=site`;
const fields = { name: 'name', phone: '$cnMobile(mobile)', note: 'comment', input_1680509561692: 'utm_campaign' };
const redirect = { success: 'https://www.example.com/thanks', failure: 'https://www.example.com/sorry' };

describe('honeypot', () => {
  it('accepts a filled honeypot with 200, logs spam, and never calls the CRM', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ fields, honeypot: 'website' });
    const res = await call(
      hook(endpointId, body().replace('website=', 'website=http%3A%2F%2Fspam.example'), { headers: FORM_HEADERS }),
    );
    expect(res.status).toBe(200);
    const answer = await res.json<{ deliveryId: string; status: string }>();
    expect(answer.status).toBe('accepted');
    expect(await deliveryRow(answer.deliveryId)).toMatchObject({ status: 'spam', reason: 'honeypot' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('delivers when a human left it empty', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ fields, honeypot: 'website' });
    const res = await call(hook(endpointId, body(), { headers: FORM_HEADERS }));
    expect(res.status).toBe(200);
    expect(JSON.parse((await crmState(productLineId)).requests[0]!.rawBody)).toMatchObject({
      id: CUSTOMER_ID,
      name: '吴九',
      phone: '13900139000',
    });
  });
});

describe('redirect', () => {
  it('sends a delivered form post to the success URL with 303', async () => {
    const { endpointId } = await setupEndpoint({ fields, redirect });
    const res = await call(hook(endpointId, body(), { headers: FORM_HEADERS }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(redirect.success);
  });
  it('sends a failed form post to the failure URL', async () => {
    const { endpointId } = await setupEndpoint({ fields, redirect });
    const res = await call(hook(endpointId, body().replace(/crm_id=\d+/, 'crm_id=abc'), { headers: FORM_HEADERS }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(redirect.failure);
    expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'invalid', reason: 'customer_unresolved' });
  });
  it('never takes the target from the request', async () => {
    const { endpointId } = await setupEndpoint({ fields, redirect });
    const res = await call(
      hook(endpointId, body('&redirect=https%3A%2F%2Fevil.example&next=https%3A%2F%2Fevil.example'), {
        query: '?token=form-token-2f9c&redirect=https://evil.example',
        headers: { ...FORM_HEADERS, referer: 'https://evil.example' },
      }),
    );
    expect(res.headers.get('location')).toBe(redirect.success);
  });
  it('answers JSON, not a redirect, to a JSON post', async () => {
    const { endpointId } = await setupEndpoint({ redirect });
    const res = await call(hook(endpointId, leadJson()));
    expect(res.status).toBe(200);
  });
  it('refuses a redirect URL that is not http(s)', async () => {
    const { putEndpoint, endpointConfig, unique } = await import('./helpers');
    const res = await putEndpoint(
      unique('bad'),
      endpointConfig('1', { redirect: { success: 'javascript:alert(1)', failure: 'https://x.example' } }),
    );
    expect(res.status).toBe(400);
  });
});

describe('CORS', () => {
  const cors = { origins: ['https://www.example.com'] };
  const preflight = (endpointId: string, origin: string) =>
    call(
      new Request(`https://adapter.test/hooks/${endpointId}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      }),
    );

  it('answers a preflight from an allowed origin', async () => {
    const { endpointId } = await setupEndpoint({ cors });
    const res = await preflight(endpointId, 'https://www.example.com');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    expect(res.headers.get('access-control-allow-methods')).toBe('POST');
  });
  it('refuses a preflight from another origin', async () => {
    const { endpointId } = await setupEndpoint({ cors });
    const res = await preflight(endpointId, 'https://evil.example');
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
  it('allows nothing by default', async () => {
    const { endpointId } = await setupEndpoint();
    expect((await preflight(endpointId, 'https://www.example.com')).status).toBe(403);
  });
  it('lets an allowed origin read the answer, and not another', async () => {
    const { endpointId } = await setupEndpoint({ cors });
    const ok = await call(hook(endpointId, leadJson(), { headers: { origin: 'https://www.example.com' } }));
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    const other = await call(hook(endpointId, leadJson(), { headers: { origin: 'https://evil.example' } }));
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('Turnstile', () => {
  const turnstile = { secret: 'TEST_TURNSTILE_SECRET' };
  const withToken = (token: string) => body(`&cf-turnstile-response=${token}`);
  const stubCalls = async (token: string) =>
    (
      await (
        await fetch(`${env.CRM_BASE_URL}/__stub/turnstile?token=${token}`)
      ).json<{ calls: { remoteip: string | null; secretOk: boolean }[] }>()
    ).calls;

  it('delivers a form whose token the service accepts, and passes the client IP on', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ fields, turnstile });
    const token = `pass-${crypto.randomUUID()}`;
    const res = await call(
      hook(endpointId, withToken(token), { headers: { ...FORM_HEADERS, 'cf-connecting-ip': '203.0.113.7' } }),
    );
    expect(res.status).toBe(200);
    expect((await crmState(productLineId)).requests).toHaveLength(1);
    expect(await stubCalls(token)).toEqual([{ token, remoteip: '203.0.113.7', secretOk: true }]);
  });
  it('refuses a token the service rejects with 403, logs why, and never calls the CRM', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ fields, turnstile });
    const res = await call(hook(endpointId, withToken(`bad-${crypto.randomUUID()}`), { headers: FORM_HEADERS }));
    expect(res.status).toBe(403);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('turnstile_failed');
    expect((await rowsFor(endpointId))[0]).toMatchObject({
      status: 'rejected',
      reason: 'turnstile_rejected',
      message: 'Turnstile refused the token: invalid-input-response',
    });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('refuses a form without a token, without asking the service', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ fields, turnstile });
    const res = await call(hook(endpointId, body(), { headers: FORM_HEADERS }));
    expect(res.status).toBe(403);
    expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'rejected', reason: 'turnstile_missing' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('answers 503 when the verification service is down, and never calls the CRM', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ fields, turnstile });
    const res = await call(
      hook(endpointId, withToken(`unavailable-${crypto.randomUUID()}`), { headers: FORM_HEADERS }),
    );
    expect(res.status).toBe(503);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('turnstile_unavailable');
    expect((await rowsFor(endpointId))[0]).toMatchObject({
      status: 'failed',
      reason: 'turnstile_unavailable',
      message: 'Turnstile verification answered HTTP 503',
    });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('treats an answer that is not JSON as the service being down', async () => {
    const { endpointId } = await setupEndpoint({ fields, turnstile });
    const res = await call(hook(endpointId, withToken(`garbage-${crypto.randomUUID()}`), { headers: FORM_HEADERS }));
    expect(res.status).toBe(503);
    expect((await rowsFor(endpointId))[0]).toMatchObject({ reason: 'turnstile_unavailable' });
  });
  it("reports a wrong secret key as the operator's mistake, not the visitor's", async () => {
    const { endpointId } = await setupEndpoint({ fields, turnstile: { secret: 'TEST_TURNSTILE_WRONG' } });
    const res = await call(hook(endpointId, withToken(`pass-${crypto.randomUUID()}`), { headers: FORM_HEADERS }));
    expect(res.status).toBe(503);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('endpoint_misconfigured');
    expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'failed', reason: 'turnstile_misconfigured' });
  });
  it('sends a refused browser form to the failure URL', async () => {
    const { endpointId } = await setupEndpoint({ fields, turnstile, redirect });
    const res = await call(hook(endpointId, withToken('bad'), { headers: FORM_HEADERS }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(redirect.failure);
  });
});

describe('rate limit', () => {
  // wrangler.toml: HOOK_RATE_LIMITER allows 10 requests per 60 s per endpoint and IP.
  const LIMIT = 10;
  it('answers the limit-plus-one request with 429 and Retry-After, and writes no row for it', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ rateLimit: true });
    const headers = { 'cf-connecting-ip': '198.51.100.20' };
    for (let i = 0; i < LIMIT; i++) expect((await call(hook(endpointId, leadJson(), { headers }))).status).toBe(200);
    const res = await call(hook(endpointId, leadJson(), { headers }));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('60');
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('rate_limited');
    expect(await rowsFor(endpointId)).toHaveLength(LIMIT);
    expect((await crmState(productLineId)).requests).toHaveLength(LIMIT);
    // counted instead of logged one by one
    const counted = await call(
      new Request(`https://adapter.test/admin/endpoints/${endpointId}/rate-limited`, {
        headers: { authorization: 'Bearer test-admin-token' },
      }),
    );
    expect((await counted.json<{ total: number }>()).total).toBe(1);
  });
  it('counts each client IP on its own', async () => {
    const { endpointId } = await setupEndpoint({ rateLimit: true });
    for (let i = 0; i < LIMIT; i++)
      await call(hook(endpointId, leadJson(), { headers: { 'cf-connecting-ip': '198.51.100.30' } }));
    expect(
      (await call(hook(endpointId, leadJson(), { headers: { 'cf-connecting-ip': '198.51.100.31' } }))).status,
    ).toBe(200);
  });
  it('limits nothing for an endpoint that did not opt in', async () => {
    const { endpointId } = await setupEndpoint();
    for (let i = 0; i < LIMIT + 1; i++)
      expect(
        (await call(hook(endpointId, leadJson(), { headers: { 'cf-connecting-ip': '198.51.100.40' } }))).status,
      ).toBe(200);
  });
});

describe('masking personal data in the log', () => {
  it('stores the phone as 138****8000 in the payload, the CRM request and the CRM answer', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ redact: ['mobile', 'contact.email'] });
    const res = await call(
      hook(endpointId, leadJson({ mobile: '+86 138-0013-8000', contact: { email: 'wu.jiu@example.com' } })),
    );
    expect(res.status).toBe(200);
    // the CRM got the real number
    expect(JSON.parse((await crmState(productLineId)).requests[0]!.rawBody)).toMatchObject({ phone: '13800138000' });
    const row = (await rowsFor(endpointId))[0]!;
    const payload = JSON.parse(row.payload as string);
    expect(payload).toMatchObject({ mobile: '138****8000', contact: { email: 'w***@example.com' }, name: ' 吴九 ' });
    expect(JSON.parse(row.crm_request as string).body.phone).toBe('138****8000');
    for (const column of ['payload', 'crm_request', 'crm_response']) {
      expect(String(row[column])).not.toContain('13800138000');
      expect(String(row[column])).not.toContain('0013-8000');
    }
  });
  it('masks every element a wildcard path names, in a form post too', async () => {
    const { endpointId } = await setupEndpoint({ fields, redact: ['mobile'] });
    await call(hook(endpointId, body(), { headers: FORM_HEADERS }));
    const row = (await rowsFor(endpointId))[0]!;
    expect(JSON.parse(row.payload as string)).toMatchObject({ mobile: '139****9000', name: '吴九' });
  });
  it('keeps what arrived when the endpoint masks nothing', async () => {
    const { endpointId } = await setupEndpoint();
    const body = leadJson({ mobile: '13800138000' });
    await call(hook(endpointId, body));
    expect((await rowsFor(endpointId))[0]!.payload).toBe(body);
  });
  it('keeps a request refused for its token masked, for review (the real body only where replay reads it)', async () => {
    const { endpointId } = await setupEndpoint({ redact: ['mobile'] });
    const body = leadJson({ mobile: '13800138000' });
    await call(hook(endpointId, body, { query: '?token=wrong' }));
    const row = (await rowsFor(endpointId))[0]!;
    expect(row.status).toBe('rejected');
    expect(row.payload).not.toContain('13800138000');
    expect(JSON.parse(row.payload as string).mobile).toBe('138****8000');
  });
});
