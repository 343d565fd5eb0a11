/**
 * Nothing lost: queue mode, retries, the dead-letter queue, idempotency, replay, re-drive, retention, alerts.
 * These tests hand messages to the consumer themselves (a recording queue + createMessageBatch), so
 * no test waits on the local queue's timing; test/queue-e2e.test.ts runs the real queue end to end.
 */
import { env } from 'cloudflare:workers';
import { newDeliveryId } from '../src/deliveries/id';
import { describe, expect, it } from 'vitest';
import {
  ADMIN,
  CUSTOMER_ID,
  attemptsFor,
  call,
  callWith,
  crmFailures,
  crmState,
  deliveryRow,
  drive,
  hook,
  leadJson,
  recordingQueue,
  rowsFor,
  runScheduled,
  setupEndpoint,
} from './helpers';

type Answer = { deliveryId: string; status: string; firstStatus?: string; error?: { code: string } };
const queueMode = (extra: Record<string, unknown> = {}) => ({
  delivery: { mode: 'queue' as const, schedule: [30, 120], ...extra },
});

async function queued(overrides: Record<string, unknown> = {}, tenant = {}) {
  const { endpointId, productLineId } = await setupEndpoint(overrides, tenant);
  const queue = recordingQueue();
  const res = await callWith(hook(endpointId, leadJson()), { DELIVERY_QUEUE: queue });
  const answer = await res.json<Answer>();
  return { endpointId, productLineId, queue, res, answer, id: answer.deliveryId };
}

describe('queue mode', () => {
  it('records the delivery, sends only its id, answers 202 queued, and leaves the CRM alone until the consumer runs', async () => {
    const { productLineId, queue, res, answer, id } = await queued(queueMode());
    expect(res.status).toBe(202);
    expect(answer).toEqual({ deliveryId: id, status: 'queued' });
    expect(queue.sent).toEqual([{ id }]);
    const row = (await deliveryRow(id))!;
    expect(row).toMatchObject({ status: 'queued', mode: 'queue', attempts: 0, verified: 1 });
    expect(row.next_attempt_at).toBeTypeOf('number');
    expect((await crmState(productLineId)).requests).toHaveLength(0);

    const result = await drive([id]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await deliveryRow(id)).toMatchObject({
      status: 'delivered',
      attempts: 1,
      next_attempt_at: null,
      customer_id: CUSTOMER_ID,
      crm_http_status: 200,
      crm_code: 200,
    });
    // a first try that delivered is told by the row itself: no attempt row (one D1 row fewer)
    expect(await attemptsFor(id)).toEqual([]);
    const crm = await crmState(productLineId);
    expect(crm.requests).toHaveLength(1);
    expect(crm.customers[0]).toMatchObject({ name: '吴九', phone: '13900139000' });
  });

  it('acknowledges a message for a delivery that is already delivered, without calling the CRM again', async () => {
    const { productLineId, id } = await queued(queueMode());
    await drive([id]);
    const again = await drive([id]);
    expect(again.explicitAcks).toHaveLength(1);
    expect((await crmState(productLineId)).requests).toHaveLength(1);
    expect(await deliveryRow(id)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(await attemptsFor(id)).toHaveLength(0);
  });

  it('refuses a mapping failure at once (422), before anything is queued', async () => {
    const { endpointId } = await setupEndpoint(queueMode());
    const queue = recordingQueue();
    const res = await callWith(hook(endpointId, leadJson({ utm_campaign: '' })), { DELIVERY_QUEUE: queue });
    expect(res.status).toBe(422);
    expect(queue.sent).toHaveLength(0);
    expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'invalid', reason: 'mapping_failed' });
  });
});

describe('retries', () => {
  it("retries after HTTP 500 with the schedule's delay (with jitter), then delivers", async () => {
    const { productLineId, endpointId } = await setupEndpoint(queueMode());
    await crmFailures(productLineId, [{ http: 500 }]);
    const { id } = await enqueueTo(endpointId);
    const first = await drive([id]);
    expect(first.retryMessages).toHaveLength(1);
    const row = (await deliveryRow(id))!;
    expect(row).toMatchObject({ status: 'retrying', reason: 'crm_unavailable', attempts: 1, crm_http_status: 500 });
    // 30 s ± 20% jitter (the delay given to message.retry, recorded as next_attempt_at)
    expect(await delayOf(id)).toBeGreaterThanOrEqual(24);
    expect(await delayOf(id)).toBeLessThanOrEqual(36);

    await drive([id]);
    expect(await deliveryRow(id)).toMatchObject({
      status: 'delivered',
      attempts: 2,
      reason: null,
      next_attempt_at: null,
    });
    expect(await attemptsFor(id)).toMatchObject([
      { n: 1, outcome: 'retry', http_status: 500, error: 'crm_unavailable' },
      { n: 2, outcome: 'delivered', http_status: 200 },
    ]);
  });

  it("waits at least the CRM's Retry-After on 429", async () => {
    const { productLineId, endpointId } = await setupEndpoint(queueMode({ schedule: [1] }));
    await crmFailures(productLineId, [{ http: 429, retryAfter: 7 }]);
    const { id } = await enqueueTo(endpointId);
    const result = await drive([id]);
    expect(result.retryMessages).toHaveLength(1);
    expect(await delayOf(id)).toBe(7);
    expect(await attemptsFor(id)).toMatchObject([{ outcome: 'retry', http_status: 429 }]);
  });

  it.each([
    ['a timeout', [{ hang: true }], 'did not answer within'],
    ['a dropped connection', [{ drop: true }], 'unreachable'],
    ['a garbage body', [{ garbage: true }], 'unreadable body'],
  ])('retries after %s', async (_what, failures, message) => {
    const { productLineId, endpointId } = await setupEndpoint(queueMode());
    await crmFailures(productLineId, failures);
    const { id } = await enqueueTo(endpointId);
    expect((await drive([id])).retryMessages).toHaveLength(1);
    const [attempt] = await attemptsFor(id);
    expect(attempt).toMatchObject({ outcome: 'retry', error: 'crm_unavailable' });
    expect(attempt!.crm_message).toContain(message);
    await drive([id]);
    expect(await deliveryRow(id)).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('retries when the CRM cannot be reached at all (connection refused)', async () => {
    const { endpointId } = await setupEndpoint(queueMode());
    const { id } = await enqueueTo(endpointId);
    const result = await drive([id], { overrides: { CRM_BASE_URL: 'http://127.0.0.1:9' } });
    expect(result.retryMessages).toHaveLength(1);
    expect(await deliveryRow(id)).toMatchObject({ status: 'retrying', reason: 'crm_unavailable' });
    expect((await attemptsFor(id))[0]!.crm_message).toContain('unreachable');
  });

  it('ends failed at once when the CRM refuses (code != 200), without retrying', async () => {
    const { productLineId, endpointId } = await setupEndpoint(queueMode());
    await crmFailures(productLineId, [{ code: 403, message: '无权限' }]);
    const { id } = await enqueueTo(endpointId);
    const result = await drive([id]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(0);
    expect(await deliveryRow(id)).toMatchObject({
      status: 'failed',
      reason: 'crm_rejected',
      crm_code: 403,
      crm_message: '无权限',
      next_attempt_at: null,
    });
    expect(await attemptsFor(id)).toMatchObject([{ outcome: 'failed', crm_code: 403 }]);
  });

  it('retries a CRM code listed as retryable', async () => {
    const { productLineId, endpointId } = await setupEndpoint(queueMode({ retryableCrmCodes: [503] }));
    await crmFailures(productLineId, [{ code: 503, message: '系统繁忙' }]);
    const { id } = await enqueueTo(endpointId);
    expect((await drive([id])).retryMessages).toHaveLength(1);
    await drive([id]);
    expect(await deliveryRow(id)).toMatchObject({ status: 'delivered' });
  });

  it('ends dead after maxAttempts (the cron groups it into a problem: test/watch.test.ts)', async () => {
    const { productLineId, endpointId } = await setupEndpoint(queueMode({ maxAttempts: 2 }));
    await crmFailures(productLineId, [{ http: 500 }, { http: 503 }]);
    const { id } = await enqueueTo(endpointId);
    await drive([id]);
    const last = await drive([id]);
    expect(last.explicitAcks).toHaveLength(1);
    const row = (await deliveryRow(id))!;
    expect(row).toMatchObject({ status: 'dead', reason: 'crm_unavailable', attempts: 2, next_attempt_at: null });
    expect(row.message).toContain('gave up after 2 attempts');
    expect(await attemptsFor(id)).toMatchObject([{ outcome: 'retry' }, { outcome: 'dead' }]);
  });

  it('marks a delivery dead when its message reaches the dead-letter queue', async () => {
    const { productLineId, endpointId } = await setupEndpoint(queueMode());
    const { id } = await enqueueTo(endpointId);
    const result = await drive([id], { queue: 'crm-deliveries-dlq' });
    expect(result.explicitAcks).toHaveLength(1);
    expect(await deliveryRow(id)).toMatchObject({ status: 'dead', reason: 'dead_letter' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
});

/** Queues one webhook for an endpoint; returns its delivery id. */
async function enqueueTo(endpointId: string, body = leadJson()) {
  const queue = recordingQueue();
  const res = await callWith(hook(endpointId, body), { DELIVERY_QUEUE: queue });
  expect(res.status).toBe(202);
  return { id: (await res.json<Answer>()).deliveryId, queue };
}

/** Seconds between the last attempt's start and the next one (the delay given to message.retry). */
async function delayOf(id: string): Promise<number> {
  const attempts = await attemptsFor(id);
  const last = attempts[attempts.length - 1]!;
  return ((last.next_attempt_at as number) - (last.started_at as number)) / 1000;
}

describe('sync with onFailure: retry', () => {
  it('hands a retryable failure to the queue: 202 retrying, recorded first, then delivered by the consumer', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ delivery: { onFailure: 'retry', schedule: [5] } });
    await crmFailures(productLineId, [{ http: 502 }]);
    const queue = recordingQueue();
    const res = await callWith(hook(endpointId, leadJson()), { DELIVERY_QUEUE: queue });
    expect(res.status).toBe(202);
    const answer = await res.json<Answer>();
    expect(answer).toEqual({ deliveryId: answer.deliveryId, status: 'retrying' });
    expect(queue.sent).toEqual([{ id: answer.deliveryId, delaySeconds: expect.any(Number) }]);
    expect(await deliveryRow(answer.deliveryId)).toMatchObject({
      status: 'retrying',
      mode: 'queue',
      attempts: 1,
      crm_http_status: 502,
    });
    await drive([answer.deliveryId]);
    expect(await deliveryRow(answer.deliveryId)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(await attemptsFor(answer.deliveryId)).toMatchObject([
      { n: 1, outcome: 'retry' },
      { n: 2, outcome: 'delivered' },
    ]);
  });
  it('answers a permanent refusal with 502 as before', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ delivery: { onFailure: 'retry' } });
    await crmFailures(productLineId, [{ code: 400, message: '参数错误' }]);
    const queue = recordingQueue();
    const res = await callWith(hook(endpointId, leadJson()), { DELIVERY_QUEUE: queue });
    expect(res.status).toBe(502);
    expect(queue.sent).toHaveLength(0);
  });
});

describe('no loss', () => {
  const brokenD1 = {
    prepare() {
      throw new Error('D1_ERROR: database unavailable (test)');
    },
    batch() {
      throw new Error('D1_ERROR: database unavailable (test)');
    },
  };
  it('answers 503 when D1 cannot record a queued delivery, and queues nothing', async () => {
    const { endpointId, productLineId } = await setupEndpoint(queueMode());
    const queue = recordingQueue();
    const res = await callWith(hook(endpointId, leadJson()), { DELIVERY_QUEUE: queue, DB: brokenD1 });
    expect(res.status).toBe(503);
    expect((await res.json<Answer>()).error!.code).toBe('storage_unavailable');
    expect(queue.sent).toHaveLength(0);
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('answers 503 when D1 cannot take an idempotency key, and never calls the CRM', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ idempotencyKey: 'utm_campaign' });
    const res = await callWith(hook(endpointId, leadJson()), { DB: brokenD1 });
    expect(res.status).toBe(503);
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('keeps a delivery whose queue send failed, and the cron re-drives it once it is overdue', async () => {
    const { endpointId } = await setupEndpoint(queueMode());
    const res = await callWith(hook(endpointId, leadJson()), { DELIVERY_QUEUE: recordingQueue({ fail: true }) });
    expect(res.status).toBe(202);
    const { deliveryId } = await res.json<Answer>();
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'queued' });

    // a delivery merely waiting in backoff (an hour here) is never re-driven
    const backoff = await setupEndpoint(queueMode({ schedule: [3600] }));
    await crmFailures(backoff.productLineId, [{ http: 500 }]);
    const waiting = await enqueueTo(backoff.endpointId);
    await drive([waiting.id]);
    expect(await deliveryRow(waiting.id)).toMatchObject({ status: 'retrying' });

    const early = recordingQueue();
    await runScheduled(Date.now() + 60_000, { DELIVERY_QUEUE: early });
    expect(early.sent.map((m) => m.id)).not.toContain(deliveryId);

    const cron = recordingQueue();
    await runScheduled(Date.now() + 16 * 60_000, { DELIVERY_QUEUE: cron });
    const redriven = cron.sent.map((m) => m.id);
    expect(redriven).toContain(deliveryId);
    expect(redriven).not.toContain(waiting.id);
    await drive([deliveryId]);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'delivered' });
  });
});

describe('idempotency', () => {
  const key = (id: string) => ({ 'content-type': 'application/json', 'webhook-id': id });

  it('makes one CRM call for 50 concurrent identical requests (sync)', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ idempotencyKey: { header: 'Webhook-Id' } });
    const id = `msg_${crypto.randomUUID()}`;
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => call(hook(endpointId, leadJson(), { headers: key(id) }))),
    );
    const answers = await Promise.all(responses.map((r) => r.json<Answer>()));
    expect((await crmState(productLineId)).requests).toHaveLength(1);
    const delivered = answers.filter((a) => a.status === 'delivered');
    expect(delivered).toHaveLength(1);
    const duplicates = answers.filter((a) => a.status === 'duplicate');
    expect(duplicates).toHaveLength(49);
    for (const d of duplicates) expect(d.deliveryId).toBe(delivered[0]!.deliveryId);
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const rows = await rowsFor(endpointId);
    expect(rows.filter((r) => r.status === 'duplicate')).toHaveLength(49);
    expect(rows.find((r) => r.status === 'duplicate')).toMatchObject({
      duplicate_of: delivered[0]!.deliveryId,
      reason: 'duplicate',
    });
  });

  it('queues one delivery for 50 concurrent identical requests (queue), keyed by an expression', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ ...queueMode(), idempotencyKey: 'lead_id' });
    const queue = recordingQueue();
    const body = leadJson({ lead_id: `lead-${crypto.randomUUID()}` });
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => callWith(hook(endpointId, body), { DELIVERY_QUEUE: queue })),
    );
    const answers = await Promise.all(responses.map((r) => r.json<Answer>()));
    expect(answers.filter((a) => a.status === 'queued')).toHaveLength(1);
    expect(answers.filter((a) => a.status === 'duplicate')).toHaveLength(49);
    expect(queue.sent).toHaveLength(1);
    await drive(queue.sent.map((m) => m.id));
    expect((await crmState(productLineId)).requests).toHaveLength(1);
    // a later repeat reports how the first one ended
    const later = await (await callWith(hook(endpointId, body), { DELIVERY_QUEUE: queue })).json<Answer>();
    expect(later).toEqual({ deliveryId: queue.sent[0]!.id, status: 'duplicate', firstStatus: 'delivered' });
  });

  it('lets a sender retry after a refusal: the key is given back when the first attempt failed', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ idempotencyKey: { header: 'webhook-id' } });
    await crmFailures(productLineId, [{ http: 500 }]);
    const id = `msg_${crypto.randomUUID()}`;
    expect((await call(hook(endpointId, leadJson(), { headers: key(id) }))).status).toBe(502);
    const retry = await call(hook(endpointId, leadJson(), { headers: key(id) }));
    expect(retry.status).toBe(200);
    expect((await retry.json<Answer>()).status).toBe('delivered');
  });

  it('delivers a repeat once the window has passed', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ idempotencyKey: { header: 'webhook-id' } });
    const id = `msg_${crypto.randomUUID()}`;
    await call(hook(endpointId, leadJson(), { headers: key(id) }));
    await env.DB.prepare('UPDATE idempotency SET expires_at = 0 WHERE endpoint_id = ?').bind(endpointId).run();
    expect((await (await call(hook(endpointId, leadJson(), { headers: key(id) }))).json<Answer>()).status).toBe(
      'delivered',
    );
    expect((await crmState(productLineId)).requests).toHaveLength(2);
  });

  it('does not dedupe (and says so) when the key yields nothing', async () => {
    const { endpointId } = await setupEndpoint({ idempotencyKey: 'lead_id' });
    await call(hook(endpointId, leadJson()));
    expect(JSON.parse((await rowsFor(endpointId))[0]!.warnings as string)).toContain(
      'idempotencyKey yielded nothing; not deduplicated',
    );
  });
});

describe('replay', () => {
  const admin = (path: string, init: RequestInit, queue: ReturnType<typeof recordingQueue>) =>
    callWith(
      new Request(`https://adapter.test/admin${path}`, {
        ...init,
        headers: { ...ADMIN, 'content-type': 'application/json' },
      }),
      { DELIVERY_QUEUE: queue },
    );

  it('re-runs a failed delivery against the current configuration, as the same delivery with new attempts', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    await crmFailures(productLineId, [{ code: 403, message: '无权限' }]);
    const { deliveryId } = await (await call(hook(endpointId, leadJson()))).json<Answer>();
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'failed', attempts: 1 });

    const queue = recordingQueue();
    const res = await admin(`/deliveries/${deliveryId}/replay`, { method: 'POST' }, queue);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ deliveryId, status: 'queued' });
    expect(queue.sent).toEqual([{ id: deliveryId }]);
    await drive([deliveryId]);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'delivered', attempts: 2, replays: 1 });
    const detail = await (
      await call(new Request(`https://adapter.test/admin/deliveries/${deliveryId}`, { headers: ADMIN }))
    ).json<{
      attempts: { n: number; outcome: string }[];
    }>();
    expect(detail.attempts.map((a) => [a.n, a.outcome])).toEqual([
      [1, 'failed'],
      [2, 'delivered'],
    ]);
  });

  it('refuses to replay what was never verified, what is in flight, and what does not exist', async () => {
    const { endpointId } = await setupEndpoint(queueMode());
    const queue = recordingQueue();
    const rejected = await (await call(hook(endpointId, leadJson(), { query: '?token=wrong' }))).json<Answer>();
    const refused = await admin(`/deliveries/${rejected.deliveryId}/replay`, { method: 'POST' }, queue);
    expect(refused.status).toBe(409);
    expect((await refused.json<Answer>()).error!.code).toBe('not_replayable');

    const { id } = await enqueueTo(endpointId);
    const inFlight = await admin(`/deliveries/${id}/replay`, { method: 'POST' }, queue);
    expect(inFlight.status).toBe(409);
    expect((await inFlight.json<Answer>()).error!.code).toBe('conflict');

    expect((await admin('/deliveries/01aaaaaaaaaaaaaaaaaaaaaaaa/replay', { method: 'POST' }, queue)).status).toBe(404);
    expect(queue.sent).toHaveLength(0);
  });

  it('replays by filter, bounded, and says how many', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    await crmFailures(productLineId, [{ http: 500 }, { http: 500 }, { http: 500 }]);
    for (let i = 0; i < 3; i++) await call(hook(endpointId, leadJson()));
    await call(hook(endpointId, leadJson())); // delivered: not matched
    const queue = recordingQueue();
    const dry = await admin(
      '/deliveries/replay',
      { method: 'POST', body: JSON.stringify({ endpoint: endpointId, status: 'failed', dryRun: true }) },
      queue,
    );
    expect(await dry.json()).toMatchObject({ matched: 3, queued: 0, dryRun: true });
    const bounded = await admin(
      '/deliveries/replay',
      { method: 'POST', body: JSON.stringify({ endpoint: endpointId, status: 'failed', limit: 2 }) },
      queue,
    );
    expect(bounded.status).toBe(202);
    expect(await bounded.json()).toMatchObject({ matched: 2, queued: 2 });
    expect(queue.sent).toHaveLength(2);
    const bad = await admin('/deliveries/replay', { method: 'POST', body: JSON.stringify({ status: 'nope' }) }, queue);
    expect(bad.status).toBe(400);
  });
});

describe('retention', () => {
  it('removes stored bodies after RAW_RETENTION_DAYS and whole rows after LOG_RETENTION_DAYS', async () => {
    const { endpointId } = await setupEndpoint();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await (await call(hook(endpointId, leadJson()))).json<Answer>()).deliveryId);
    const day = 86_400_000;
    const now = Date.now();
    // back-date two of them: their id carries their time (retention finds old rows through the primary key)
    for (const [i, age] of [
      [0, 10 * day],
      [1, 40 * day],
    ] as const) {
      const old = newDeliveryId(now - age);
      await env.DB.prepare('UPDATE deliveries SET received_at = ?, id = ? WHERE id = ?')
        .bind(now - age, old, ids[i])
        .run();
      ids[i] = old;
    }
    await runScheduled(now, { DELIVERY_QUEUE: recordingQueue() });
    expect(await deliveryRow(ids[0]!)).toMatchObject({ payload: null, raw_body: null, status: 'delivered' });
    expect(await deliveryRow(ids[1]!)).toBeNull();
    expect(await attemptsFor(ids[1]!)).toHaveLength(0);
    expect((await deliveryRow(ids[2]!))!.payload).not.toBeNull();
  });
});
