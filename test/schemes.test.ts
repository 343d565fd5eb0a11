/** basic, standard-webhooks and body-key over the wire, and the platform handshakes. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CUSTOMER_ID, call, crmState, deliveryRow, hook, leadJson, setupEndpoint } from './helpers';
import zapier from './fixtures/zapier-form.json';
import google from './fixtures/google-ads-lead-form.json';
import ocean from './fixtures/ocean-engine-challenge.json';

type Answer = { error?: { code: string }; deliveryId: string };

async function refused(res: Response, productLineId: string, reason: string) {
  expect(res.status).toBe(401);
  const body = await res.json<Answer>();
  expect(body.error!.code).toBe('invalid_signature');
  expect(await deliveryRow(body.deliveryId)).toMatchObject({ status: 'rejected', reason });
  expect((await crmState(productLineId)).requests).toHaveLength(0);
}

describe('basic (Zapier)', () => {
  const verify = { type: 'basic' as const, username: 'zapier', secret: 'TEST_HMAC_SECRET' };
  const fields = {
    name: 'name',
    phone: '$cnMobile(phone)',
    select_1680162080347: { from: 'level', map: { B: '484020435193692161' } },
    note: 'note',
    input_1680509561692: 'utm_campaign',
  };
  const send = (endpointId: string, authorization?: string) =>
    call(
      hook(endpointId, zapier.body, {
        query: '',
        headers: { 'content-type': zapier.headers['content-type'], ...(authorization ? { authorization } : {}) },
      }),
    );

  it('accepts the Zapier form post and maps it', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ verify, fields });
    const res = await send(endpointId, zapier.headers.authorization);
    expect(res.status).toBe(200);
    expect(JSON.parse((await crmState(productLineId)).requests[0]!.rawBody)).toEqual({
      mid: '347772778973233152',
      id: CUSTOMER_ID,
      name: '周八',
      phone: '18888282822',
      select_1680162080347: '484020435193692161',
      note: '来自 Zapier',
      input_1680509561692: 'zap-test',
    });
  });
  it('refuses a missing Authorization header', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ verify, fields });
    await refused(await send(endpointId), productLineId, 'missing_credential');
  });
  it('refuses a wrong password', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ verify, fields });
    await refused(await send(endpointId, `Basic ${btoa('zapier:wrong')}`), productLineId, 'credential_mismatch');
  });
  it('refuses a wrong user name', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ verify, fields });
    await refused(
      await send(endpointId, `Basic ${btoa('other:fixture-secret-2f9c')}`),
      productLineId,
      'credential_mismatch',
    );
  });
  it('refuses a header that is not Basic', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ verify, fields });
    await refused(await send(endpointId, 'Basic %%%'), productLineId, 'malformed_credential');
  });
});

describe('standard-webhooks', () => {
  const secretBytes = new TextEncoder().encode('standard-webhooks-key-32-bytes!!');
  const whsec = `whsec_${btoa(String.fromCharCode(...secretBytes))}`;
  async function sign(id: string, ts: string, body: string) {
    const key = await crypto.subtle.importKey('raw', secretBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const sig = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${ts}.${body}`)));
    return `v1,${btoa(String.fromCharCode(...sig))}`;
  }
  async function send(change: { ts?: number; sig?: (s: string) => string; body?: string; drop?: string } = {}) {
    const { endpointId, productLineId } = await setupEndpoint({
      verify: { type: 'standard-webhooks', secret: 'TEST_WHSEC' },
    });
    const body = leadJson();
    const ts = String(Math.floor(Date.now() / 1000) + (change.ts ?? 0));
    const signature = await sign('msg_1', ts, body);
    const headers: Record<string, string> = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': ts,
      'webhook-signature': change.sig ? change.sig(signature) : signature,
    };
    if (change.drop) delete headers[change.drop];
    return { res: await call(hook(endpointId, change.body ?? body, { query: '', headers })), productLineId };
  }

  it('accepts a signed message, also among several signatures', async () => {
    expect(env.TEST_WHSEC).toBe(whsec);
    expect((await send()).res.status).toBe(200);
    expect((await send({ sig: (s) => `v1,AAAA ${s} v2,zzz` })).res.status).toBe(200);
  });
  it('refuses a missing webhook-id', async () => {
    const { res, productLineId } = await send({ drop: 'webhook-id' });
    await refused(res, productLineId, 'missing_credential');
  });
  it('refuses a timestamp 10 minutes old and 10 minutes ahead', async () => {
    for (const ts of [-600, 600]) {
      const { res, productLineId } = await send({ ts });
      await refused(res, productLineId, 'stale_timestamp');
    }
  });
  it('refuses a changed body', async () => {
    const { res, productLineId } = await send({ body: leadJson({ name: 'x' }) });
    await refused(res, productLineId, 'signature_mismatch');
  });
  it('refuses a signature without a v1 entry', async () => {
    const { res, productLineId } = await send({ sig: (s) => s.replace('v1,', 'v9,') });
    await refused(res, productLineId, 'malformed_signature');
  });
});

describe('body-key (Google Ads lead forms)', () => {
  const config = {
    verify: { type: 'body-key' as const, field: 'google_key', secret: 'TEST_HMAC_SECRET' },
    customerId: '"688346218203447296"',
    fields: {
      name: "user_column_data[column_id='FULL_NAME'].string_value",
      phone: "$cnMobile(user_column_data[column_id='PHONE_NUMBER'].string_value)",
    },
  };
  it('accepts the key, delivers, and masks the key in the stored payload', async () => {
    const { endpointId, productLineId } = await setupEndpoint(config);
    const res = await call(hook(endpointId, google.body, { query: '' }));
    expect(res.status).toBe(200);
    expect(JSON.parse((await crmState(productLineId)).requests[0]!.rawBody)).toMatchObject({
      name: '王小明',
      phone: '13800138000',
    });
    const row = await deliveryRow((await res.json<Answer>()).deliveryId);
    expect(row!.payload).toContain('"google_key":"***"');
    expect(row!.payload).not.toContain('fixture-secret-2f9c');
  });
  it('refuses a wrong key', async () => {
    const { endpointId, productLineId } = await setupEndpoint(config);
    await refused(
      await call(hook(endpointId, google.body.replace('fixture-secret-2f9c', 'fixture-secret-2f9d'), { query: '' })),
      productLineId,
      'credential_mismatch',
    );
  });
  it('refuses a body without the key', async () => {
    const { endpointId, productLineId } = await setupEndpoint(config);
    await refused(
      await call(hook(endpointId, google.body.replace('"google_key"', '"other_key"'), { query: '' })),
      productLineId,
      'missing_credential',
    );
  });
});

describe('handshakes', () => {
  it('answers Meta’s GET verification with the challenge as text/plain and logs it', async () => {
    const { endpointId, productLineId } = await setupEndpoint({
      handshake: { type: 'meta', secret: 'TEST_FORM_TOKEN' },
    });
    const res = await call(
      new Request(
        `https://adapter.test/hooks/${endpointId}?hub.mode=subscribe&hub.verify_token=form-token-2f9c&hub.challenge=1158201444`,
      ),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('1158201444');
    const { results } = await env.DB.prepare('SELECT * FROM deliveries WHERE endpoint_id = ?')
      .bind(endpointId)
      .all<Record<string, string>>();
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      status: 'handshake',
      request_query: '{"hub.mode":"subscribe","hub.challenge":"1158201444"}',
    });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('refuses Meta’s verification with a wrong verify token', async () => {
    const { endpointId } = await setupEndpoint({ handshake: { type: 'meta', secret: 'TEST_FORM_TOKEN' } });
    const res = await call(
      new Request(`https://adapter.test/hooks/${endpointId}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`),
    );
    expect(res.status).toBe(401);
    expect(await deliveryRow((await res.json<Answer>()).deliveryId)).toMatchObject({
      status: 'rejected',
      reason: 'credential_mismatch',
    });
  });
  it('answers 405 to a GET on an endpoint without a GET handshake', async () => {
    const { endpointId } = await setupEndpoint();
    expect((await call(new Request(`https://adapter.test/hooks/${endpointId}?hub.mode=subscribe`))).status).toBe(405);
  });
  it('answers Ocean Engine’s challenge digit for digit, without calling the CRM', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ handshake: { type: 'ocean-engine' } });
    const res = await call(hook(endpointId, ocean.body, { query: '' }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"challenge":1763627800123456789}');
    expect((await crmState(productLineId)).requests).toHaveLength(0);
    const { results } = await env.DB.prepare('SELECT status FROM deliveries WHERE endpoint_id = ?')
      .bind(endpointId)
      .all();
    expect(results).toEqual([{ status: 'handshake' }]);
  });
  it('still verifies ordinary posts to an Ocean Engine endpoint', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ handshake: { type: 'ocean-engine' } });
    await refused(await call(hook(endpointId, leadJson(), { query: '' })), productLineId, 'missing_credential');
  });
});
