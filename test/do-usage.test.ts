/**
 * What one customer at a time costs in Durable Objects, per webhook: requests (billed per request; 100,000 a day on
 * the free plan) and storage rows written, read from the coordinator's own counts (`usage()`; SQLite's rowsWritten).
 * The figures are README's "What it costs" table: a change that costs more fails here first.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { coordinationOf, coordinatorUsage } from '../src/coordination';
import { callWith, drive, hook, leadJson, recordingQueue, setupEndpoint } from './helpers';

/**
 * The Durable Object cost of what `act` did: the product line's coordinator (tests: CRM_LIMIT_SCOPE=product-line),
 * before and after.
 */
async function costOf(productLineId: string, act: () => Promise<void>) {
  const c = coordinationOf(env);
  const before = await coordinatorUsage(c, productLineId);
  await act();
  const after = await coordinatorUsage(c, productLineId);
  return {
    requests: after.requests - before.requests,
    rowsWritten: after.rowsWritten - before.rowsWritten + (after.storageWrites - before.storageWrites),
  };
}

describe('Durable Object requests and storage rows written per webhook', () => {
  it('sync, delivered: 2 requests (the turn with its CRM slot, then both given back)', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const cost = await costOf(productLineId, async () => {
      const res = await callWith(hook(endpointId, leadJson()), {});
      expect(await res.json()).toMatchObject({ status: 'delivered' });
    });
    console.log('DO cost, sync delivered:', cost);
    expect(cost.requests).toBe(2);
    expect(cost.rowsWritten).toBe(3);
  });

  it('queued, delivered: 3 requests (its place at receipt, then the same two)', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ delivery: { mode: 'queue' } });
    const queue = recordingQueue();
    const cost = await costOf(productLineId, async () => {
      expect((await callWith(hook(endpointId, leadJson()), { DELIVERY_QUEUE: queue })).status).toBe(202);
      await drive([queue.sent[0]!.id], { overrides: { DELIVERY_QUEUE: queue } });
    });
    console.log('DO cost, queued delivered:', cost);
    expect(cost.requests).toBe(3);
    expect(cost.rowsWritten).toBe(4);
  });

  it('refused before the CRM (a wrong token): no Durable Object request at all', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const cost = await costOf(productLineId, async () => {
      expect((await callWith(hook(endpointId, leadJson(), { query: '?token=wrong' }), {})).status).toBe(401);
    });
    expect(cost).toMatchObject({ requests: 0, rowsWritten: 0 });
  });
});
