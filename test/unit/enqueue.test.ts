/** The one batch send to the queue (enqueueMany, src/pipeline/core.ts): chunks of 100, one by one when a batch fails. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type DeliveryMessage, enqueueMany } from '../../src/pipeline/core';

/** A queue whose batch sends fail for the chunks named, and whose single sends fail for the ids named. */
function fakeQueue(failBatches: number[] = [], failIds: string[] = []) {
  const batches: string[][] = [];
  const singles: string[] = [];
  const queue = {
    async sendBatch(messages: { body: DeliveryMessage }[]) {
      const n = batches.push(messages.map((m) => m.body.id)) - 1;
      if (failBatches.includes(n)) throw new Error('batch refused (test)');
    },
    async send(body: DeliveryMessage) {
      if (failIds.includes(body.id)) throw new Error('send refused (test)');
      singles.push(body.id);
    },
  };
  return { queue: queue as unknown as Queue<DeliveryMessage>, batches, singles };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `d${String(i).padStart(3, '0')}`);

describe('enqueueMany', () => {
  afterEach(() => vi.restoreAllMocks());

  it('sends 250 ids as batches of 100, 100 and 50, in order', async () => {
    const q = fakeQueue();
    await enqueueMany(q.queue, ids(250));
    expect(q.batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(q.batches.flat()).toEqual(ids(250));
    expect(q.singles).toEqual([]);
  });

  it('sends a refused batch one by one, and carries on with the next batch', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const q = fakeQueue([1]);
    await enqueueMany(q.queue, ids(250));
    expect(q.singles).toEqual(ids(250).slice(100, 200));
    expect(q.batches[2]).toEqual(ids(250).slice(200));
  });

  it('never throws: a message still lost is logged (its row stays due for the re-drive)', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const q = fakeQueue([0], ['d001']);
    await expect(enqueueMany(q.queue, ids(3))).resolves.toBeUndefined();
    expect(q.singles).toEqual(['d000', 'd002']);
    expect(log.mock.calls.map((c) => String(c[0]))).toEqual([
      'queue sendBatch of 3 failed; sending them one by one',
      'queue send failed for d001; the cron re-drive will pick it up',
    ]);
  });

  it('sends nothing for no ids', async () => {
    const q = fakeQueue();
    await enqueueMany(q.queue, []);
    expect(q.batches).toEqual([]);
  });
});
