/**
 * One customer at a time (issue "One customer at a time"): webhooks for the same customer land in order, an older one
 * never overwrites a newer one, read-modify-write modes lose no update, paused endpoints keep their promise. Each case
 * is a pair (or a burst) sent as senders really send, through the Worker, with the stand-in CRM over HTTP; the queue
 * consumer is driven by the test itself (a recording queue), in a shuffled order and whole batches at once, so no
 * result depends on timing or on the order the consumer happens to take messages in.
 *
 * ORDERING_PAIRS (default 10) sets how many pairs each case runs; the figure is 100 (README "Ordering").
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { DELIVERY_QUEUE_SEED, settle, shuffled } from './settle';
import {
  callWith,
  crmFailures,
  crmState,
  crmTenant,
  deliveryRow,
  drive,
  endpointConfig,
  hook,
  leadJson,
  putEndpoint,
  recordingQueue,
  rowsFor,
  setupEndpoint,
  snowflake,
} from './helpers';

const PAIRS = Number(env.ORDERING_PAIRS || '10');
type Answer = { deliveryId: string; status: string };
/** The pair cases take a while at ORDERING_PAIRS=100. */
const LONG = { timeout: 180_000 };

/** `count` customers of one product line (each pair gets its own, as the trial did). */
function customers(count: number) {
  return Array.from({ length: count }, () => ({ id: snowflake(), name: '旧名字', note: '' }));
}

/** The note the CRM ends with, per customer. */
async function notes(productLineId: string): Promise<Map<string, unknown>> {
  return new Map((await crmState(productLineId)).customers.map((c) => [String(c.id), c.note]));
}

const olderAndNewer = (id: string, extra: Record<string, unknown> = {}) => ({
  older: leadJson({ crm_id: id, comment: 'older', updated_at: '2026-11-20T08:30:00.000Z', ...extra }),
  newer: leadJson({ crm_id: id, comment: 'newer', updated_at: '2026-11-20T08:30:00.050Z', ...extra }),
});

describe('two webhooks for one customer, 50 ms apart: the CRM ends with the newer value', () => {
  it(`queue; the older fails once at the CRM (HTTP 500): newer in ${PAIRS} of ${PAIRS}`, LONG, async () => {
    const people = customers(PAIRS);
    const { endpointId, productLineId } = await setupEndpoint(
      { delivery: { mode: 'queue', schedule: [30] } },
      { customers: people },
    );
    const queue = recordingQueue();
    for (const p of people) {
      const { older, newer } = olderAndNewer(p.id);
      // the older one's first CRM call gets 500 (the stand-in answers its scripted failures in call order)
      expect((await callWith(hook(endpointId, older), { DELIVERY_QUEUE: queue })).status).toBe(202);
      expect((await callWith(hook(endpointId, newer), { DELIVERY_QUEUE: queue })).status).toBe(202);
    }
    // each pair's two messages in one batch, run at once, newer first: the older still goes first, and fails
    for (const p of people) {
      await crmFailures(productLineId, [{ http: 500 }]);
      const rows = (await rowsFor(endpointId)).filter((r) => String(r.payload).includes(p.id));
      await drive(rows.map((r) => r.id).reverse(), { overrides: { DELIVERY_QUEUE: queue } });
      expect(
        (await rowsFor(endpointId)).filter((r) => String(r.payload).includes(p.id)).map((r) => [r.status, r.reason]),
      ).toEqual([
        ['retrying', 'crm_unavailable'],
        ['queued', 'sequence_wait'],
      ]);
    }
    await settle(endpointId, queue);
    const ended = await notes(productLineId);
    expect(people.filter((p) => ended.get(p.id) === 'newer')).toHaveLength(PAIRS);
  });

  it(`queue; no failure at all, both in one batch: newer in ${PAIRS} of ${PAIRS}`, LONG, async () => {
    const people = customers(PAIRS);
    const { endpointId, productLineId } = await setupEndpoint({ delivery: { mode: 'queue' } }, { customers: people });
    const queue = recordingQueue();
    for (const p of people) {
      const { older, newer } = olderAndNewer(p.id);
      await callWith(hook(endpointId, older), { DELIVERY_QUEUE: queue });
      await callWith(hook(endpointId, newer), { DELIVERY_QUEUE: queue });
    }
    // every message in one batch, run at once, in an order that is not the order received
    await drive(
      shuffled(
        queue.sent.map((m) => m.id),
        DELIVERY_QUEUE_SEED,
      ),
      { overrides: { DELIVERY_QUEUE: queue } },
    );
    await settle(endpointId, queue);
    const ended = await notes(productLineId);
    expect(people.filter((p) => ended.get(p.id) === 'newer')).toHaveLength(PAIRS);
    const crm = await crmState(productLineId);
    // each customer's two updates reached the CRM one after the other, the older first
    for (const p of people) {
      const sent = crm.requests.filter((r) => r.outcome === 'applied' && r.body.id === p.id).map((r) => r.body.note);
      expect(sent.at(-1)).toBe('newer');
    }
  });

  it(
    `sync with a version; the older gets 502, the sender retries it after the newer: newer in ${PAIRS} of ${PAIRS}, the retry superseded`,
    LONG,
    async () => {
      const people = customers(PAIRS);
      const { endpointId, productLineId } = await setupEndpoint({ version: 'updated_at' }, { customers: people });
      for (const p of people) {
        const { older, newer } = olderAndNewer(p.id);
        await crmFailures(productLineId, [{ http: 502 }]);
        expect((await callWith(hook(endpointId, older), {})).status).toBe(502);
        expect((await callWith(hook(endpointId, newer), {})).status).toBe(200);
        // the sender's retry of the older one, a second later
        const retry = await callWith(hook(endpointId, older), {});
        expect(retry.status).toBe(200);
        const answer = await retry.json<Answer & { supersededBy: string }>();
        expect(answer.status).toBe('superseded');
        const row = (await deliveryRow(answer.deliveryId))!;
        expect(row).toMatchObject({
          status: 'superseded',
          reason: 'superseded',
          version: '2026-11-20T08:30:00.000Z',
          superseded_by: answer.supersededBy,
        });
        expect(String(row.message)).toContain('2026-11-20T08:30:00.050Z');
      }
      const ended = await notes(productLineId);
      expect(people.filter((p) => ended.get(p.id) === 'newer')).toHaveLength(PAIRS);
    },
  );

  it(
    `sync with onFailure "retry"; the older fails once: newer in ${PAIRS} of ${PAIRS} (the newer waits behind it in the queue)`,
    LONG,
    async () => {
      const people = customers(PAIRS);
      const { endpointId, productLineId } = await setupEndpoint(
        { delivery: { mode: 'sync', onFailure: 'retry', schedule: [30] } },
        { customers: people },
      );
      const queue = recordingQueue();
      for (const p of people) {
        const { older, newer } = olderAndNewer(p.id);
        await crmFailures(productLineId, [{ http: 500 }]);
        const first = await callWith(hook(endpointId, older), { DELIVERY_QUEUE: queue });
        expect(await first.json()).toMatchObject({ status: 'retrying' });
        const second = await callWith(hook(endpointId, newer), { DELIVERY_QUEUE: queue });
        expect(second.status).toBe(202);
        const answer = await second.json<Answer>();
        expect(answer.status).toBe('queued');
        expect(await deliveryRow(answer.deliveryId)).toMatchObject({
          status: 'queued',
          reason: 'sequence_wait',
          mode: 'queue',
        });
      }
      // nothing of the newer reached the CRM before the older was delivered
      expect((await crmState(productLineId)).requests.filter((r) => r.body.note === 'newer')).toHaveLength(0);
      await settle(endpointId, queue);
      const ended = await notes(productLineId);
      expect(people.filter((p) => ended.get(p.id) === 'newer')).toHaveLength(PAIRS);
    },
  );

  it(`the jinshuju preset (queue); the older edit fails once: newer in ${PAIRS} of ${PAIRS}`, LONG, async () => {
    const people = customers(PAIRS);
    const productLineId = await crmTenant({ customers: people });
    const endpointId = `jsj-${crypto.randomUUID().slice(0, 8)}`;
    const config = {
      preset: 'jinshuju',
      name: '活动报名',
      crm: { moduleId: '347772778973233152', productLineId },
      verify: { type: 'token', query: 'token', secret: 'TEST_FORM_TOKEN' },
      customerId: 'entry.x_field_1',
      fields: { note: 'entry.field_2' },
    };
    expect((await putEndpoint(endpointId, config)).status).toBe(201);
    const queue = recordingQueue();
    // Jinshuju re-sends an edited entry with the same serial_number and a newer updated_at (open.jinshuju.net
    // data_format)
    const entry = (id: string, note: string, updatedAt: string) =>
      JSON.stringify({
        form: 'xJfeTv',
        form_name: '活动报名',
        entry: {
          serial_number: Number(id.slice(-6)),
          x_field_1: id,
          field_1: '韩梅梅',
          field_2: note,
          created_at: '2026-11-20T08:30:00.000Z',
          updated_at: updatedAt,
        },
      });
    for (const p of people) {
      const pair = recordingQueue();
      expect(
        (await callWith(hook(endpointId, entry(p.id, 'older', '2026-11-20T08:30:00.000Z')), { DELIVERY_QUEUE: pair }))
          .status,
      ).toBe(200);
      expect(
        (await callWith(hook(endpointId, entry(p.id, 'newer', '2026-11-20T08:31:00.000Z')), { DELIVERY_QUEUE: pair }))
          .status,
      ).toBe(200);
      await crmFailures(productLineId, [{ http: 500 }]);
      await drive(pair.sent.map((m) => m.id).reverse(), { overrides: { DELIVERY_QUEUE: queue } });
    }
    await settle(endpointId, queue);
    const ended = await notes(productLineId);
    expect(people.filter((p) => ended.get(p.id) === 'newer')).toHaveLength(PAIRS);
  });

  it('a version older than the last applied is superseded even when it arrives first in the queue; a replay by hand sends it anyway', async () => {
    const [p] = customers(1);
    const { endpointId, productLineId } = await setupEndpoint(
      { delivery: { mode: 'queue' }, version: 'updated_at' },
      { customers: [p!] },
    );
    const queue = recordingQueue();
    // the sender sent the newer edit first (its own retry of the older came later)
    const { older, newer } = olderAndNewer(p!.id);
    await callWith(hook(endpointId, newer), { DELIVERY_QUEUE: queue });
    await callWith(hook(endpointId, older), { DELIVERY_QUEUE: queue });
    await settle(endpointId, queue);
    expect((await notes(productLineId)).get(p!.id)).toBe('newer');
    const [newerRow, olderRow] = await rowsFor(endpointId);
    expect(olderRow).toMatchObject({ status: 'superseded', superseded_by: newerRow!.id });
    // replayable by hand: the admin replays it, and it is sent
    const res = await callWith(
      new Request(`https://adapter.test/admin/deliveries/${olderRow!.id}/replay`, {
        method: 'POST',
        headers: { authorization: 'Bearer test-admin-token' },
      }),
      { DELIVERY_QUEUE: queue },
    );
    expect(res.status).toBe(202);
    await settle(endpointId, queue);
    expect(await deliveryRow(olderRow!.id)).toMatchObject({ status: 'delivered', superseded_by: null });
    expect((await notes(productLineId)).get(p!.id)).toBe('older');
  });
});

describe('sync webhooks for one customer', () => {
  it('sent one right after the other, each is delivered at once (the second waits the moment the first turn takes to end)', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    for (let i = 0; i < 5; i++) {
      const res = await callWith(hook(endpointId, leadJson({ comment: `edit-${i}` })), {});
      expect(await res.json()).toMatchObject({ status: 'delivered' });
    }
    expect((await crmState(productLineId)).customers[0]).toMatchObject({ note: 'edit-4' });
  });

  it('sent at once, they are applied one at a time: every one delivered (200) or queued behind (202), none lost', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    await crmFailures(
      productLineId,
      Array.from({ length: 8 }, () => ({ delayMs: 30 })),
    );
    const queue = recordingQueue();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        callWith(hook(endpointId, leadJson({ comment: `burst-${i}` })), { DELIVERY_QUEUE: queue }),
      ),
    );
    for (const res of answers) expect([200, 202]).toContain(res.status);
    expect((await crmState(productLineId)).maxInFlight).toBe(1);
    await settle(endpointId, queue);
    expect((await rowsFor(endpointId)).every((r) => r.status === 'delivered')).toBe(true);
    expect((await crmState(productLineId)).requests.filter((r) => r.outcome === 'applied')).toHaveLength(8);
  });
});

describe('a queued burst for one customer', () => {
  it("drains at the CRM's pace: the consumer attempts the customer's next delivery at once when its turn comes", async () => {
    const { endpointId, productLineId } = await setupEndpoint({ delivery: { mode: 'queue' } });
    const queue = recordingQueue();
    for (let i = 0; i < 6; i++)
      expect(
        (await callWith(hook(endpointId, leadJson({ comment: `queued-${i}` })), { DELIVERY_QUEUE: queue })).status,
      ).toBe(202);
    // one message, the first one's: its end hands the turn on, and the same invocation delivers the rest in order
    await drive([queue.sent[0]!.id], { overrides: { DELIVERY_QUEUE: queue } });
    expect((await rowsFor(endpointId)).map((r) => r.status)).toEqual(Array(6).fill('delivered'));
    const notes = (await crmState(productLineId)).requests
      .filter((r) => r.outcome === 'applied')
      .map((r) => r.body.note);
    expect(notes).toEqual(Array.from({ length: 6 }, (_, i) => `queued-${i}`));
    // the later ones' own messages, when they come, find them delivered: no second call
    await drive(
      queue.sent.slice(1).map((m) => m.id),
      { overrides: { DELIVERY_QUEUE: queue } },
    );
    expect((await crmState(productLineId)).requests.filter((r) => r.outcome === 'applied')).toHaveLength(6);
  });
});

describe('a paused endpoint released', () => {
  it('50 customers x 10 versions held, then enabled: every customer ends with v9 (50 of 50)', {
    timeout: 120_000,
  }, async () => {
    const people = customers(50);
    const { endpointId, productLineId } = await setupEndpoint({ enabled: false }, { customers: people });
    for (let v = 0; v < 10; v++) {
      await Promise.all(
        people.map(async (p) => {
          const res = await callWith(hook(endpointId, leadJson({ crm_id: p.id, comment: `v${v}` })), {});
          expect(res.status).toBe(202);
        }),
      );
    }
    expect((await rowsFor(endpointId)).filter((r) => r.status === 'held')).toHaveLength(500);
    const queue = recordingQueue();
    const put = await callWith(
      new Request(`https://adapter.test/admin/endpoints/${endpointId}`, {
        method: 'PUT',
        headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' },
        body: JSON.stringify(endpointConfig(productLineId, { enabled: true })),
      }),
      { DELIVERY_QUEUE: queue },
    );
    expect(await put.json()).toMatchObject({ released: 500 });
    // the consumer takes them 10 a batch, batches at once, in no particular order
    const ids = shuffled(
      queue.sent.map((m) => m.id),
      DELIVERY_QUEUE_SEED,
    );
    const batches = Array.from({ length: Math.ceil(ids.length / 10) }, (_, i) => ids.slice(i * 10, i * 10 + 10));
    await Promise.all(batches.map((b) => drive(b, { overrides: { DELIVERY_QUEUE: queue } })));
    await settle(endpointId, queue);
    const ended = await notes(productLineId);
    expect(people.filter((p) => ended.get(p.id) === 'v9')).toHaveLength(50);
    // an older version never reached the CRM after a newer one of its customer
    const crm = await crmState(productLineId);
    for (const p of people) {
      const sent = crm.requests
        .filter((r) => r.outcome === 'applied' && r.body.id === p.id)
        .map((r) => Number(String(r.body.note).slice(1)));
      expect(sent).toEqual([...sent].sort((a, b) => a - b));
    }
  });
});

describe('read-modify-write modes lose no update', () => {
  it('ten concurrent merge webhooks, each setting another field of one customer, leave all ten set', {
    timeout: 60_000,
  }, async () => {
    const fields = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`input_16800000000${String(i).padStart(2, '0')}`, `f${i}`]),
    );
    // a CRM that blanks what an update leaves out: merge must send what the previous update wrote
    const { endpointId, productLineId } = await setupEndpoint(
      { update: { mode: 'merge' }, fields },
      { mode: 'replace' },
    );
    const queue = recordingQueue();
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        callWith(hook(endpointId, JSON.stringify({ crm_id: '688346218203447296', [`f${i}`]: `value-${i}` })), {
          DELIVERY_QUEUE: queue,
        }),
      ),
    );
    for (const res of answers) expect([200, 202]).toContain(res.status);
    await settle(endpointId, queue);
    const [customer] = (await crmState(productLineId)).customers;
    for (let i = 0; i < 10; i++) expect(customer![`input_16800000000${String(i).padStart(2, '0')}`]).toBe(`value-${i}`);
    expect((await rowsFor(endpointId)).every((r) => r.status === 'delivered')).toBe(true);
  });
});

describe('replays keep the order', () => {
  it('a bulk replay of failed deliveries never puts an older version over a newer one', async () => {
    const [p] = customers(1);
    const { endpointId, productLineId } = await setupEndpoint({ version: 'updated_at' }, { customers: [p!] });
    const { older, newer } = olderAndNewer(p!.id);
    await crmFailures(productLineId, [{ http: 502 }]);
    expect((await callWith(hook(endpointId, older), {})).status).toBe(502);
    expect((await callWith(hook(endpointId, newer), {})).status).toBe(200);
    const queue = recordingQueue();
    const res = await callWith(
      new Request('https://adapter.test/admin/deliveries/replay', {
        method: 'POST',
        headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' },
        body: JSON.stringify({ endpoint: endpointId, status: 'failed' }),
      }),
      { DELIVERY_QUEUE: queue },
    );
    expect(await res.json()).toMatchObject({ queued: 1 });
    await settle(endpointId, queue);
    expect((await notes(productLineId)).get(p!.id)).toBe('newer');
    expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'superseded' });
  });
});
