/**
 * The answer policy (`response`) and paused endpoints: answers that keep a sender's integration switched on.
 * Each test through the Worker with the stand-in CRM over HTTP.
 */
import { describe, expect, it } from 'vitest';
import {
  ADMIN,
  CUSTOMER_ID,
  call,
  callWith,
  crmState,
  deliveryRow,
  drive,
  endpointConfig,
  hook,
  leadJson,
  putEndpoint,
  recordingQueue,
  rowsFor,
  setupEndpoint,
} from './helpers';

type Answer = { deliveryId: string; status?: string; error?: { code: string } };
const admin = (path: string, init: RequestInit = {}, queue = recordingQueue()) =>
  callWith(
    new Request(`https://adapter.test/admin${path}`, {
      ...init,
      headers: { ...ADMIN, 'content-type': 'application/json' },
    }),
    { DELIVERY_QUEUE: queue },
  );

describe('response.status', () => {
  it('answers every accepted webhook with the configured status and the usual body', async () => {
    const { endpointId } = await setupEndpoint({ response: { status: 201 } });
    const res = await call(hook(endpointId, leadJson()));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ status: 'delivered' });
  });
  it('204 answers with no body at all', async () => {
    const { endpointId } = await setupEndpoint({ response: { status: 204 } });
    const res = await call(hook(endpointId, leadJson()));
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
  });
  it('lets queue mode answer 200 (senders that want exactly 200)', async () => {
    const { endpointId } = await setupEndpoint({ delivery: { mode: 'queue' }, response: { status: 200 } });
    const res = await callWith(hook(endpointId, leadJson()), { DELIVERY_QUEUE: recordingQueue() });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'queued' });
  });
  it('never turns a refusal into a success', async () => {
    const { endpointId } = await setupEndpoint({ response: { status: 200, body: { ok: true } } });
    const res = await call(hook(endpointId, leadJson(), { query: '?token=wrong' }));
    expect(res.status).toBe(401);
  });
});

describe('response.unresolved', () => {
  const nobody = { customerId: 'crm_id', customerLookup: [{ key: 'phone', value: 'mobile' }] };
  it('"accept": a lead nobody matches is answered 200 unmatched, kept and replayable, CRM untouched', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ ...nobody, response: { unresolved: 'accept' } });
    const res = await call(hook(endpointId, leadJson({ crm_id: undefined, mobile: '13700000001' })));
    expect(res.status).toBe(200);
    const answer = await res.json<Answer>();
    expect(answer).toEqual({ deliveryId: answer.deliveryId, status: 'unmatched' });
    expect(await deliveryRow(answer.deliveryId)).toMatchObject({ status: 'unmatched', reason: 'customer_unresolved' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('"accept": a sync webhook the mapping refuses is answered 200 invalid (the row says why)', async () => {
    const { endpointId } = await setupEndpoint({ response: { unresolved: 'accept' } });
    const res = await call(hook(endpointId, leadJson({ utm_campaign: '' })));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'invalid' });
    expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'invalid', reason: 'mapping_failed' });
  });
  it('"refuse" (the default): 422 as before', async () => {
    const { endpointId } = await setupEndpoint(nobody);
    expect((await call(hook(endpointId, leadJson({ crm_id: undefined, mobile: '13700000002' })))).status).toBe(422);
  });
  it('the Google Ads preset accepts its "Send test data" lead (nobody in the CRM) with 200', async () => {
    const { productLineId } = { productLineId: (await setupEndpoint()).productLineId };
    const id = `google-${crypto.randomUUID().slice(0, 8)}`;
    const config = {
      name: 'Google',
      preset: 'google-ads-lead-form',
      verify: { secret: 'TEST_FORM_TOKEN' },
      crm: { moduleId: '347772778973233152', productLineId },
      fields: { name: 'user_column_data.FULL_NAME' },
    };
    expect((await putEndpoint(id, config)).status).toBe(201);
    // Google's documented test payload shape: lead_id, user_column_data[{column_id, string_value}], google_key, is_test
    const body = {
      lead_id: 'TeSter-123-ABCDEFGHIJKLMNOPQRSTUVWXYZ',
      google_key: 'form-token-2f9c',
      is_test: true,
      user_column_data: [
        { column_id: 'FULL_NAME', string_value: 'FirstName LastName' },
        { column_id: 'PHONE_NUMBER', string_value: '+16505550123' },
      ],
    };
    const res = await call(
      new Request(`https://adapter.test/hooks/${id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    );
    expect(res.status).toBe(200);
  });
});

describe('a disabled endpoint is paused, not gone', () => {
  it('keeps verifying, holds each webhook (no CRM call), answers 202 held, and shows the count', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ enabled: false });
    const res = await call(hook(endpointId, leadJson()));
    expect(res.status).toBe(202);
    const answer = await res.json<Answer>();
    expect(answer).toEqual({ deliveryId: answer.deliveryId, status: 'held' });
    expect(await deliveryRow(answer.deliveryId)).toMatchObject({
      status: 'held',
      verified: 1,
      reason: 'endpoint_disabled',
    });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
    expect((await call(hook(endpointId, leadJson(), { query: '?token=wrong' }))).status).toBe(401);
    expect(await (await admin(`/endpoints/${endpointId}`)).json()).toMatchObject({ held: 1 });
  });

  it('enabling it again queues every held delivery in arrival order, and they are delivered', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ enabled: false });
    const first = await (await call(hook(endpointId, leadJson({ comment: '第一' })))).json<Answer>();
    const second = await (await call(hook(endpointId, leadJson({ comment: '第二' })))).json<Answer>();
    const queue = recordingQueue();
    const put = await admin(
      `/endpoints/${endpointId}`,
      { method: 'PUT', body: JSON.stringify(endpointConfig(productLineId, { enabled: true })) },
      queue,
    );
    expect(await put.json()).toMatchObject({ released: 2, held: 0 });
    expect(queue.sent.map((m) => m.id)).toEqual([first.deliveryId, second.deliveryId]);
    await drive([first.deliveryId]);
    await drive([second.deliveryId]);
    expect(await deliveryRow(second.deliveryId)).toMatchObject({ status: 'delivered', customer_id: CUSTOMER_ID });
    expect((await crmState(productLineId)).requests.map((r) => r.body.note)).toEqual(['第一', '第二']);
  });

  it('a queued delivery whose endpoint was disabled meanwhile is held, not failed', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ delivery: { mode: 'queue' } });
    const { deliveryId } = await (
      await callWith(hook(endpointId, leadJson()), { DELIVERY_QUEUE: recordingQueue() })
    ).json<Answer>();
    await admin(`/endpoints/${endpointId}`, {
      method: 'PUT',
      body: JSON.stringify(endpointConfig(productLineId, { delivery: { mode: 'queue' }, enabled: false })),
    });
    await drive([deliveryId]);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'held', attempts: 0 });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });

  it('an endpoint that does not exist stays 404 (never 410)', async () => {
    const res = await call(hook(`gone-${crypto.randomUUID().slice(0, 8)}`, leadJson()));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
