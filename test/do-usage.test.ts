/**
 * What one customer at a time costs in Durable Objects, per webhook: requests (billed per request; 100,000 a day on
 * the free plan) and storage rows written, read from the objects' own counts (`usage()`; SQLite's rowsWritten). The
 * figures are README's "What it costs" table: a change that costs more fails here first.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sequenceKey } from '../src/coordination';
import { CUSTOMER_ID, MODULE_ID, callWith, drive, hook, leadJson, recordingQueue, setupEndpoint } from './helpers';

type Usage = { requests: number; rowsWritten?: number; storageWrites?: number };
const sequenceUsage = (productLineId: string): Promise<Usage> =>
  env.SEQUENCES.get(env.SEQUENCES.idFromName(sequenceKey(productLineId, MODULE_ID, { id: CUSTOMER_ID }))).usage();
const gateUsage = (productLineId: string): Promise<Usage> => env.CRM_GATE.get(env.CRM_GATE.idFromName(`product-line:${productLineId}`)).usage();

/** The Durable Object cost of what `act` did: the customer's sequence and the CRM gate, before and after. */
async function costOf(productLineId: string, act: () => Promise<void>) {
  const [s0, g0] = await Promise.all([sequenceUsage(productLineId), gateUsage(productLineId)]);
  await act();
  const [s1, g1] = await Promise.all([sequenceUsage(productLineId), gateUsage(productLineId)]);
  return {
    requests: s1.requests - s0.requests + (g1.requests - g0.requests),
    sequenceRequests: s1.requests - s0.requests,
    gateRequests: g1.requests - g0.requests,
    rowsWritten: s1.rowsWritten! - s0.rowsWritten! + (g1.storageWrites! - g0.storageWrites!),
  };
}

describe('Durable Object requests and storage rows written per webhook', () => {
  it('sync, delivered: 4 requests (the turn, a CRM slot, the slot back, the turn back)', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const cost = await costOf(productLineId, async () => {
      const res = await callWith(hook(endpointId, leadJson()), {});
      expect(await res.json()).toMatchObject({ status: 'delivered' });
    });
    console.log('DO cost, sync delivered:', cost);
    expect(cost).toMatchObject({ sequenceRequests: 2, gateRequests: 2, requests: 4 });
    expect(cost.rowsWritten).toBe(3);
  });

  it('queued, delivered: 5 requests (its place at receipt, then the same four)', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ delivery: { mode: 'queue' } });
    const queue = recordingQueue();
    const cost = await costOf(productLineId, async () => {
      expect((await callWith(hook(endpointId, leadJson()), { DELIVERY_QUEUE: queue })).status).toBe(202);
      await drive([queue.sent[0]!.id], { overrides: { DELIVERY_QUEUE: queue } });
    });
    console.log('DO cost, queued delivered:', cost);
    expect(cost).toMatchObject({ sequenceRequests: 3, gateRequests: 2, requests: 5 });
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
