/**
 * The real CRM's refusals, as its PHP backend sends them (`{"code":404,"message":…,"data":[]}` with HTTP 200),
 * through the Worker and the stand-in CRM over HTTP: a refusal is a refusal, never an outage to retry for hours.
 */
import { describe, expect, it } from 'vitest';
import {
  call,
  callWith,
  crmFailures,
  crmState,
  deliveryRow,
  drive,
  hook,
  leadJson,
  recordingQueue,
  setupEndpoint,
} from './helpers';

type Answer = { deliveryId: string; status?: string; error?: { code: string; message: string } };
const REFUSAL = { code: 404, message: '数据不存在或已被删除' };

describe('a CRM refusal with data: []', () => {
  it('sync: 502 crm_rejected with the CRM’s message, row failed, no retry', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ delivery: { onFailure: 'retry', schedule: [30] } });
    await crmFailures(productLineId, [REFUSAL]);
    const res = await call(hook(endpointId, leadJson()));
    expect(res.status).toBe(502);
    const answer = await res.json<Answer>();
    expect(answer.error).toEqual({ code: 'crm_rejected', message: '数据不存在或已被删除' });
    expect(await deliveryRow(answer.deliveryId)).toMatchObject({
      status: 'failed',
      reason: 'crm_rejected',
      crm_code: 404,
      crm_message: '数据不存在或已被删除',
      mode: 'sync',
    });
    expect(JSON.parse((await deliveryRow(answer.deliveryId))!.crm_response as string)).toEqual({
      ...REFUSAL,
      data: [],
    });
    expect((await crmState(productLineId)).requests).toHaveLength(1);
  });

  it('queue: one attempt, failed (not retrying), the CRM’s message kept', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ delivery: { mode: 'queue', schedule: [30, 120] } });
    await crmFailures(productLineId, [REFUSAL]);
    const queue = recordingQueue();
    const { deliveryId } = await (
      await callWith(hook(endpointId, leadJson()), { DELIVERY_QUEUE: queue })
    ).json<Answer>();
    const result = await drive([deliveryId]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await deliveryRow(deliveryId)).toMatchObject({
      status: 'failed',
      reason: 'crm_rejected',
      crm_message: '数据不存在或已被删除',
      next_attempt_at: null,
      attempts: 1,
    });
    expect((await crmState(productLineId)).requests).toHaveLength(1);
  });
});
