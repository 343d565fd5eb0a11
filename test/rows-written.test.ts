/**
 * What a webhook costs in D1 rows written, from D1's own `meta.rows_written` (table rows and index entries, as D1
 * bills them), per outcome; and that every index a query needs is the one it uses (EXPLAIN QUERY PLAN). The figures
 * are README's "Storage: rows written" table: a change that writes more fails here first.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ATTENTION_SQL } from '../src/deliveries/store';
import { idFloor } from '../src/deliveries/id';
import {
  callWith,
  countingDb,
  CUSTOMER_ID,
  drive,
  hook,
  leadJson,
  recordingQueue,
  rowsFor,
  setupEndpoint,
} from './helpers';

type Overrides = Partial<Record<keyof Env, unknown>>;

/** One webhook through the Worker with D1 counted; the rows it wrote, and the statements that wrote them. */
async function webhookRows(endpointId: string, body = leadJson(), overrides: Overrides = {}, query?: string) {
  const counted = countingDb(env.DB);
  const res = await callWith(hook(endpointId, body, query ? { query } : {}), { DB: counted.db, ...overrides });
  const [row] = (await rowsFor(endpointId)).slice(-1);
  return { status: res.status, rowStatus: row?.status, written: counted.written(), statements: counted.statements() };
}

describe('D1 rows written per webhook (indexes counted)', () => {
  it('delivered, sync, a customer seen before: 3 + 2 (the in-flight row before the CRM call, then the final row)', async () => {
    const { endpointId } = await setupEndpoint();
    await webhookRows(endpointId); // the first one learns the customer's phone
    const r = await webhookRows(endpointId);
    expect(r).toMatchObject({ status: 200, rowStatus: 'delivered' });
    expect(r.written, r.statements.join('\n')).toBe(5);
  });

  it('delivered, sync, a customer whose phone is new: 6 (plus the key learned)', async () => {
    const { endpointId } = await setupEndpoint();
    const r = await webhookRows(endpointId);
    expect(r).toMatchObject({ status: 200, rowStatus: 'delivered' });
    expect(r.written, r.statements.join('\n')).toBeLessThanOrEqual(6);
  });

  it('refused before the CRM (a wrong token, a mapping failure): 3 (a failure is looked for, so it is indexed)', async () => {
    const { endpointId } = await setupEndpoint();
    const rejected = await webhookRows(endpointId, leadJson(), {}, '?token=wrong');
    expect(rejected).toMatchObject({ status: 401, rowStatus: 'rejected' });
    expect(rejected.written, rejected.statements.join('\n')).toBe(3);
    const invalid = await webhookRows(endpointId, leadJson({ utm_campaign: '' }));
    expect(invalid).toMatchObject({ status: 422, rowStatus: 'invalid' });
    expect(invalid.written, invalid.statements.join('\n')).toBe(3);
  });

  it('delivered through the queue: 3 when queued, then 2 when the consumer delivers it (no attempt row for a first try)', async () => {
    const { endpointId } = await setupEndpoint({ delivery: { mode: 'queue' } });
    // learn the phone first, as for a customer seen before (delivered, so it holds no later delivery back)
    const first = recordingQueue();
    await webhookRows(endpointId, leadJson(), { DELIVERY_QUEUE: first });
    await drive([first.sent[0]!.id]);
    const queue = recordingQueue();
    const r = await webhookRows(endpointId, leadJson(), { DELIVERY_QUEUE: queue });
    expect(r).toMatchObject({ status: 202, rowStatus: 'queued' });
    const queuedRows = r.written;
    const counted = countingDb(env.DB);
    await drive([queue.sent.at(-1)!.id], { overrides: { DB: counted.db } });
    expect((await rowsFor(endpointId)).at(-1)!.status).toBe('delivered');
    console.log(`queue: ${queuedRows} when queued, ${counted.written()} when delivered`, counted.statements());
    expect(queuedRows).toBe(3);
    expect(counted.written(), counted.statements().join('\n')).toBe(2);
  });
});

describe('every index is the one its query uses', () => {
  const plan = async (sql: string, ...params: unknown[]) =>
    (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...params)
        .all<{ detail: string }>()
    ).results
      .map((r) => r.detail)
      .join(' | ');

  it('one endpoint, newest first (the console list, the editor’s recent deliveries)', async () => {
    expect(await plan('SELECT id FROM deliveries WHERE endpoint_id = ? ORDER BY id DESC LIMIT 50', 'x')).toContain(
      'deliveries_by_endpoint',
    );
  });

  it('a status someone looks for (a status filter, the newest failures, held counts)', async () => {
    expect(
      await plan(`SELECT id FROM deliveries WHERE status = ? AND ${ATTENTION_SQL} ORDER BY id DESC LIMIT 50`, 'failed'),
    ).toContain('deliveries_needing_attention');
    expect(
      await plan(
        `SELECT endpoint_id, COUNT(*) FROM deliveries WHERE status = 'held' AND ${ATTENTION_SQL} GROUP BY endpoint_id`,
      ),
    ).toContain('deliveries_needing_attention');
  });

  it('a time range, through the primary key (overview, success rates, retention)', async () => {
    expect(await plan('SELECT status FROM deliveries WHERE id >= ?', idFloor(Date.now() - 86_400_000))).toMatch(
      /SEARCH deliveries USING PRIMARY KEY \(id>\?\)/,
    );
    expect(await plan('SELECT id FROM deliveries WHERE id < ? LIMIT 500', idFloor(Date.now()))).toMatch(
      /SEARCH deliveries USING PRIMARY KEY \(id<\?\)/,
    );
  });

  it('deliveries on their way, by status (through their next attempt)', async () => {
    const { statusSql } = await import('../src/deliveries/store');
    expect(
      await plan(
        `SELECT id FROM deliveries INDEXED BY deliveries_due WHERE ${statusSql('queued')} ORDER BY id DESC LIMIT 50`,
        'queued',
      ),
    ).toContain('deliveries_due');
  });

  it('deliveries whose attempt is overdue (the cron re-drive)', async () => {
    expect(
      await plan(
        'SELECT id FROM deliveries WHERE next_attempt_at IS NOT NULL AND next_attempt_at < ? ORDER BY next_attempt_at LIMIT 100',
        1,
      ),
    ).toContain('deliveries_due');
  });

  it('a customer key, by its whole primary key', async () => {
    expect(
      await plan(
        'SELECT customer_id FROM customer_keys WHERE module_id = ? AND key = ? AND value = ?',
        '1',
        'phone',
        '1',
      ),
    ).toContain('PRIMARY KEY');
  });

  it('idFloor(t) sorts below every id minted at t and above every id minted before', async () => {
    const { newDeliveryId } = await import('../src/deliveries/id');
    const t = Date.now();
    expect(idFloor(t) <= newDeliveryId(t)).toBe(true);
    expect(newDeliveryId(t - 1) < idFloor(t)).toBe(true);
    expect(CUSTOMER_ID).toBeTruthy();
  });
});
