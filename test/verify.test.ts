/** Sender trust: each scheme with a good request, then one thing broken per test; refusals never reach the CRM. */
import { describe, expect, it } from 'vitest';
import { call, crmState, deliveryRow, hmacOf, hook, leadJson, setupEndpoint } from './helpers';

type Refusal = { error: { code: string; message: string }; deliveryId: string };

async function expectRefused(res: Response, productLineId: string, reason: string) {
  expect(res.status).toBe(401);
  const body = await res.json<Refusal>();
  // one generic answer for the sender; the precise reason only in the log
  expect(body.error).toEqual({ code: 'invalid_signature', message: 'Request could not be verified' });
  expect(await deliveryRow(body.deliveryId)).toMatchObject({ status: 'rejected', reason });
  expect((await crmState(productLineId)).requests).toHaveLength(0);
}

describe('token in a query parameter', () => {
  it('accepts the right token', async () => {
    const { endpointId } = await setupEndpoint();
    expect((await call(hook(endpointId, leadJson(), { query: '?token=form-token-2f9c' }))).status).toBe(200);
  });
  it('refuses a missing token', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    await expectRefused(await call(hook(endpointId, leadJson(), { query: '' })), productLineId, 'missing_credential');
  });
  it('refuses a wrong token of the same length', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    await expectRefused(
      await call(hook(endpointId, leadJson(), { query: '?token=form-token-2f9d' })),
      productLineId,
      'credential_mismatch',
    );
  });
  it('refuses a wrong token of another length', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    await expectRefused(
      await call(hook(endpointId, leadJson(), { query: '?token=x' })),
      productLineId,
      'credential_mismatch',
    );
  });
});

describe('token in a header', () => {
  const verify = { type: 'token' as const, header: 'X-Webhook-Token', secret: 'TEST_FORM_TOKEN' };
  it('accepts the right token', async () => {
    const { endpointId } = await setupEndpoint({ verify });
    expect(
      (await call(hook(endpointId, leadJson(), { query: '', headers: { 'x-webhook-token': 'form-token-2f9c' } })))
        .status,
    ).toBe(200);
  });
  it('accepts it as Authorization: Bearer when the header is authorization', async () => {
    const { endpointId } = await setupEndpoint({ verify: { ...verify, header: 'authorization' } });
    expect(
      (await call(hook(endpointId, leadJson(), { query: '', headers: { authorization: 'Bearer form-token-2f9c' } })))
        .status,
    ).toBe(200);
  });
  it('refuses the token in the query when the endpoint wants the header', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ verify });
    await expectRefused(
      await call(hook(endpointId, leadJson(), { query: '?token=form-token-2f9c' })),
      productLineId,
      'missing_credential',
    );
  });
  it('does not store the token header', async () => {
    const { endpointId } = await setupEndpoint({ verify });
    const res = await call(
      hook(endpointId, leadJson(), { query: '', headers: { 'x-webhook-token': 'form-token-2f9c' } }),
    );
    const row = await deliveryRow((await res.json<{ deliveryId: string }>()).deliveryId);
    expect(row!.request_headers).not.toContain('form-token-2f9c');
  });
});

describe('HMAC-SHA256 over the raw body', () => {
  const hex = {
    type: 'hmac' as const,
    header: 'X-Signature',
    encoding: 'hex' as const,
    prefix: 'sha256=',
    secret: 'TEST_HMAC_SECRET',
  };
  const b64 = {
    type: 'hmac' as const,
    header: 'Typeform-Signature',
    encoding: 'base64' as const,
    prefix: 'sha256=',
    secret: 'TEST_HMAC_SECRET',
  };
  const body = leadJson();

  it('accepts a hex signature with a prefix', async () => {
    const { endpointId } = await setupEndpoint({ verify: hex });
    const sig = `sha256=${await hmacOf('fixture-secret-2f9c', body, 'hex')}`;
    expect((await call(hook(endpointId, body, { query: '', headers: { 'x-signature': sig } }))).status).toBe(200);
  });
  it('accepts upper-case hex', async () => {
    const { endpointId } = await setupEndpoint({ verify: hex });
    const sig = `sha256=${(await hmacOf('fixture-secret-2f9c', body, 'hex')).toUpperCase()}`;
    expect((await call(hook(endpointId, body, { query: '', headers: { 'x-signature': sig } }))).status).toBe(200);
  });
  it('accepts a base64 signature (Typeform style)', async () => {
    const { endpointId } = await setupEndpoint({ verify: b64 });
    const sig = `sha256=${await hmacOf('fixture-secret-2f9c', body, 'base64')}`;
    expect((await call(hook(endpointId, body, { query: '', headers: { 'typeform-signature': sig } }))).status).toBe(
      200,
    );
  });
  it('verifies the exact bytes of a form body, not a re-encoding of its fields', async () => {
    const { endpointId } = await setupEndpoint({ verify: hex });
    const form = 'crm_id=688346218203447296&name=%E5%90%B4%E4%B9%9D&utm_campaign=a+b';
    const sig = `sha256=${await hmacOf('fixture-secret-2f9c', form, 'hex')}`;
    const res = await call(
      hook(endpointId, form, {
        query: '',
        headers: { 'x-signature': sig, 'content-type': 'application/x-www-form-urlencoded' },
      }),
    );
    expect(res.status).toBe(200);
  });
  it('accepts the second secret during a rotation', async () => {
    const { endpointId } = await setupEndpoint({
      verify: { ...hex, secret: ['TEST_HMAC_SECRET', 'TEST_HMAC_SECRET_OLD'] },
    });
    const sig = `sha256=${await hmacOf('old-secret-1a2b', body, 'hex')}`;
    expect((await call(hook(endpointId, body, { query: '', headers: { 'x-signature': sig } }))).status).toBe(200);
  });
  it('refuses a missing signature header', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ verify: hex });
    await expectRefused(await call(hook(endpointId, body, { query: '' })), productLineId, 'missing_credential');
  });
  it('refuses a body with one byte changed', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ verify: hex });
    const sig = `sha256=${await hmacOf('fixture-secret-2f9c', body, 'hex')}`;
    const tampered = body.replace('spring', 'sprinG');
    await expectRefused(
      await call(hook(endpointId, tampered, { query: '', headers: { 'x-signature': sig } })),
      productLineId,
      'signature_mismatch',
    );
  });
  it('refuses a signature made with another secret', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ verify: hex });
    const sig = `sha256=${await hmacOf('not-the-secret', body, 'hex')}`;
    await expectRefused(
      await call(hook(endpointId, body, { query: '', headers: { 'x-signature': sig } })),
      productLineId,
      'signature_mismatch',
    );
  });
  it('refuses a signature made for another body', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ verify: hex });
    const sig = `sha256=${await hmacOf('fixture-secret-2f9c', leadJson({ name: 'other' }), 'hex')}`;
    await expectRefused(
      await call(hook(endpointId, body, { query: '', headers: { 'x-signature': sig } })),
      productLineId,
      'signature_mismatch',
    );
  });
  it('refuses a signature without the configured prefix', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ verify: hex });
    const sig = await hmacOf('fixture-secret-2f9c', body, 'hex');
    await expectRefused(
      await call(hook(endpointId, body, { query: '', headers: { 'x-signature': sig } })),
      productLineId,
      'malformed_signature',
    );
  });
  it('refuses a signature that is not hex', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ verify: hex });
    await expectRefused(
      await call(hook(endpointId, body, { query: '', headers: { 'x-signature': 'sha256=zz' } })),
      productLineId,
      'malformed_signature',
    );
  });
});

describe('verify none', () => {
  it('lets any request through', async () => {
    const { endpointId } = await setupEndpoint({ verify: { type: 'none' } });
    expect((await call(hook(endpointId, leadJson(), { query: '' }))).status).toBe(200);
  });
});

describe('a named secret that does not exist', () => {
  it('refuses with 503 endpoint_misconfigured instead of skipping verification', async () => {
    const { endpointId, productLineId } = await setupEndpoint({
      verify: { type: 'token', query: 'token', secret: 'NOT_SET_ANYWHERE' },
    });
    const res = await call(hook(endpointId, leadJson()));
    expect(res.status).toBe(503);
    const body = await res.json<Refusal>();
    expect(body.error.code).toBe('endpoint_misconfigured');
    const row = await deliveryRow(body.deliveryId);
    expect(row).toMatchObject({ status: 'failed', reason: 'secret_missing' });
    expect(row!.message).toMatch(/NOT_SET_ANYWHERE is not set/);
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
});
