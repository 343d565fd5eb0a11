/**
 * New leads reach the CRM, exactly once (issue "Find or create"): with `onUnmatched: "create"` a lead nobody matches is
 * created through CRM_CREATE_PATH (the stand-in's `/api/moduleData/add`) in its first lookup key's line, its keys
 * learned, and every other webhook of that person updates the created customer; a create whose outcome is unknown is
 * never repeated on its own, and a person answers it in the console.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CATALOGUES } from '../src/console/i18n';
import {
  ADMIN,
  call,
  callWith,
  type ConsoleSession,
  consoleForm,
  consoleSignIn,
  crmFailures,
  crmState,
  deliveryRow,
  hook,
  MODULE_ID,
  recordingQueue,
  rowsFor,
  setupEndpoint,
  snowflake,
} from './helpers';
import { settle } from './settle';

const BASE = 'https://adapter.test';
const CREATE = '/api/moduleData/add';
/** An endpoint that finds customers by phone (no customer id in the payload), creating those it cannot find. */
const creating = (extra: Record<string, unknown> = {}) =>
  setupEndpoint({
    customerId: undefined,
    customerLookup: [{ key: 'phone', value: '$cnMobile(mobile)' }],
    onUnmatched: 'create',
    fields: { name: '$trim(name)', phone: '$cnMobile(mobile)', note: { from: 'comment' } },
    ...extra,
  } as never);
const lead = (mobile: string, comment: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name: ' 新客户 ', mobile, comment, ...extra });
const newPhone = () => `13${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
const creates = async (productLineId: string) =>
  (await crmState(productLineId)).requests.filter((r) => r.path === CREATE);
const updates = async (productLineId: string) =>
  (await crmState(productLineId)).requests.filter((r) => r.path === '/api/moduleData/update');

describe('find, else create', () => {
  it('eight concurrent webhooks for one new phone: exactly one create, seven updates of the created id, in order', async () => {
    const { endpointId, productLineId } = await creating();
    const phone = newPhone();
    const queue = recordingQueue();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        callWith(hook(endpointId, lead(phone, `第 ${i + 1} 次`)), { DELIVERY_QUEUE: queue }).then((r) =>
          r.json<{ status: string; deliveryId: string }>(),
        ),
      ),
    );
    for (const a of answers) expect(a.status).toBe('queued');
    await settle(endpointId, queue);
    const made = await creates(productLineId);
    expect(made).toHaveLength(1);
    const rows = await rowsFor(endpointId);
    const created = rows.filter((r) => r.reason === 'customer_created');
    expect(created).toHaveLength(1);
    const id = created[0]!.customer_id as string;
    expect(id).toMatch(/^\d{18}$/);
    expect(rows.every((r) => r.status === 'delivered' && r.customer_id === id)).toBe(true);
    const updated = await updates(productLineId);
    expect(updated).toHaveLength(7);
    for (const u of updated) expect(u.body).toMatchObject({ id });
    // the last webhook received (the greatest id: ids sort by receipt) is the value the CRM ends with
    const last = answers.reduce((a, b, i) => (b.deliveryId > answers[a]!.deliveryId ? i : a), 0);
    const customer = (await crmState(productLineId)).customers.find((c) => c.id === id)!;
    expect(customer).toMatchObject({ phone, note: `第 ${last + 1} 次` });
    // and the updates reached the CRM in receipt order
    const order = [...answers.keys()]
      .sort((a, b) => (answers[a]!.deliveryId < answers[b]!.deliveryId ? -1 : 1))
      .map((i) => `第 ${i + 1} 次`);
    const sent = [...made, ...updated].map((r) => (r.body as { note: string }).note);
    expect(sent).toEqual(order);
  });

  it('a later webhook of that person is a plain update (sync, 200), found by the key learned at creation', async () => {
    const { endpointId, productLineId } = await creating();
    const phone = newPhone();
    const queue = recordingQueue();
    await callWith(hook(endpointId, lead(phone, '第一次')), { DELIVERY_QUEUE: queue });
    await settle(endpointId, queue);
    const later = await call(hook(endpointId, lead(`+86 ${phone}`, '第二次')));
    expect(later.status).toBe(200);
    const answer = await later.json<{ status: string; customerId: string }>();
    expect(answer.status).toBe('delivered');
    expect(await creates(productLineId)).toHaveLength(1);
    expect((await updates(productLineId))[0]!.body).toMatchObject({ id: answer.customerId, note: '第二次' });
  });

  it('a create sends the mapped fields (mid, no id) and the row says created, with the new id', async () => {
    const { endpointId, productLineId } = await creating();
    const phone = newPhone();
    const queue = recordingQueue();
    const { deliveryId } = await (
      await callWith(hook(endpointId, lead(phone, '想了解价格')), { DELIVERY_QUEUE: queue })
    ).json<{ deliveryId: string }>();
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'queued', reason: 'create_queued' });
    await settle(endpointId, queue);
    const [made] = await creates(productLineId);
    expect(made!.body).toEqual({ mid: MODULE_ID, name: '新客户', phone, note: '想了解价格' });
    const row = (await deliveryRow(deliveryId))!;
    expect(row).toMatchObject({ status: 'delivered', reason: 'customer_created', create_state: 'created' });
    expect(String(row.message)).toContain(`created customer ${row.customer_id}`);
  });
});

describe('safe refusals', () => {
  it('two keys of one lead pointing to two customers end conflict, never a create', async () => {
    const { endpointId, productLineId } = await creating({
      customerLookup: [
        { key: 'phone', value: '$cnMobile(mobile)' },
        { key: 'clue_id', value: 'clue' },
      ],
    });
    const phone = newPhone();
    await call(
      new Request(`${BASE}/admin/customer-keys?moduleId=${MODULE_ID}`, {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: JSON.stringify([
          { customer_id: snowflake(), key: 'phone', value: phone },
          { customer_id: snowflake(), key: 'clue_id', value: `c-${phone}` },
        ]),
      }),
    );
    const res = await call(hook(endpointId, lead(phone, 'x', { clue: `c-${phone}` })));
    expect(res.status).toBe(422);
    expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'conflict' });
    expect(await creates(productLineId)).toHaveLength(0);
  });

  it('a lead with no usable key is never created blind: unmatched, saying which key is missing', async () => {
    const { endpointId, productLineId } = await creating();
    const res = await call(hook(endpointId, JSON.stringify({ name: '没有电话' })));
    expect(res.status).toBe(422);
    const [row] = await rowsFor(endpointId);
    expect(row).toMatchObject({ status: 'unmatched' });
    expect(String(row!.message)).toContain('no lookup key had a value');
    expect(String(row!.message)).toContain('never created blind');
    expect(await creates(productLineId)).toHaveLength(0);
  });

  it('a create refused by the CRM keeps its message on the row, with no retry storm', async () => {
    const { endpointId, productLineId } = await creating();
    await crmFailures(productLineId, [{ code: 422, message: '手机号格式错误' }]);
    const queue = recordingQueue();
    const { deliveryId } = await (
      await callWith(hook(endpointId, lead(newPhone(), 'x')), { DELIVERY_QUEUE: queue })
    ).json<{ deliveryId: string }>();
    await settle(endpointId, queue);
    const row = (await deliveryRow(deliveryId))!;
    expect(row).toMatchObject({ status: 'failed', reason: 'crm_rejected', crm_message: '手机号格式错误' });
    expect((await crmState(productLineId)).requests).toHaveLength(1);
  });

  it('onUnmatched "keep" (the default) and an empty CRM_CREATE_PATH behave as before: unmatched, nothing created', async () => {
    const keep = await setupEndpoint({
      customerId: undefined,
      customerLookup: [{ key: 'phone', value: '$cnMobile(mobile)' }],
      fields: { name: '$trim(name)', phone: '$cnMobile(mobile)' },
    } as never);
    const res = await call(hook(keep.endpointId, lead(newPhone(), 'x')));
    expect(res.status).toBe(422);
    expect((await rowsFor(keep.endpointId))[0]).toMatchObject({ status: 'unmatched' });
    const on = await creating();
    const off = await callWith(hook(on.endpointId, lead(newPhone(), 'x')), { CRM_CREATE_PATH: '' });
    expect(off.status).toBe(422);
    const [row] = await rowsFor(on.endpointId);
    expect(row).toMatchObject({ status: 'unmatched' });
    expect(String(row!.message)).toContain('CRM_CREATE_PATH is not set');
    expect(await creates(keep.productLineId)).toHaveLength(0);
    expect(await creates(on.productLineId)).toHaveLength(0);
  });
});

describe('a create whose answer never came', () => {
  /** `late`: the CRM creates it, but answers after the adapter's timeout (else it never answers). */
  async function timedOut(late = false) {
    const setup = await creating();
    await crmFailures(setup.productLineId, [late ? { delayMs: 2_500 } : { hang: true }]);
    const phone = newPhone();
    const queue = recordingQueue();
    const { deliveryId } = await (
      await callWith(hook(setup.endpointId, lead(phone, '超时')), { DELIVERY_QUEUE: queue })
    ).json<{ deliveryId: string }>();
    await settle(setup.endpointId, queue);
    return { ...setup, phone, deliveryId, queue };
  }
  const signIn = consoleSignIn;
  const post = (path: string, s: ConsoleSession, fields: Record<string, string>) => call(consoleForm(path, s, fields));

  it('is not made again: the row asks for a check, with the keys to search for; a replay of everything does not create', async () => {
    const { endpointId, productLineId, phone, deliveryId, queue } = await timedOut();
    const row = (await deliveryRow(deliveryId))!;
    expect(row).toMatchObject({ status: 'failed', reason: 'create_unconfirmed', create_state: 'unconfirmed' });
    expect(String(row.message)).toContain(`search the CRM for phone ${phone}`);
    expect(await creates(productLineId)).toHaveLength(1);
    await call(
      new Request(`${BASE}/admin/deliveries/replay`, {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: '{"status":"failed"}',
      }),
    );
    await settle(endpointId, queue);
    expect(await creates(productLineId)).toHaveLength(1);
    expect(await deliveryRow(deliveryId)).toMatchObject({ reason: 'create_unconfirmed' });
  });

  it('"it was created: this is its id" learns the key and delivers to it as an update', async () => {
    const { endpointId, productLineId, phone, deliveryId, queue } = await timedOut(true);
    expect(await deliveryRow(deliveryId)).toMatchObject({ reason: 'create_unconfirmed' });
    const s = await signIn();
    const page = await (
      await call(
        new Request(`${BASE}/console/deliveries/${deliveryId}`, {
          headers: { cookie: s.cookie, 'accept-language': 'zh-CN' },
        }),
      )
    ).text();
    const c = CATALOGUES.zh.deliveries.create;
    expect(page).toContain(c.wasCreated);
    expect(page).toContain(c.wasNot);
    // the stand-in did create it, after the adapter stopped waiting: the person finds it in the CRM
    await expect
      .poll(async () => (await crmState(productLineId)).customers.some((x) => x.phone === phone), {
        timeout: 5_000,
        interval: 100,
      })
      .toBe(true);
    const existing = (await crmState(productLineId)).customers.find((x) => x.phone === phone)!;
    const res = await post(`/console/deliveries/${deliveryId}/created`, s, { customerId: existing.id as string });
    expect(res.status).toBe(303);
    await settle(endpointId, queue);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'delivered', customer_id: existing.id });
    expect(await creates(productLineId)).toHaveLength(1);
    expect((await updates(productLineId)).at(-1)!.body).toMatchObject({ id: existing.id, note: '超时' });
    const key = await env.DB.prepare(
      'SELECT customer_id FROM customer_keys WHERE module_id = ? AND key = ? AND value = ?',
    )
      .bind(MODULE_ID, 'phone', phone)
      .first();
    expect(key).toMatchObject({ customer_id: existing.id });
  });

  it('"it was not: create now" creates it once', async () => {
    const { endpointId, productLineId, deliveryId, queue } = await timedOut();
    const s = await signIn();
    const res = await post(`/console/deliveries/${deliveryId}/create`, s, {});
    expect(res.status).toBe(303);
    await settle(endpointId, queue);
    expect(await creates(productLineId)).toHaveLength(2);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'delivered', reason: 'customer_created' });
  });
});

describe('the preview of a new lead', () => {
  it('shows the create call and its body (no id), so a value map can be checked before going live; nothing is sent', async () => {
    const { endpointId, productLineId } = await creating();
    const phone = newPhone();
    const res = await call(
      new Request(`${BASE}/admin/endpoints/${endpointId}/preview`, {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: lead(phone, '预览'),
      }),
    );
    const preview = await res.json<{ outcome: string; crm: { url: string; body: Record<string, unknown> } }>();
    expect(preview.outcome).toBe('would_create');
    expect(preview.crm.url.endsWith(CREATE)).toBe(true);
    expect(preview.crm.body).toEqual({ mid: MODULE_ID, name: '新客户', phone, note: '预览' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
});
