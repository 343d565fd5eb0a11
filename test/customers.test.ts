/**
 * Finding the customer (lookup keys, import, learning, conflicts, unmatched) and updating safely (modes, owner,
 * unchanged).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { normaliseKey, parseCsv } from '../src/customers/keys';
import { planUpdate } from '../src/customers/update';
import {
  ADMIN,
  CUSTOMER_ID,
  MODULE_ID,
  call,
  callWith,
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

type Answer = { deliveryId: string; status: string; customerId?: string; error?: { code: string; message: string } };
const OTHER_ID = '688346218203447297';

const keysApi = (query: string, init: RequestInit = {}) =>
  call(
    new Request(`https://adapter.test/admin/customer-keys${query}`, {
      ...init,
      headers: { ...ADMIN, ...(init.headers as Record<string, string>) },
    }),
  );
const importJson = (moduleId: string, rows: unknown[]) =>
  keysApi(`?moduleId=${moduleId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(rows),
  });
const importCsv = (moduleId: string, csv: string) =>
  keysApi(`?moduleId=${moduleId}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });

/**
 * An endpoint whose payload may carry no CRM id: the customer is looked up by phone, then by lead id. Each test gets a
 * module of its own.
 */
async function lookupEndpoint(extra: Record<string, unknown> = {}) {
  const moduleId = snowflake();
  const config = {
    customerLookup: [
      { key: 'phone', value: 'mobile' },
      { key: 'clue_id', value: 'clue_id' },
    ],
    fields: { name: '$trim(name)', note: 'comment' },
    ...extra,
  };
  return { ...(await setupEndpoint(config as never, { moduleId })), moduleId };
}

const lead = (extra: Record<string, unknown>) => leadJson({ crm_id: undefined, ...extra });

describe('key normalisation', () => {
  it.each([
    ['phone', '+86 138-0013-8000', '13800138000'],
    ['phone', '008613800138000', '13800138000'],
    ['phone', '13800138000', '13800138000'],
    ['email', '  Wu.Jiu@Example.COM ', 'wu.jiu@example.com'],
    ['clue_id', ' 7234567890123456789 ', '7234567890123456789'],
    ['lead_ref', 'AbC', 'AbC'],
    ['phone', '---', null],
  ])('%s %j -> %j', (key, value, normal) => expect(normaliseKey(key, value)).toBe(normal));
  it('reads CSV with quotes, CRLF and a BOM', () => {
    expect(parseCsv('\ufeffcustomer_id,key,value\r\n1,note,"a, ""b"""\r\n')).toEqual([
      ['customer_id', 'key', 'value'],
      ['1', 'note', 'a, "b"'],
    ]);
  });
});

describe('finding the customer', () => {
  it("uses the payload's id first, without a lookup", async () => {
    const { endpointId, productLineId } = await lookupEndpoint();
    const res = await call(hook(endpointId, leadJson({ crm_id: CUSTOMER_ID })));
    expect(await res.json<Answer>()).toMatchObject({ status: 'delivered', customerId: CUSTOMER_ID });
    expect((await crmState(productLineId)).requests).toHaveLength(1);
  });

  it('finds the customer by an imported phone, whatever its spelling', async () => {
    const { endpointId, productLineId, moduleId } = await lookupEndpoint();
    const imported = await importJson(moduleId, [
      { customer_id: CUSTOMER_ID, key: 'phone', value: '+86 139 0013 9000' },
    ]);
    expect(await imported.json()).toMatchObject({ received: 1, added: 1, updated: 0, refused: 0 });
    const res = await call(hook(endpointId, lead({ mobile: '0086-139-0013-9000' })));
    expect(await res.json<Answer>()).toMatchObject({ status: 'delivered', customerId: CUSTOMER_ID });
    expect(JSON.parse((await crmState(productLineId)).requests[0]!.rawBody)).toMatchObject({
      id: CUSTOMER_ID,
      mid: moduleId,
    });
  });

  it("finds the customer by the ad platform's lead id when the phone is unknown", async () => {
    const { endpointId, moduleId } = await lookupEndpoint();
    await importCsv(moduleId, `customer_id,key,value\n${CUSTOMER_ID},clue_id,7234567890123456789\n`);
    const res = await call(hook(endpointId, lead({ mobile: '13700000000', clue_id: '7234567890123456789' })));
    expect(await res.json<Answer>()).toMatchObject({ status: 'delivered', customerId: CUSTOMER_ID });
  });

  it('learns phone and lead id from every successful CRM answer', async () => {
    const { endpointId, moduleId } = await lookupEndpoint({
      fields: { name: 'name', phone: '$cnMobile(mobile)', clue_id_unique: 'clue_id' },
    });
    await call(hook(endpointId, leadJson({ crm_id: CUSTOMER_ID, mobile: '13600136000', clue_id: 'lead-42' })));
    const learned = await (await keysApi(`?moduleId=${moduleId}&customerId=${CUSTOMER_ID}`)).json<{
      keys: Record<string, string>[];
    }>();
    expect(learned.keys.map((k) => [k.key, k.value, k.source]).sort()).toEqual([
      ['clue_id', 'lead-42', 'learned'],
      ['phone', '13600136000', 'learned'],
    ]);
    const res = await call(hook(endpointId, lead({ mobile: '+86 136 0013 6000' })));
    expect(await res.json<Answer>()).toMatchObject({ status: 'delivered', customerId: CUSTOMER_ID });
  });

  it('refuses to guess when two keys point to two customers: conflict, with both ids, and no CRM call', async () => {
    const { endpointId, productLineId, moduleId } = await lookupEndpoint();
    await importJson(moduleId, [
      { customer_id: CUSTOMER_ID, key: 'phone', value: '13800138000' },
      { customer_id: OTHER_ID, key: 'clue_id', value: 'lead-7' },
    ]);
    const res = await call(hook(endpointId, lead({ mobile: '13800138000', clue_id: 'lead-7' })));
    expect(res.status).toBe(422);
    const answer = await res.json<Answer>();
    expect(answer.error!.code).toBe('customer_unresolved');
    const row = (await deliveryRow(answer.deliveryId))!;
    expect(row).toMatchObject({ status: 'conflict', reason: 'customer_conflict' });
    expect(row.message).toContain(CUSTOMER_ID);
    expect(row.message).toContain(OTHER_ID);
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });

  it('ends unmatched, then delivers once the keys are imported and the unmatched are replayed', async () => {
    const { endpointId, productLineId, moduleId } = await lookupEndpoint();
    const res = await call(hook(endpointId, lead({ mobile: '13500135000' })));
    expect(res.status).toBe(422);
    const { deliveryId } = await res.json<Answer>();
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'unmatched', reason: 'customer_unresolved' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);

    await importCsv(moduleId, `customer_id,key,value\n${CUSTOMER_ID},phone,13500135000\n`);
    const queue = recordingQueue();
    const replay = await callWith(
      new Request('https://adapter.test/admin/deliveries/replay', {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: JSON.stringify({ endpoint: endpointId, status: 'unmatched' }),
      }),
      { DELIVERY_QUEUE: queue },
    );
    expect(await replay.json()).toMatchObject({ queued: 1 });
    await drive(queue.sent.map((m) => m.id));
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'delivered', customer_id: CUSTOMER_ID });
  });

  it('answers 202 in queue mode and ends unmatched in the consumer', async () => {
    const { endpointId } = await lookupEndpoint({ delivery: 'queue' });
    const queue = recordingQueue();
    const res = await callWith(hook(endpointId, lead({ mobile: '13400134000' })), { DELIVERY_QUEUE: queue });
    expect(res.status).toBe(202);
    await drive(queue.sent.map((m) => m.id));
    expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'unmatched', reason: 'customer_unresolved' });
  });
});

describe('customer-keys admin', () => {
  it('reports added, updated, unchanged and refused rows with reasons', async () => {
    const moduleId = snowflake();
    await importJson(moduleId, [
      { customer_id: CUSTOMER_ID, key: 'phone', value: '13800138000' },
      { customer_id: CUSTOMER_ID, key: 'email', value: 'a@b.cn' },
    ]);
    const res = await importCsv(
      moduleId,
      [
        'key,value,customer_id',
        `phone,13800138000,${OTHER_ID}`, // updated
        `email,A@B.cn,${CUSTOMER_ID}`, // unchanged (e-mail is case-insensitive)
        `clue_id,c-1,${CUSTOMER_ID}`, // added
        `phone,13800138001,not-an-id`,
        `Phone!,x,${CUSTOMER_ID}`,
        `phone,,${CUSTOMER_ID}`,
      ].join('\n'),
    );
    expect(await res.json()).toEqual({
      received: 6,
      added: 1,
      updated: 1,
      unchanged: 1,
      refused: 3,
      reasons: {
        'customer_id is not a decimal id': 1,
        'key is not a valid key name': 1,
        'value is empty (after normalising)': 1,
      },
      examples: [
        { row: 4, code: 'bad_customer_id', reason: 'customer_id is not a decimal id' },
        { row: 5, code: 'bad_key', reason: 'key is not a valid key name' },
        { row: 6, code: 'empty_value', reason: 'value is empty (after normalising)' },
      ],
    });
    const found = await (await keysApi(`?moduleId=${moduleId}&key=phone&value=%2B86%20138%200013%208000`)).json<{
      keys: Record<string, string>[];
    }>();
    expect(found.keys).toEqual([
      expect.objectContaining({ customerId: OTHER_ID, key: 'phone', value: '13800138000', source: 'import' }),
    ]);
    expect((await keysApi(`?moduleId=${moduleId}&key=phone&value=13800138000`, { method: 'DELETE' })).status).toBe(204);
    expect((await keysApi(`?moduleId=${moduleId}&key=phone&value=13800138000`, { method: 'DELETE' })).status).toBe(404);
  });

  it('reports a duplicate on the row that lost (naming the one that won), and stores the winner', async () => {
    const moduleId = snowflake();
    const res = await importCsv(
      moduleId,
      ['customer_id,key,value', `${CUSTOMER_ID},clue_id,c-9`, `${OTHER_ID},clue_id,c-9`].join('\n'),
    );
    expect(await res.json()).toMatchObject({ added: 1, refused: 1, examples: [{ row: 1, code: 'replaced', by: 2 }] });
    const found = await (await keysApi(`?moduleId=${moduleId}&key=clue_id&value=c-9`)).json<{
      keys: Record<string, string>[];
    }>();
    expect(found.keys).toEqual([expect.objectContaining({ customerId: OTHER_ID })]);
  });

  it('refuses a value past 256 characters with a sentence, and imports 10,000 rows of long values (past 2 MB of JSON) without a 500', async () => {
    const moduleId = snowflake();
    const long = await (
      await importJson(moduleId, [{ customer_id: CUSTOMER_ID, key: 'clue_id', value: 'v'.repeat(257) }])
    ).json();
    expect(long).toMatchObject({
      refused: 1,
      examples: [{ row: 1, code: 'value_too_long', reason: 'value is longer than 256 characters' }],
    });
    const rows = Array.from({ length: 10_000 }, (_, i) => ({
      customer_id: CUSTOMER_ID,
      key: 'clue_id',
      value: `${String(i).padStart(6, '0')}${'长'.repeat(240)}`,
    }));
    expect(JSON.stringify(rows).length).toBeGreaterThan(2_000_000);
    const res = await importJson(moduleId, rows);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ received: 10_000, added: 10_000, refused: 0 });
  });

  it('refuses a CSV without the header, and an import without a module', async () => {
    expect((await importCsv(snowflake(), 'a,b,c\n1,2,3')).status).toBe(400);
    const res = await keysApi('', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    expect(res.status).toBe(400);
  });

  it('imports 100,000 rows in one request', { timeout: 120_000 }, async () => {
    const moduleId = snowflake();
    const lines = ['customer_id,key,value'];
    for (let i = 0; i < 100_000; i++)
      lines.push(`${7_000_000_000_000_000n + BigInt(i)},phone,1${String(3_000_000_000 + i)}`);
    const started = performance.now();
    const res = await importCsv(moduleId, lines.join('\n'));
    const ms = performance.now() - started;
    expect(await res.json()).toMatchObject({ received: 100_000, added: 100_000, refused: 0 });
    console.log(`import of 100,000 customer keys: ${Math.round(ms)} ms`);
    const count = await env.DB.prepare('SELECT COUNT(*) AS n FROM customer_keys WHERE module_id = ?')
      .bind(moduleId)
      .first<{ n: number }>();
    expect(count!.n).toBe(100_000);
  });
});

describe('updating safely', () => {
  const SALES = '400000000000000002';
  const customer = {
    id: CUSTOMER_ID,
    name: '旧名字',
    phone: '13000000000',
    note: '',
    textarea_1680158327352: '销售备注',
    source: '514465485002113024',
    own_id: SALES,
  };
  const body = (extra: Record<string, unknown> = {}) =>
    leadJson({ name: '新名字', mobile: '13900139000', comment: '想了解价格', ...extra });
  const fields = { name: 'name', phone: '$cnMobile(mobile)', note: 'comment' };

  async function run(
    update: Record<string, unknown>,
    mode: 'merge' | 'replace' | 'reassign-owner',
    payload = body(),
    extraFields = {},
  ) {
    const { endpointId, productLineId } = await setupEndpoint(
      { update, fields: { ...fields, ...extraFields } } as never,
      { mode, customers: [customer] },
    );
    const res = await call(hook(endpointId, payload));
    const state = await crmState(productLineId);
    const updates = state.requests.filter((r) => r.path === '/api/moduleData/update');
    return {
      res,
      answer: await res.json<Answer>(),
      state,
      updates,
      after: state.customers[0] as Record<string, any>,
      endpointId,
    };
  }

  it('fill-empty keeps the phone the CRM has while filling the empty note', async () => {
    const { answer, updates, after } = await run({ mode: 'fill-empty' }, 'merge');
    expect(answer.status).toBe('delivered');
    expect(JSON.parse(updates[0]!.rawBody)).toEqual({
      mid: MODULE_ID,
      id: CUSTOMER_ID,
      note: '想了解价格',
      own_id: SALES,
    });
    expect(after).toMatchObject({ phone: '13000000000', name: '旧名字', note: '想了解价格' });
  });

  it('fill-empty overwrites a field that says overwrite: true', async () => {
    const { updates } = await run({ mode: 'fill-empty' }, 'merge', body(), {
      phone: { from: '$cnMobile(mobile)', overwrite: true },
    });
    expect(JSON.parse(updates[0]!.rawBody)).toMatchObject({ phone: '13900139000', note: '想了解价格' });
  });

  it('patch leaves a field that says overwrite: false when the CRM has a value', async () => {
    const { updates } = await run({ mode: 'patch' }, 'merge', body(), { name: { from: 'name', overwrite: false } });
    expect(JSON.parse(updates[0]!.rawBody)).toEqual({
      mid: MODULE_ID,
      id: CUSTOMER_ID,
      phone: '13900139000',
      note: '想了解价格',
    });
  });

  it('skipUnchanged makes no update call when every mapped value is already there, and logs unchanged', async () => {
    const { answer, updates, state, endpointId } = await run(
      { skipUnchanged: true },
      'merge',
      body({ name: '旧名字', mobile: '+86 130 0000 0000', comment: '' }),
    );
    expect(answer.status).toBe('unchanged');
    expect(updates).toHaveLength(0);
    expect(state.requests.map((r) => r.path)).toEqual(['/api/crm/client/detail']);
    expect((await rowsFor(endpointId))[0]).toMatchObject({
      status: 'unchanged',
      reason: 'unchanged',
      customer_id: CUSTOMER_ID,
    });
  });

  it('skipUnchanged still updates when one value differs', async () => {
    const { answer, updates } = await run({ skipUnchanged: true }, 'merge', body({ name: '旧名字' }));
    expect(answer.status).toBe('delivered');
    expect(updates).toHaveLength(1);
  });

  it('merge sends the whole record, references as ids, with the mapped fields laid over it', async () => {
    const { updates } = await run({ mode: 'merge' }, 'merge');
    expect(JSON.parse(updates[0]!.rawBody)).toEqual({
      mid: MODULE_ID,
      id: CUSTOMER_ID,
      name: '新名字',
      phone: '13900139000',
      note: '想了解价格',
      textarea_1680158327352: '销售备注',
      source: '514465485002113024',
      own_id: SALES,
    });
  });

  // Each update mode against each behaviour the CRM might have: only `merge` keeps unmapped fields under a
  // replacing CRM, and keepOwner (on under fill-empty and merge) keeps the owner under one that reassigns.
  const matrix: [string, 'merge' | 'replace' | 'reassign-owner', { keepsUnmapped: boolean; keepsOwner: boolean }][] = [
    ['patch', 'merge', { keepsUnmapped: true, keepsOwner: true }],
    ['patch', 'replace', { keepsUnmapped: false, keepsOwner: true }],
    ['patch', 'reassign-owner', { keepsUnmapped: true, keepsOwner: false }],
    ['fill-empty', 'merge', { keepsUnmapped: true, keepsOwner: true }],
    ['fill-empty', 'replace', { keepsUnmapped: false, keepsOwner: true }],
    ['fill-empty', 'reassign-owner', { keepsUnmapped: true, keepsOwner: true }],
    ['merge', 'merge', { keepsUnmapped: true, keepsOwner: true }],
    ['merge', 'replace', { keepsUnmapped: true, keepsOwner: true }],
    ['merge', 'reassign-owner', { keepsUnmapped: true, keepsOwner: true }],
  ];
  for (const [updateMode, crmMode, expected] of matrix) {
    it(`update.mode ${updateMode} against a CRM that does ${crmMode}: unmapped fields ${expected.keepsUnmapped ? 'kept' : 'blanked'}, owner ${expected.keepsOwner ? 'kept' : 'lost'}`, async () => {
      const { answer, after } = await run({ mode: updateMode }, crmMode);
      expect(answer.status).toBe('delivered');
      expect(after.textarea_1680158327352 ?? null).toBe(expected.keepsUnmapped ? '销售备注' : null);
      expect(after.source?.id ?? null).toBe(expected.keepsUnmapped ? '514465485002113024' : null);
      expect(after.own_id.id).toBe(expected.keepsOwner ? SALES : '400000000000000001');
    });
  }
  it('patch with keepOwner: true keeps the owner under a CRM that reassigns', async () => {
    const { after } = await run({ mode: 'patch', keepOwner: true }, 'reassign-owner');
    expect(after.own_id.id).toBe(SALES);
  });

  it('plans the update from normalised values: references by id, [] and null and "" as empty', () => {
    const current = {
      name: '',
      source: { id: '514465485002113024', name: '官网表单' },
      select_1680162080347: [],
      note: null,
      own_id: { id: SALES, name: '销售小王' },
    };
    expect(
      planUpdate(
        { mode: 'fill-empty', skipUnchanged: false },
        { name: 'A', note: 'n', select_1680162080347: '484020435193692160', source: '514465485002113025' },
        new Map(),
        current,
      ),
    ).toEqual({
      kind: 'send',
      body: { name: 'A', note: 'n', select_1680162080347: '484020435193692160', own_id: SALES },
      skipped: ['source'],
    });
    expect(
      planUpdate({ mode: 'patch', skipUnchanged: true }, { source: '514465485002113024' }, new Map(), current),
    ).toEqual({ kind: 'unchanged' });
  });
});
