/**
 * The promise at its edges: nothing clobbered, nothing lost, refusals stay cheap.
 * Each test builds a valid request, breaks one thing, and checks the answer, the D1 row and what the stand-in CRM
 * did or did not receive.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { scrubText, sensitiveForms } from '../src/deliveries/redact';
import { nestsDeeperThan } from '../src/receive/json';
import {
  ADMIN,
  CUSTOMER_ID,
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

type Answer = { deliveryId: string; status: string; firstStatus?: string; error?: { code: string; message: string } };
const queueMode = { delivery: { mode: 'queue' as const, schedule: [30, 120] } };
const REAL_PHONE = '13900139000';

describe('redact masks the log, never what the CRM receives', () => {
  const redact = { redact: ['name', 'mobile'] };

  it('queue mode: the consumer sends the real name and phone; the row stays masked', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ ...redact, ...queueMode });
    const queue = recordingQueue();
    const { deliveryId } = await (
      await callWith(hook(endpointId, leadJson()), { DELIVERY_QUEUE: queue })
    ).json<Answer>();
    await drive([deliveryId]);
    const sent = (await crmState(productLineId)).requests[0]!.body;
    expect(sent).toMatchObject({ name: '吴九', phone: REAL_PHONE });
    const row = (await deliveryRow(deliveryId))!;
    expect(row.status).toBe('delivered');
    expect(JSON.parse(row.payload as string)).toMatchObject({ name: '***', mobile: '139****9000' });
    expect(String(row.crm_request)).not.toContain(REAL_PHONE);
    // the unmasked body is kept for delivery only: the admin API never shows it
    const detail = await (
      await call(new Request(`https://adapter.test/admin/deliveries/${deliveryId}`, { headers: ADMIN }))
    ).text();
    expect(detail).not.toContain(REAL_PHONE);
    expect(detail).not.toContain('吴九');
  });

  it('a sync failure handed to the queue is retried with the real values', async () => {
    const { endpointId, productLineId } = await setupEndpoint({
      ...redact,
      delivery: { onFailure: 'retry', schedule: [30, 120] },
    });
    await crmFailures(productLineId, [{ http: 500 }]);
    const queue = recordingQueue();
    const res = await callWith(hook(endpointId, leadJson()), { DELIVERY_QUEUE: queue });
    expect(res.status).toBe(202);
    const { deliveryId } = await res.json<Answer>();
    await drive([deliveryId]);
    const requests = (await crmState(productLineId)).requests;
    expect(requests.map((r) => r.body)).toMatchObject([
      { name: '吴九', phone: REAL_PHONE },
      { name: '吴九', phone: REAL_PHONE },
    ]);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('a replay sends the real values again', async () => {
    const { endpointId, productLineId } = await setupEndpoint(redact);
    await crmFailures(productLineId, [{ code: 403, message: '无权限' }]);
    const { deliveryId } = await (await call(hook(endpointId, leadJson()))).json<Answer>();
    const queue = recordingQueue();
    const replay = await callWith(
      new Request(`https://adapter.test/admin/deliveries/${deliveryId}/replay`, { method: 'POST', headers: ADMIN }),
      { DELIVERY_QUEUE: queue },
    );
    expect(replay.status).toBe(202);
    await drive([deliveryId]);
    const last = (await crmState(productLineId)).requests.at(-1)!.body;
    expect(last).toMatchObject({ name: '吴九', phone: REAL_PHONE });
    expect(last.name).not.toBe('***');
  });
});

describe('deep nesting is refused before anything else', () => {
  const deep = (levels: number) =>
    `{"crm_id":"${CUSTOMER_ID}","utm_campaign":"x","a":${'['.repeat(levels)}${']'.repeat(levels)}}`;

  it('sync: a 10,000-level body is 400 invalid_body with one row and no CRM call', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ redact: ['mobile'] });
    const res = await call(hook(endpointId, deep(10_000)));
    expect(res.status).toBe(400);
    const answer = await res.json<Answer>();
    expect(answer.error).toMatchObject({ code: 'invalid_body' });
    expect(answer.error!.message).toContain('nests deeper than 64 levels');
    const rows = await rowsFor(endpointId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'invalid', reason: 'invalid_body' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });

  it('queue: the same body is refused at once, nothing queued, no CRM call', async () => {
    const { endpointId, productLineId } = await setupEndpoint(queueMode);
    const queue = recordingQueue();
    const res = await callWith(hook(endpointId, deep(10_000)), { DELIVERY_QUEUE: queue });
    expect(res.status).toBe(400);
    expect(queue.sent).toHaveLength(0);
    expect(await rowsFor(endpointId)).toHaveLength(1);
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });

  it('64 levels are accepted, 65 are not; brackets inside strings do not count', () => {
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(nestsDeeperThan(nest(64), 64)).toBe(false);
    expect(nestsDeeperThan(nest(65), 64)).toBe(true);
    expect(nestsDeeperThan(`{"a":"${'['.repeat(500)}\\"${'{'.repeat(500)}"}`, 64)).toBe(false);
  });
});

/** D1 whose batches fail after the first: the Worker "dies" after claiming the key and calling the CRM. */
function d1DyingAfterClaim(): D1Database {
  let batches = 0;
  return new Proxy(env.DB, {
    get(target, prop, receiver) {
      if (prop === 'batch') {
        return async (statements: D1PreparedStatement[]) => {
          batches += 1;
          if (batches > 1) throw new Error('the Worker stopped (test)');
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('no lead behind a stale idempotency claim', () => {
  const key = (id: string) => ({ 'content-type': 'application/json', 'webhook-id': id });
  /** A sync delivery whose Worker stopped after the CRM call: the claim and the in-flight row are all D1 has. */
  async function crashedMidCall() {
    const { endpointId, productLineId } = await setupEndpoint({ idempotencyKey: { header: 'webhook-id' } });
    const webhookId = crypto.randomUUID();
    await callWith(hook(endpointId, leadJson(), { headers: key(webhookId) }), { DB: d1DyingAfterClaim() }).catch(
      () => undefined,
    );
    const [row] = await rowsFor(endpointId);
    return { endpointId, productLineId, webhookId, row: row! };
  }
  /** Time passing beyond the lease (the CRM timeout plus a margin), without waiting for it. */
  const leaseOver = (id: string) =>
    env.DB.prepare('UPDATE deliveries SET lease_until = received_at WHERE id = ?').bind(id).run();

  it('leaves a visible in-flight row, and a repeat within the lease is a duplicate in progress', async () => {
    const { endpointId, productLineId, webhookId, row } = await crashedMidCall();
    expect(row).toMatchObject({ status: 'queued', mode: 'sync', attempts: 0 });
    const again = await call(hook(endpointId, leadJson(), { headers: key(webhookId) }));
    expect(await again.json()).toMatchObject({ status: 'duplicate', firstStatus: 'in_progress', deliveryId: row.id });
    expect((await crmState(productLineId)).requests).toHaveLength(1);
  });

  it('a repeat after the lease takes the claim over and is delivered; the stale row is not re-driven', async () => {
    const { endpointId, productLineId, webhookId, row } = await crashedMidCall();
    await leaseOver(row.id);
    const again = await call(hook(endpointId, leadJson({ comment: '第二次' }), { headers: key(webhookId) }));
    expect(again.status).toBe(200);
    const answer = await again.json<Answer>();
    expect(answer).toMatchObject({ status: 'delivered' });
    expect(answer.deliveryId).not.toBe(row.id);
    expect((await crmState(productLineId)).requests.at(-1)!.body).toMatchObject({ note: '第二次' });
    expect(await deliveryRow(row.id)).toMatchObject({
      status: 'duplicate',
      duplicate_of: answer.deliveryId,
      next_attempt_at: null,
    });
    const cron = recordingQueue();
    await runScheduled(Date.now() + 16 * 60_000, { DELIVERY_QUEUE: cron });
    expect(cron.sent.map((m) => m.id)).not.toContain(row.id);
    // and the claim now belongs to the delivered one: a third repeat is its duplicate
    const third = await call(hook(endpointId, leadJson(), { headers: key(webhookId) }));
    expect(await third.json()).toMatchObject({
      status: 'duplicate',
      deliveryId: answer.deliveryId,
      firstStatus: 'delivered',
    });
  });

  it('without a repeat, the cron re-drive finishes the crashed delivery', async () => {
    const { productLineId, row } = await crashedMidCall();
    await leaseOver(row.id);
    const cron = recordingQueue();
    await runScheduled(Date.now() + 16 * 60_000, { DELIVERY_QUEUE: cron });
    expect(cron.sent.map((m) => m.id)).toContain(row.id);
    await drive([row.id]);
    expect(await deliveryRow(row.id)).toMatchObject({ status: 'delivered', customer_id: CUSTOMER_ID });
    // the customer's sequence knows the CRM applied it before the Worker stopped: recorded, not sent twice
    expect((await deliveryRow(row.id))!.message).toMatch(/applied by an earlier try/);
    expect((await crmState(productLineId)).requests).toHaveLength(1);
  });
});

/** D1 whose writes fail once the CRM has received the update: the Worker "dies" right after the CRM call. */
function d1DyingAfterCrmCall(productLineId: string): D1Database {
  const isWrite = (sql: string) => /^\s*(INSERT|UPDATE|DELETE|REPLACE)/i.test(sql);
  const write = async <T>(sql: string, go: () => Promise<T>) => {
    if (isWrite(sql) && (await crmState(productLineId)).requests.length > 0)
      throw new Error('the Worker stopped (test)');
    return go();
  };
  const statement = (sql: string, stmt: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === 'bind') return (...values: unknown[]) => statement(sql, target.bind(...values));
        if (prop === 'run') return () => write(sql, () => target.run());
        if (prop === '__sql') return sql;
        const value = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === 'prepare') return (sql: string) => statement(sql, target.prepare(sql));
      if (prop === 'batch') {
        return (statements: D1PreparedStatement[]) => {
          const sqls = statements.map((s) => String((s as unknown as { __sql?: string }).__sql ?? 'INSERT'));
          const real = statements.map((s) => s);
          return write(sqls.find(isWrite) ?? 'SELECT', () => target.batch(real));
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('a sync crash after the CRM call, without an idempotency key', () => {
  it('leaves the in-flight row written before the call, and the re-drive finishes it without a second CRM call', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    await callWith(hook(endpointId, leadJson()), { DB: d1DyingAfterCrmCall(productLineId) }).catch(() => undefined);
    expect((await crmState(productLineId)).requests).toHaveLength(1);
    const [row] = await rowsFor(endpointId);
    expect(row).toMatchObject({ status: 'queued', mode: 'sync', attempts: 0 });
    await env.DB.prepare('UPDATE deliveries SET lease_until = received_at WHERE id = ?').bind(row!.id).run();
    const cron = recordingQueue();
    await runScheduled(Date.now() + 16 * 60_000, { DELIVERY_QUEUE: cron });
    expect(cron.sent.map((m) => m.id)).toContain(row!.id);
    await drive([row!.id]);
    expect(await deliveryRow(row!.id)).toMatchObject({ status: 'delivered', customer_id: CUSTOMER_ID });
    expect((await crmState(productLineId)).requests).toHaveLength(1);
  });
});

describe('a sync crash after the CRM call, with a big body', () => {
  it('the in-flight row is written without the body (kept with the final row only); the re-drive still finds it applied', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const body = leadJson({ comment: '大'.repeat(8_000) });
    expect(body.length).toBeGreaterThan(8_000);
    await callWith(hook(endpointId, body), { DB: d1DyingAfterCrmCall(productLineId) }).catch(() => undefined);
    const [row] = await rowsFor(endpointId);
    expect(row).toMatchObject({ status: 'queued', mode: 'sync', payload: null, raw_body: null });
    expect(String(row!.warnings)).toContain('in flight without its body');
    await env.DB.prepare('UPDATE deliveries SET lease_until = received_at WHERE id = ?').bind(row!.id).run();
    await drive([row!.id]);
    expect(await deliveryRow(row!.id)).toMatchObject({ status: 'delivered' });
    expect(String((await deliveryRow(row!.id))!.message)).toMatch(/applied by an earlier try/);
    expect((await crmState(productLineId)).requests).toHaveLength(1);
  });
});

describe('refusals stay cheap under redact', () => {
  it('a request refused for its token is kept masked for review: every phone masked, nothing sent', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ redact: ['items.*.phone'] });
    const items = Array.from({ length: 10_000 }, (_, i) => ({ phone: `139${String(i).padStart(8, '0')}` }));
    const body = JSON.stringify({ crm_id: CUSTOMER_ID, utm_campaign: 'x', items });
    expect(body.length).toBeGreaterThan(200_000);
    const res = await call(hook(endpointId, body, { query: '?token=wrong' }));
    expect(res.status).toBe(401);
    const [row] = await rowsFor(endpointId);
    expect(row).toMatchObject({ status: 'rejected', payload_bytes: body.length });
    const shown = row!.payload as string;
    for (const i of [0, 4_321, 9_999]) expect(shown).not.toContain(`139${String(i).padStart(8, '0')}`);
    expect(JSON.parse(shown).items[7].phone).toBe('139****0007');
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });

  it('a verified request refused by the mapping is stored masked, for the operator to fix and replay', async () => {
    const { endpointId } = await setupEndpoint({ redact: ['mobile'] });
    const res = await call(hook(endpointId, leadJson({ mobile: '13800138000', utm_campaign: '' })));
    expect(res.status).toBe(422);
    const [row] = await rowsFor(endpointId);
    expect(row!.payload).not.toContain('13800138000');
    expect(JSON.parse(row!.payload as string).mobile).toBe('138****8000');
  });

  it('many masked values are scrubbed in one pass: whole strings, digit runs inside text, bare numbers', () => {
    const phones = Array.from({ length: 5_000 }, (_, i) => `139${String(i).padStart(8, '0')}`);
    const forms = sensitiveForms(phones);
    const text = JSON.stringify({
      items: phones.map((p) => ({ phone: p })),
      note: `call ${phones[7]} today`,
      n: Number(phones[9]),
    });
    const out = scrubText(text, forms);
    for (const p of [phones[0]!, phones[7]!, phones[9]!, phones[4_999]!]) expect(out).not.toContain(p);
    expect(JSON.parse(out)).toMatchObject({ note: 'call 139****0007 today', n: '139****0009' });
  });
});

describe('queued attempts record what they noticed', () => {
  it('writes the warning of a field left out because the CRM already has a value', async () => {
    const fields = {
      name: '$trim(name)',
      note: { from: 'comment', overwrite: false },
      input_1680509561692: { from: 'utm_campaign', required: true },
    };
    const { endpointId } = await setupEndpoint(
      { ...queueMode, fields },
      { customers: [{ id: CUSTOMER_ID, name: '旧名字', note: '已有备注', own_id: '400000000000000002' }] },
    );
    const queue = recordingQueue();
    const { deliveryId } = await (
      await callWith(hook(endpointId, leadJson()), { DELIVERY_QUEUE: queue })
    ).json<Answer>();
    await drive([deliveryId]);
    const row = (await deliveryRow(deliveryId))!;
    expect(row.status).toBe('delivered');
    expect(JSON.parse(row.warnings as string)).toContain('fields.note: left out, the CRM already has a value');
  });
});

describe('customer ids are never coerced', () => {
  const bodyWith = (raw: string) => `{"crm_id":${raw},"name":"x","mobile":"13900139000","utm_campaign":"spring"}`;
  for (const raw of [
    '-0',
    '0',
    '1e-400',
    '1E+2',
    '"0688346218203447296"',
    '"-688346218203447296"',
    '12345678901234567890',
    '"9223372036854775808"',
  ]) {
    it(`refuses ${raw} as a customer id: 422 invalid, the value named, no CRM call`, async () => {
      const { endpointId, productLineId } = await setupEndpoint();
      const res = await call(hook(endpointId, bodyWith(raw)));
      expect(res.status).toBe(422);
      const [row] = await rowsFor(endpointId);
      expect(row).toMatchObject({ status: 'invalid', reason: 'customer_unresolved' });
      expect(row!.message).toContain('not a customer id');
      expect((await crmState(productLineId)).requests).toHaveLength(0);
    });
  }
  it('accepts the largest int64 id, from a string and from a bare integer literal, digit for digit', async () => {
    const { endpointId, productLineId } = await setupEndpoint(
      {},
      { customers: [{ id: '9223372036854775807', name: 'max' }] },
    );
    expect((await call(hook(endpointId, bodyWith('9223372036854775807')))).status).toBe(200);
    expect((await crmState(productLineId)).requests[0]!.body).toMatchObject({ id: '9223372036854775807' });
  });
});

describe('answer first, log right after', () => {
  /** D1 that notes whether the Worker's answer had been returned when each write began. */
  function d1NotingWrites(answered: () => boolean) {
    const writes: boolean[] = [];
    const db = new Proxy(env.DB, {
      get(target, prop, receiver) {
        if (prop === 'batch') {
          return async (statements: D1PreparedStatement[]) => {
            writes.push(answered());
            return target.batch(statements);
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { db, writes };
  }

  it('a sync webhook’s row is written after its answer has been handed back, and is written', async () => {
    const { endpointId } = await setupEndpoint();
    const { default: worker } = await import('../src/index');
    const { createExecutionContext, waitOnExecutionContext } = await import('cloudflare:test');
    let answered = false;
    const noted = d1NotingWrites(() => answered);
    const ctx = createExecutionContext();
    const res = await worker.fetch(hook(endpointId, leadJson()), { ...env, DB: noted.db } as Env, ctx);
    answered = true;
    expect(res.status).toBe(200);
    expect(noted.writes).toEqual([]);
    await waitOnExecutionContext(ctx);
    expect(noted.writes).toEqual([true]);
    expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'delivered' });
  });

  it('an endpoint with an idempotency key keeps its in-flight row before the CRM call: a crash after the answer leaves the row for the cron', async () => {
    const { endpointId } = await setupEndpoint({ idempotencyKey: { header: 'webhook-id' } });
    await callWith(
      hook(endpointId, leadJson(), {
        headers: { 'content-type': 'application/json', 'webhook-id': crypto.randomUUID() },
      }),
      { DB: d1DyingAfterClaim() },
    ).catch(() => undefined);
    // the final write never happened (the Worker "stopped"), but the lead is not lost: it waits, visible, for the
    // re-drive
    expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'queued', mode: 'sync' });
  });
});
