/**
 * The CRM is protected (issue "One customer at a time"): calls in flight bounded by CRM_MAX_CONCURRENCY across every
 * delivery, every call paused after repeated outages (and by a Retry-After), one probing call before the rest resume,
 * and every delivery landing once afterwards. Each test has its own product line, so its own gate
 * (CRM_LIMIT_SCOPE=product-line in vitest.config.ts), with the limits it sets.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { coordinationOf, gateStatus, resumeGate } from '../src/coordination';
import {
  ADMIN,
  callWith,
  crmFailures,
  crmRecovers,
  crmState,
  deliveryRow,
  drive,
  hook,
  leadJson,
  recordingQueue,
  rowsFor,
  setupEndpoint,
  snowflake,
} from './helpers';
import { settle } from './settle';

const people = (n: number) => Array.from({ length: n }, () => ({ id: snowflake(), name: '旧名字' }));
const applied = async (productLineId: string) =>
  (await crmState(productLineId)).requests.filter((r) => r.outcome === 'applied');

async function queuedFor(count: number, overrides: Record<string, unknown> = {}) {
  const customers = people(count);
  const { endpointId, productLineId } = await setupEndpoint(
    { delivery: { mode: 'queue', schedule: [5], maxAttempts: 20 }, ...overrides },
    { customers },
  );
  const queue = recordingQueue();
  for (const [i, c] of customers.entries()) {
    const res = await callWith(hook(endpointId, leadJson({ crm_id: c.id, comment: `lead-${i}` })), {
      DELIVERY_QUEUE: queue,
    });
    expect(res.status).toBe(202);
  }
  return { endpointId, productLineId, customers, queue, ids: queue.sent.map((m) => m.id) };
}

describe('calls in flight', () => {
  it('a burst of queued webhooks for different customers never has more calls in flight at the CRM than CRM_MAX_CONCURRENCY', async () => {
    const { endpointId, productLineId, queue, ids } = await queuedFor(20);
    // every call takes 150 ms at the CRM, so unbounded they would all overlap
    await crmFailures(
      productLineId,
      Array.from({ length: 20 }, () => ({ delayMs: 150 })),
    );
    const limits = { CRM_MAX_CONCURRENCY: '2' };
    await Promise.all([
      drive(ids.slice(0, 10), { overrides: { DELIVERY_QUEUE: queue, ...limits } }),
      drive(ids.slice(10), { overrides: { DELIVERY_QUEUE: queue, ...limits } }),
    ]);
    await settle(endpointId, queue, { overrides: limits });
    const crm = await crmState(productLineId);
    expect(crm.maxInFlight).toBeLessThanOrEqual(2);
    expect(crm.maxInFlight).toBeGreaterThanOrEqual(1);
    expect(await applied(productLineId)).toHaveLength(20);
    expect((await rowsFor(endpointId)).every((r) => r.status === 'delivered')).toBe(true);
  });

  it('without the bound the same burst overlaps (the check above can fail)', async () => {
    const { productLineId, queue, ids } = await queuedFor(10);
    await crmFailures(
      productLineId,
      Array.from({ length: 10 }, () => ({ delayMs: 150 })),
    );
    await drive(ids, { overrides: { DELIVERY_QUEUE: queue } });
    expect((await crmState(productLineId)).maxInFlight).toBeGreaterThan(2);
  });

  it('a sync webhook that cannot get a slot quickly goes to the queue (202 queued, crm_busy) instead of waiting', async () => {
    const [first, second] = people(2);
    const { endpointId, productLineId } = await setupEndpoint({}, { customers: [first!, second!] });
    // the one slot is held by a call that hangs (until the CRM timeout)
    await crmFailures(productLineId, [{ hang: true }]);
    const limits = { CRM_MAX_CONCURRENCY: '1' };
    const queue = recordingQueue();
    const coordination = coordinationOf({ ...env, ...limits } as Env);
    const hanging = callWith(hook(endpointId, leadJson({ crm_id: first!.id })), { DELIVERY_QUEUE: queue, ...limits });
    // another customer's webhook arrives once the first holds the slot (looked up, not waited for)
    for (let i = 0; i < 200 && (await gateStatus(coordination, productLineId)).inFlight === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    const res = await callWith(hook(endpointId, leadJson({ crm_id: second!.id })), {
      DELIVERY_QUEUE: queue,
      ...limits,
    });
    expect((await hanging).status).toBe(502);
    expect(res.status).toBe(202);
    const answer = await res.json<{ deliveryId: string; status: string }>();
    expect(answer.status).toBe('queued');
    expect(await deliveryRow(answer.deliveryId)).toMatchObject({ status: 'queued', reason: 'crm_busy', mode: 'queue' });
    expect(queue.sent.map((m) => m.id)).toContain(answer.deliveryId);
    // only the hanging call reached the CRM
    expect((await crmState(productLineId)).requests).toHaveLength(1);
  });
});

describe('an outage', () => {
  it('a CRM that answers 503 for a while gets a bounded number of calls, then every delivery lands once', async () => {
    const { endpointId, productLineId, customers, queue, ids } = await queuedFor(12);
    await crmFailures(
      productLineId,
      Array.from({ length: 200 }, () => ({ http: 503 })),
    );
    const limits = { CRM_PAUSE_AFTER_FAILURES: '3', CRM_MAX_CONCURRENCY: '1' };
    const coordination = coordinationOf({ ...env, ...limits } as Env);

    // the outage: three calls fail, then every call is paused (the rest wait without calling)
    await drive(ids, { overrides: { DELIVERY_QUEUE: queue, ...limits } });
    expect((await crmState(productLineId)).requests).toHaveLength(3);
    const status = await gateStatus(coordination, productLineId);
    expect(status).toMatchObject({ paused: true, consecutiveFailures: 3 });
    expect(status.why).toContain('3 CRM calls in a row failed');
    const waiting = (await rowsFor(endpointId)).filter((r) => r.reason === 'crm_paused');
    expect(waiting).toHaveLength(9);
    expect(waiting[0]).toMatchObject({ status: 'queued', attempts: 0 });

    // still paused: nothing reaches the CRM however often the queue tries
    await drive(ids, { overrides: { DELIVERY_QUEUE: queue, ...limits } });
    expect((await crmState(productLineId)).requests).toHaveLength(3);

    // the pause ends: one probing call, which fails, and the pause starts again (longer)
    await resumeGate(coordination, productLineId);
    await drive(ids, { overrides: { DELIVERY_QUEUE: queue, ...limits } });
    expect((await crmState(productLineId)).requests).toHaveLength(4);
    expect(await gateStatus(coordination, productLineId)).toMatchObject({ paused: true });

    // the CRM is back: the probe succeeds, calls resume, every delivery lands exactly once
    await crmRecovers(productLineId);
    await resumeGate(coordination, productLineId);
    await settle(endpointId, queue, { overrides: limits });
    expect(await gateStatus(coordination, productLineId)).toMatchObject({ paused: false, consecutiveFailures: 0 });
    const ok = await applied(productLineId);
    for (const c of customers) expect(ok.filter((r) => r.body.id === c.id)).toHaveLength(1);
    expect((await rowsFor(endpointId)).every((r) => r.status === 'delivered')).toBe(true);
    expect((await crmState(productLineId)).requests.length).toBeLessThanOrEqual(4 + 12);
  });

  it('a Retry-After pauses every call, not only the delivery that got it', async () => {
    const { endpointId, productLineId, queue, ids } = await queuedFor(2);
    await crmFailures(productLineId, [{ http: 429, retryAfter: 120 }]);
    await drive([ids[0]!], { overrides: { DELIVERY_QUEUE: queue } });
    expect(await deliveryRow(ids[0]!)).toMatchObject({ status: 'retrying', reason: 'crm_unavailable' });
    // another customer's delivery: no call while the CRM asked to wait
    await drive([ids[1]!], { overrides: { DELIVERY_QUEUE: queue } });
    expect((await crmState(productLineId)).requests).toHaveLength(1);
    expect(await deliveryRow(ids[1]!)).toMatchObject({ status: 'queued', reason: 'crm_paused' });
    const status = await gateStatus(coordinationOf(env), productLineId);
    expect(status.why).toContain('Retry-After');
    expect(Date.parse(status.pausedUntil!)).toBeGreaterThan(Date.now() + 100_000);
    await resumeGate(coordinationOf(env), productLineId);
    await settle(endpointId, queue);
    expect(await applied(productLineId)).toHaveLength(2);
  });

  it('the admin API says when CRM calls are paused and why, and resumes them', async () => {
    const { productLineId, queue, ids } = await queuedFor(1);
    await crmFailures(productLineId, [{ http: 429, retryAfter: 600 }]);
    await drive(ids, { overrides: { DELIVERY_QUEUE: queue } });
    const crm = await callWith(
      new Request(`https://adapter.test/admin/crm?productLine=${productLineId}`, { headers: ADMIN }),
      {},
    );
    expect(crm.status).toBe(200);
    const body = await crm.json<{ gates: { productLineId: string; paused: boolean; why: string }[] }>();
    expect(body.gates).toEqual([
      expect.objectContaining({ productLineId, paused: true, why: expect.stringContaining('Retry-After') }),
    ]);
    const resumed = await callWith(
      new Request(`https://adapter.test/admin/crm/resume?productLine=${productLineId}`, {
        method: 'POST',
        headers: ADMIN,
      }),
      {},
    );
    expect(resumed.status).toBe(200);
    // the next call is the probe
    await drive(ids, { overrides: { DELIVERY_QUEUE: queue } });
    expect(await applied(productLineId)).toHaveLength(1);
  });
});
