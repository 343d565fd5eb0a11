/**
 * Paused endpoints keep their promise, and no crash loses or doubles a lead (issue "One customer at a time"): the held
 * row exists before the 202, a held delivery takes its idempotency claim, every held delivery of an enabled endpoint is
 * released (whichever isolate enabled it, whatever cache held it), a deleted endpoint's held rows end `cancelled`; D1
 * failing at each step of an attempt applies the lead once.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  ADMIN,
  call,
  callWith,
  crmState,
  deliveryRow,
  drive,
  endpointConfig,
  hook,
  leadJson,
  recordingQueue,
  rowsFor,
  runScheduled,
  setupEndpoint,
} from './helpers';
import { settle } from './settle';

const applied = async (productLineId: string) =>
  (await crmState(productLineId)).requests.filter((r) => r.outcome === 'applied');

/** D1 whose `nth` statement (a run, first, all or batch) fails: the Worker stops at that step. */
function d1FailingAt(nth: number): { db: D1Database; calls: () => number } {
  let calls = 0;
  const step = () => {
    calls += 1;
    if (calls === nth) throw new Error(`D1 unavailable at step ${nth} (test)`);
  };
  const wrap = (stmt: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === 'bind') return (...values: unknown[]) => wrap(target.bind(...values));
        if (prop === 'run' || prop === 'first' || prop === 'all' || prop === 'raw') {
          return async (...args: unknown[]) => {
            step();
            return (target[prop] as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const db = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === 'prepare') return (sql: string) => wrap(target.prepare(sql));
      if (prop === 'batch') {
        return async (statements: D1PreparedStatement[]) => {
          step();
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { db: db as D1Database, calls: () => calls };
}

const enable = (
  endpointId: string,
  productLineId: string,
  queue: ReturnType<typeof recordingQueue>,
  config: Record<string, unknown> = {},
) =>
  callWith(
    new Request(`https://adapter.test/admin/endpoints/${endpointId}`, {
      method: 'PUT',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify(endpointConfig(productLineId, { ...config, enabled: true })),
    }),
    { DELIVERY_QUEUE: queue },
  );

describe('a paused endpoint', () => {
  it('answers 202 held only once the row is written: D1 down is 503, so the sender retries', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ enabled: false });
    const res = await callWith(hook(endpointId, leadJson()), { DB: d1FailingAt(1).db });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'storage_unavailable' } });
    expect(await rowsFor(endpointId)).toHaveLength(0);
    // the sender's retry is held, and delivered once the endpoint is enabled
    expect((await call(hook(endpointId, leadJson()))).status).toBe(202);
    const queue = recordingQueue();
    await enable(endpointId, productLineId, queue);
    await settle(endpointId, queue);
    expect(await applied(productLineId)).toHaveLength(1);
  });

  it('a lead sent twice while paused is held once (its idempotency claim is taken) and applied once', async () => {
    const { endpointId, productLineId } = await setupEndpoint({
      enabled: false,
      idempotencyKey: { header: 'webhook-id' },
    });
    const headers = { 'content-type': 'application/json', 'webhook-id': 'lead-1' };
    const first = await call(hook(endpointId, leadJson(), { headers }));
    expect(await first.json()).toMatchObject({ status: 'held' });
    const again = await call(hook(endpointId, leadJson(), { headers }));
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: 'duplicate', firstStatus: 'held' });
    const queue = recordingQueue();
    expect(
      await (await enable(endpointId, productLineId, queue, { idempotencyKey: { header: 'webhook-id' } })).json(),
    ).toMatchObject({ released: 1 });
    await settle(endpointId, queue);
    expect(await applied(productLineId)).toHaveLength(1);
    // and a third repeat, after delivery, is still a duplicate
    expect(await (await call(hook(endpointId, leadJson(), { headers }))).json()).toMatchObject({
      status: 'duplicate',
      firstStatus: 'delivered',
    });
  });

  it('an isolate whose cache still says "disabled" delivers once the endpoint is enabled (it reads past its cache before holding)', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ enabled: false });
    expect((await call(hook(endpointId, leadJson()))).status).toBe(202); // cached: disabled
    // enabled from another isolate or location: straight in KV, this isolate's cache untouched
    const stored = JSON.parse((await env.ENDPOINTS.get(`v1:endpoint:${endpointId}`))!);
    await env.ENDPOINTS.put(
      `v1:endpoint:${endpointId}`,
      JSON.stringify({ ...stored, config: { ...stored.config, enabled: true } }),
    );
    const res = await call(hook(endpointId, leadJson({ comment: '启用之后' })));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'delivered' });
    expect(await applied(productLineId)).toHaveLength(1);
  });

  it('the cron releases what an enabled endpoint still holds (held by a stale cache after the release ran)', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ enabled: false });
    const held = await (await call(hook(endpointId, leadJson()))).json<{ deliveryId: string }>();
    // enabled where nothing released (another isolate's write, straight in KV)
    const stored = JSON.parse((await env.ENDPOINTS.get(`v1:endpoint:${endpointId}`))!);
    await env.ENDPOINTS.put(
      `v1:endpoint:${endpointId}`,
      JSON.stringify({ ...stored, config: { ...stored.config, enabled: true } }),
    );
    const cron = recordingQueue();
    await runScheduled(Date.now(), { DELIVERY_QUEUE: cron });
    expect(cron.sent.map((m) => m.id)).toContain(held.deliveryId);
    await drive([held.deliveryId], { overrides: { DELIVERY_QUEUE: cron } });
    expect(await deliveryRow(held.deliveryId)).toMatchObject({ status: 'delivered' });
    expect(await applied(productLineId)).toHaveLength(1);
  });

  it('deleting it ends its held rows as cancelled; an endpoint re-created under the same id never receives them', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ enabled: false });
    const held = await (await call(hook(endpointId, leadJson()))).json<{ deliveryId: string }>();
    const del = await call(
      new Request(`https://adapter.test/admin/endpoints/${endpointId}`, { method: 'DELETE', headers: ADMIN }),
    );
    expect(del.status).toBe(204);
    expect(await deliveryRow(held.deliveryId)).toMatchObject({ status: 'cancelled', reason: 'endpoint_deleted' });
    const queue = recordingQueue();
    const recreated = await callWith(
      new Request(`https://adapter.test/admin/endpoints/${endpointId}`, {
        method: 'PUT',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: JSON.stringify(endpointConfig(productLineId, { fields: { note: { value: '新的映射' } } })),
      }),
      { DELIVERY_QUEUE: queue },
    );
    expect(await recreated.json()).toMatchObject({ released: 0 });
    await runScheduled(Date.now() + 16 * 60_000, { DELIVERY_QUEUE: queue });
    expect(queue.sent.map((m) => m.id)).not.toContain(held.deliveryId);
    expect(await deliveryRow(held.deliveryId)).toMatchObject({ status: 'cancelled' });
    expect(await applied(productLineId)).toHaveLength(0);
  });
});

describe('D1 failing at each step of a queued delivery', () => {
  it('loses no lead and applies none twice, whichever step fails', async () => {
    let reached = 0;
    for (let nth = 1; nth <= 20; nth++) {
      const { endpointId, productLineId } = await setupEndpoint({ delivery: { mode: 'queue', schedule: [1] } });
      const queue = recordingQueue();
      const res = await callWith(hook(endpointId, leadJson({ comment: `step-${nth}` })), { DELIVERY_QUEUE: queue });
      expect(res.status).toBe(202);
      const id = queue.sent[0]!.id;
      // the attempt: D1 fails at its nth statement (an exception in the consumer: the message is retried)
      const failing = d1FailingAt(nth);
      await drive([id], { overrides: { DB: failing.db, DELIVERY_QUEUE: queue } });
      if (failing.calls() < nth) break; // the attempt has no nth step: every step was tried
      reached = nth;
      // time passes beyond any lease the stopped attempt left; the cron re-drives, the queue retries
      await env.DB.prepare('UPDATE deliveries SET lease_until = NULL WHERE id = ? AND lease_until IS NOT NULL')
        .bind(id)
        .run();
      await settle(endpointId, queue);
      expect(await deliveryRow(id), `D1 failing at step ${nth}`).toMatchObject({ status: 'delivered' });
      expect(await applied(productLineId), `D1 failing at step ${nth}`).toHaveLength(1);
    }
    // the lease, and the attempt's batch after the CRM call (the one the customer's sequence answers "done" for)
    expect(reached).toBeGreaterThanOrEqual(2);
  });
});
