/**
 * The stand-in CRM itself: later work proves data protection against these modes, so they must behave as documented.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CUSTOMER_ID, MODULE_ID, crmState, crmTenant } from './helpers';

const customer = {
  id: CUSTOMER_ID,
  name: '旧名字',
  phone: '13000000000',
  note: '销售写的备注',
  own_id: '400000000000000002',
  select_1680162080347: '484020435193692160',
};

function update(productLineId: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${env.CRM_BASE_URL}/api/moduleData/update`, {
    method: 'POST',
    headers: {
      authorization: 'Bearer test-crm-token',
      'default-product-id': productLineId,
      'content-type': 'application/json',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
type Envelope = { code: number; message: string; data: { item: Record<string, any> } | null };

describe('update modes', () => {
  it('merge keeps omitted fields', async () => {
    const pid = await crmTenant({ mode: 'merge', customers: [customer] });
    const { code, data } = await (
      await update(pid, { mid: MODULE_ID, id: CUSTOMER_ID, name: '新名字' })
    ).json<Envelope>();
    expect(code).toBe(200);
    expect(data!.item).toMatchObject({
      id: CUSTOMER_ID,
      name: '新名字',
      note: '销售写的备注',
      phone: '13000000000',
      own_id: { id: '400000000000000002' },
    });
  });

  it('replace blanks omitted fields (a never-set or blanked select comes back as [])', async () => {
    const pid = await crmTenant({ mode: 'replace', customers: [customer] });
    const { data } = await (await update(pid, { mid: MODULE_ID, id: CUSTOMER_ID, name: '新名字' })).json<Envelope>();
    expect(data!.item).toMatchObject({
      name: '新名字',
      note: null,
      phone: null,
      select_1680162080347: [],
      own_id: { id: '400000000000000002' },
    });
  });

  it('reassign-owner hands the customer to the API user when own_id is omitted', async () => {
    const pid = await crmTenant({ mode: 'reassign-owner', customers: [customer] });
    const { data } = await (await update(pid, { mid: MODULE_ID, id: CUSTOMER_ID, name: '新名字' })).json<Envelope>();
    expect(data!.item).toMatchObject({
      own_id: { id: '400000000000000001' },
      last_own_id: { id: '400000000000000002' },
    });
    const kept = await (
      await update(pid, { mid: MODULE_ID, id: CUSTOMER_ID, own_id: '400000000000000003' })
    ).json<Envelope>();
    expect(kept.data!.item.own_id.id).toBe('400000000000000003');
  });

  it('expands references and answers the detail call with the same item', async () => {
    const pid = await crmTenant({ customers: [{ ...customer, source: '514465485002113024' }] });
    const res = await fetch(`${env.CRM_BASE_URL}/api/crm/client/detail`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer test-crm-token',
        'default-product-id': pid,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: `mid=${MODULE_ID}&id=${CUSTOMER_ID}`,
    });
    const { code, data } = await res.json<Envelope>();
    expect(code).toBe(200);
    expect(data!.item.source).toMatchObject({ id: '514465485002113024', name: '官网表单' });
  });
});

describe('refusals', () => {
  const cases: [string, unknown, Record<string, string>, number, number][] = [
    ['a wrong token', { mid: MODULE_ID, id: CUSTOMER_ID }, { authorization: 'Bearer nope' }, 401, 401],
    ['a missing mid', { id: CUSTOMER_ID }, {}, 200, 422],
    ['a missing id', { mid: MODULE_ID }, {}, 200, 422],
    ['an id sent as a JSON number', `{"mid":"${MODULE_ID}","id":${CUSTOMER_ID}}`, {}, 200, 422],
    ['an unknown customer', { mid: MODULE_ID, id: '700000000000000001' }, {}, 200, 404],
    ['another module', { mid: '1', id: CUSTOMER_ID }, {}, 200, 404],
    ['an unknown product line', { mid: MODULE_ID, id: CUSTOMER_ID }, { 'default-product-id': '1' }, 200, 403],
  ];
  for (const [name, body, headers, http, code] of cases) {
    it(`refuses ${name} with code ${code}`, async () => {
      const pid = await crmTenant();
      const res = await update(pid, body, headers);
      expect(res.status).toBe(http);
      const envelope = await res.json<Envelope>();
      expect(envelope.code).toBe(code);
      expect(envelope.message).not.toBe('');
      expect((await crmState(pid)).customers[0]).toMatchObject({ name: '旧名字' });
    });
  }
});
