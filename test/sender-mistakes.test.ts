/**
 * No lead lost to a sender's mistake (issue "No lead lost to a sender's mistake", the first items): JSON sent under a
 * form's content type is read as JSON; an idempotency key whose parts are all empty dedupes nothing; a Standard
 * Webhooks payload signed by the Svix SDK (its `svix-*` header names) is accepted, and a tampered one refused.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:test';
import {
  ADMIN,
  call,
  crmState,
  crmTenant,
  deliveryRow,
  endpointConfig,
  hook,
  leadJson,
  putEndpoint,
  setupEndpoint,
  unique,
} from './helpers';

type Answer = { deliveryId: string; status: string; error?: { code: string } };

describe('JSON sent as a form', () => {
  it("curl -d '{…}' (application/x-www-form-urlencoded) is read as the JSON it is, with a warning on the row", async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const res = await call(
      hook(endpointId, leadJson({ comment: '表单头的 JSON' }), {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
    );
    expect(res.status).toBe(200);
    const answer = await res.json<Answer>();
    expect(answer.status).toBe('delivered');
    expect((await crmState(productLineId)).customers[0]).toMatchObject({ name: '吴九', note: '表单头的 JSON' });
    expect(String((await deliveryRow(answer.deliveryId))!.warnings)).toContain(
      'JSON sent as application/x-www-form-urlencoded',
    );
  });

  it('a real form post is still a form, and a body that only looks like JSON stays a form', async () => {
    const { endpointId } = await setupEndpoint();
    const form = new URLSearchParams({
      crm_id: '688346218203447296',
      name: '吴九',
      mobile: '13900139000',
      utm_campaign: 'spring',
    }).toString();
    const res = await call(
      hook(endpointId, form, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    );
    expect(await res.json()).toMatchObject({ status: 'delivered' });
    const broken = await call(
      hook(endpointId, '{not json', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    );
    // a form whose only field is named "{not json": the mapping finds no customer id
    expect(broken.status).toBe(422);
  });
});

describe('empty idempotency keys', () => {
  it('a key whose parts are all empty ("::") dedupes nothing: two different leads are both delivered, with a warning', async () => {
    const { endpointId, productLineId } = await setupEndpoint({
      idempotencyKey: '$string(form) & ":" & $string(serial) & ":" & $string(updated_at)',
    });
    const first = await call(hook(endpointId, leadJson({ comment: '第一条' })));
    const second = await call(hook(endpointId, leadJson({ comment: '第二条' })));
    expect(await first.json()).toMatchObject({ status: 'delivered' });
    const answer = await second.json<Answer>();
    expect(answer.status).toBe('delivered');
    expect((await crmState(productLineId)).requests.filter((r) => r.outcome === 'applied')).toHaveLength(2);
    const row = (await deliveryRow(answer.deliveryId))!;
    expect(row.idempotency_key).toBeNull();
    expect(String(row.warnings)).toContain('only separators');
  });

  it('a key with a value in one part still dedupes', async () => {
    const { endpointId, productLineId } = await setupEndpoint({
      idempotencyKey: '$string(form) & ":" & $string(serial)',
    });
    await call(hook(endpointId, leadJson({ serial: 7 })));
    const again = await call(hook(endpointId, leadJson({ serial: 7 })));
    expect(await again.json()).toMatchObject({ status: 'duplicate' });
    expect((await crmState(productLineId)).requests).toHaveLength(1);
  });
});

describe('Standard Webhooks as the Svix SDK sends it', () => {
  const secretBytes = new TextEncoder().encode('standard-webhooks-key-32-bytes!!');
  async function sign(id: string, ts: string, body: string) {
    const key = await crypto.subtle.importKey('raw', secretBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const sig = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${ts}.${body}`)));
    return `v1,${btoa(String.fromCharCode(...sig))}`;
  }
  /** The svix SDK's header names (svix-id, svix-timestamp, svix-signature) over the same signed content. */
  async function svix(endpointId: string, body: string, sent = body) {
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = {
      'content-type': 'application/json',
      'svix-id': 'msg_2Lh9',
      'svix-timestamp': ts,
      'svix-signature': await sign('msg_2Lh9', ts, body),
    };
    return call(hook(endpointId, sent, { query: '', headers }));
  }

  it('accepts the svix-* header names, and the row says which it read', async () => {
    const { endpointId, productLineId } = await setupEndpoint({
      verify: { type: 'standard-webhooks', secret: 'TEST_WHSEC' },
    });
    const res = await svix(endpointId, leadJson());
    expect(res.status).toBe(200);
    const answer = await res.json<Answer>();
    expect((await crmState(productLineId)).requests).toHaveLength(1);
    const row = (await deliveryRow(answer.deliveryId))!;
    expect(String(row.warnings)).toContain('svix-* header names');
    // the signature header is a credential: not stored
    expect(String(row.request_headers)).not.toContain('svix-signature');
  });

  it('refuses a tampered body under the svix-* names', async () => {
    const { endpointId, productLineId } = await setupEndpoint({
      verify: { type: 'standard-webhooks', secret: 'TEST_WHSEC' },
    });
    const res = await svix(endpointId, leadJson(), leadJson({ name: '篡改' }));
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_signature' } });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
});

describe('secrets by allow-list', () => {
  it('refuses an endpoint naming one of the adapter’s own variables (CRM_AUTH_SCHEME), and any CRM_ name', async () => {
    const productLineId = await crmTenant();
    for (const secret of ['CRM_AUTH_SCHEME', 'CRM_LATER_SETTING', 'NOTIFY_URL']) {
      const res = await putEndpoint(
        unique('allow'),
        endpointConfig(productLineId, { verify: { type: 'token', query: 'token', secret } }),
      );
      expect(res.status).toBe(400);
      const body = await res.json<{ error: { code: string }; issues: { path: string; message: string }[] }>();
      expect(body.issues.map((i) => i.path)).toEqual(['verify.secret']);
      expect(body.issues[0]!.message).toContain('belongs to the adapter itself');
    }
  });

  it('a configuration stored before the rule never verifies against the variable: ?token=Bearer is refused, nothing reaches the CRM', async () => {
    const productLineId = await crmTenant();
    const id = unique('legacy');
    const config = endpointConfig(productLineId, {
      verify: { type: 'token', query: 'token', secret: 'CRM_AUTH_SCHEME' },
    });
    await env.ENDPOINTS.put(
      `v1:endpoint:${id}`,
      JSON.stringify({ id, revision: 'r1', updatedAt: new Date().toISOString(), config }),
    );
    const res = await call(hook(id, leadJson(), { query: '?token=Bearer' }));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
});

describe('a known secret wherever it appears', () => {
  it('a verified token sent again in another query parameter and a header is stored and shown as ***', async () => {
    const { endpointId } = await setupEndpoint();
    const token = 'form-token-2f9c';
    const res = await call(
      hook(endpointId, leadJson(), {
        query: `?token=${token}&copy=${token}&list=a&list=${token}`,
        headers: { 'x-forwarded-token': `Token ${token}` },
      }),
    );
    expect(res.status).toBe(200);
    const { deliveryId } = await res.json<Answer>();
    const row = (await deliveryRow(deliveryId))!;
    expect(JSON.stringify(row)).not.toContain(token);
    expect(JSON.parse(String(row.request_query))).toMatchObject({ copy: '***', list: ['a', '***'] });
    expect(JSON.parse(String(row.request_headers))['x-forwarded-token']).toBe('Token ***');
    const shown = await (
      await call(new Request(`https://adapter.test/admin/deliveries/${deliveryId}`, { headers: ADMIN }))
    ).text();
    expect(shown).not.toContain(token);
  });
});
