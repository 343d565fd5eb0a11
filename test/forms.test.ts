/** Public HTML forms posting from a browser: honeypot, configured redirects, CORS allow-list. */
import { describe, expect, it } from 'vitest';
import { CUSTOMER_ID, call, crmState, deliveryRow, hook, leadJson, rowsFor, setupEndpoint } from './helpers';
import htmlForm from './fixtures/html-form.json';

const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://www.example.com' };
const body = (extra = '') => `${htmlForm.body}${extra}&level=A&utm_campaign=site`;
const fields = { name: 'name', phone: '$cnMobile(mobile)', note: 'comment', input_1680509561692: 'utm_campaign' };
const redirect = { success: 'https://www.example.com/thanks', failure: 'https://www.example.com/sorry' };

describe('honeypot', () => {
  it('accepts a filled honeypot with 200, logs spam, and never calls the CRM', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ fields, honeypot: 'website' });
    const res = await call(hook(endpointId, body().replace('website=', 'website=http%3A%2F%2Fspam.example'), { headers: FORM_HEADERS }));
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
    expect(JSON.parse((await crmState(productLineId)).requests[0]!.rawBody)).toMatchObject({ id: CUSTOMER_ID, name: '吴九', phone: '13900139000' });
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
    const res = await call(hook(endpointId, body('&redirect=https%3A%2F%2Fevil.example&next=https%3A%2F%2Fevil.example'), {
      query: '?token=form-token-2f9c&redirect=https://evil.example',
      headers: { ...FORM_HEADERS, referer: 'https://evil.example' },
    }));
    expect(res.headers.get('location')).toBe(redirect.success);
  });
  it('answers JSON, not a redirect, to a JSON post', async () => {
    const { endpointId } = await setupEndpoint({ redirect });
    const res = await call(hook(endpointId, leadJson()));
    expect(res.status).toBe(200);
  });
  it('refuses a redirect URL that is not http(s)', async () => {
    const { putEndpoint, endpointConfig, unique } = await import('./helpers');
    const res = await putEndpoint(unique('bad'), endpointConfig('1', { redirect: { success: 'javascript:alert(1)', failure: 'https://x.example' } }));
    expect(res.status).toBe(400);
  });
});

describe('CORS', () => {
  const cors = { origins: ['https://www.example.com'] };
  const preflight = (endpointId: string, origin: string) =>
    call(new Request(`https://adapter.test/hooks/${endpointId}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } }));

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
