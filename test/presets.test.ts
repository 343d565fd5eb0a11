/**
 * Sender presets, from the raw request as each sender sends it (test/fixtures/, byte for byte, signed with
 * the fixture secret) to the exact CRM body. Fixtures with timestamps run with the clock fixed to their time.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import google from './fixtures/google-ads-lead-form.json';
import htmlForm from './fixtures/html-form.json';
import jiandaoyun from './fixtures/jiandaoyun.json';
import jinshuju from './fixtures/jinshuju.json';
import oceanChallenge from './fixtures/ocean-engine-challenge.json';
import oceanLead from './fixtures/ocean-engine-lead.json';
import tally from './fixtures/tally.json';
import typeform from './fixtures/typeform.json';
import webflow from './fixtures/webflow.json';
import xiaohongshu from './fixtures/xiaohongshu.json';
import zapier from './fixtures/zapier-form.json';
import { ADMIN, CUSTOMER_ID, call, callWith, crmState, crmTenant, deliveryRow, drive, putEndpoint, recordingQueue, rowsFor, snowflake, unique } from './helpers';

type Fixture = { path?: string; headers: Record<string, string>; body: string };
type Answer = { deliveryId: string; status: string };
const SECRET = 'TEST_HMAC_SECRET'; // holds the fixture secret

afterEach(() => vi.useRealTimers());

function send(endpointId: string, f: Fixture, extra: { path?: string; body?: string; headers?: Record<string, string> } = {}) {
  return new Request(`https://adapter.test/hooks/${endpointId}${extra.path ?? f.path ?? ''}`, {
    method: 'POST',
    headers: { ...f.headers, ...extra.headers },
    body: extra.body ?? f.body,
  });
}

/** An endpoint with a preset in a module of its own; `phone` is imported as a key of CUSTOMER_ID when given. */
async function presetEndpoint(config: Record<string, unknown>, phone?: string) {
  const moduleId = snowflake();
  const productLineId = await crmTenant({ moduleId });
  const endpointId = unique('preset');
  const put = await putEndpoint(endpointId, { name: 'preset test', crm: { moduleId, productLineId }, ...config });
  if (put.status !== 201) throw new Error(`PUT endpoint: ${put.status} ${await put.text()}`);
  const ids = { endpointId, productLineId };
  if (phone) {
    const res = await call(
      new Request(`https://adapter.test/admin/customer-keys?moduleId=${moduleId}`, {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: JSON.stringify([{ customer_id: CUSTOMER_ID, key: 'phone', value: phone }]),
      }),
    );
    expect(res.status).toBe(200);
  }
  return { ...ids, moduleId };
}

async function crmBody(productLineId: string) {
  const updates = (await crmState(productLineId)).requests.filter((r) => r.path === '/api/moduleData/update');
  expect(updates).toHaveLength(1);
  return JSON.parse(updates[0]!.rawBody);
}

describe('google-ads-lead-form', () => {
  const config = {
    preset: 'google-ads-lead-form',
    verify: { secret: SECRET },
    fields: { name: 'user_column_data.FULL_NAME', phone: '$cnMobile(user_column_data.PHONE_NUMBER)', note: 'user_column_data.CITY' },
  };
  it('checks google_key, finds the customer by phone, maps columns by id, and dedupes by lead_id', async () => {
    const { endpointId, productLineId, moduleId } = await presetEndpoint(config, '13800138000');
    const res = await call(send(endpointId, google));
    expect(await res.json()).toMatchObject({ status: 'delivered', customerId: CUSTOMER_ID });
    expect(await crmBody(productLineId)).toEqual({ mid: moduleId, id: CUSTOMER_ID, name: '王小明', phone: '13800138000', note: '杭州' });
    const again = await (await call(send(endpointId, google))).json<Answer>();
    expect(again.status).toBe('duplicate');
    expect((await rowsFor(endpointId))[0]!.payload).not.toContain('fixture-secret-2f9c');
  });
  it('refuses a wrong google_key', async () => {
    const { endpointId, productLineId } = await presetEndpoint(config, '13800138000');
    const res = await call(send(endpointId, google, { body: google.body.replace('"google_key":"fixture-secret-2f9c"', '"google_key":"nope"') }));
    expect(res.status).toBe(401);
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('drops test leads with skipWhen', async () => {
    const { endpointId, productLineId } = await presetEndpoint({ ...config, skipWhen: 'is_test' }, '13800138000');
    const res = await call(send(endpointId, google, { body: google.body.replace('"is_test":false', '"is_test":true') }));
    expect(await res.json()).toMatchObject({ status: 'skipped' });
    expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'skipped', reason: 'skip_when' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
});

describe('typeform', () => {
  it('keys answers by ref, takes each value from its type, keeps hidden fields', async () => {
    const { endpointId, productLineId, moduleId } = await presetEndpoint({
      preset: 'typeform',
      verify: { secret: SECRET },
      fields: {
        name: 'answers.name',
        phone: '$cnMobile(answers.phone)',
        note: 'answers.course',
        input_1680509561692: 'hidden.utm_campaign',
        number_1700000000001: 'answers.budget',
      },
    });
    const res = await call(send(endpointId, typeform));
    expect(res.status).toBe(200);
    expect(await crmBody(productLineId)).toEqual({
      mid: moduleId,
      id: CUSTOMER_ID,
      name: '李雷',
      phone: '13900139000',
      note: '少儿编程',
      input_1680509561692: 'spring-sale',
      number_1700000000001: 5000,
    });
  });
});

describe('tally', () => {
  it('keys fields by label and by key, with option texts', async () => {
    const { endpointId, productLineId, moduleId } = await presetEndpoint(
      {
        preset: 'tally',
        verify: { secret: SECRET },
        customerLookup: [{ key: 'phone', value: 'fields.Phone' }],
        fields: { name: 'fields.Name', phone: '$cnMobile(fields.question_w4Q9Lo)', note: '$join(fields.Plan, ",")' },
      },
      '13700137000',
    );
    await call(send(endpointId, tally));
    expect(await crmBody(productLineId)).toEqual({ mid: moduleId, id: CUSTOMER_ID, name: 'Han Meimei', phone: '13700137000', note: 'Pro' });
  });
});

describe('webflow', () => {
  it('verifies the timestamped signature and keys form data by label', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2025-11-20T08:20:30Z'));
    const { endpointId, productLineId, moduleId } = await presetEndpoint(
      {
        preset: 'webflow',
        verify: { secret: SECRET },
        customerLookup: [{ key: 'phone', value: '$string(data.`Phone Number`)' }],
        fields: { name: 'data.`First Name`', note: 'data.Company' },
      },
      '13600136000',
    );
    const res = await call(send(endpointId, webflow));
    expect(res.status).toBe(200);
    expect(await crmBody(productLineId)).toEqual({ mid: moduleId, id: CUSTOMER_ID, name: 'Ada', note: 'Example Ltd' });
  });
  it('refuses the same request ten minutes later (stale timestamp)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2025-11-20T08:30:30Z'));
    const { endpointId } = await presetEndpoint({ preset: 'webflow', verify: { secret: SECRET }, customerId: "'1'", fields: {} });
    expect((await call(send(endpointId, webflow))).status).toBe(401);
    expect((await rowsFor(endpointId))[0]).toMatchObject({ reason: 'stale_timestamp' });
  });
});

describe('jinshuju', () => {
  it('answers 200 at once (queued; Jinshuju wants 200), aliases field1/field_1, joins multi-choice and reads the address', async () => {
    const { endpointId, productLineId, moduleId } = await presetEndpoint(
      {
        preset: 'jinshuju',
        verify: { secret: 'TEST_FORM_TOKEN' },
        customerLookup: [{ key: 'phone', value: 'entry.field2' }],
        fields: { name: 'entry.field1', phone: 'entry.field_2', note: '$join(entry.field_3, "、")', input_1680509561692: 'entry.field_4_text' },
      },
      '13700137000',
    );
    const queue = recordingQueue();
    const res = await callWith(send(endpointId, jinshuju, { path: '?token=form-token-2f9c' }), { DELIVERY_QUEUE: queue });
    expect(res.status).toBe(200);
    expect(await res.clone().json()).toMatchObject({ status: 'queued' });
    await drive(queue.sent.map((m) => m.id));
    expect(await crmBody(productLineId)).toEqual({
      mid: moduleId,
      id: CUSTOMER_ID,
      name: '韩梅梅',
      phone: '13700137000',
      note: 'A 套餐、C 套餐',
      input_1680509561692: '浙江省杭州市西湖区文三路 1 号',
    });
    const again = await (await callWith(send(endpointId, jinshuju, { path: '?token=form-token-2f9c' }), { DELIVERY_QUEUE: queue })).json<Answer>();
    expect(again.status).toBe('duplicate');
  });
});

describe('jiandaoyun', () => {
  const config = {
    preset: 'jiandaoyun',
    verify: { secret: SECRET },
    customerLookup: [{ key: 'phone', value: 'data.widget1700000000001' }],
    fields: { name: 'data.customer_name', phone: 'data.widget1700000000001', note: 'data.level' },
  };
  async function sign(body: string, nonce: string, timestamp: string) {
    const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(`${nonce}:${body}:fixture-secret-2f9c:${timestamp}`));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
  }
  it('verifies, delivers a data_update, and dedupes by X-JDY-DeliverId', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1763627400_000 + 30_000);
    const { endpointId, productLineId, moduleId } = await presetEndpoint(config, '13763738383');
    expect((await call(send(endpointId, jiandaoyun))).status).toBe(200);
    expect(await crmBody(productLineId)).toEqual({ mid: moduleId, id: CUSTOMER_ID, name: '赵六', phone: '13763738383', note: 'A' });
    expect(await (await call(send(endpointId, jiandaoyun))).json()).toMatchObject({ status: 'duplicate' });
  });
  it('logs other operations as skipped', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1763627400_000 + 30_000);
    const { endpointId, productLineId } = await presetEndpoint(config, '13763738383');
    const body = jiandaoyun.body.replace('"op":"data_update"', '"op":"data_remove"');
    const res = await call(send(endpointId, jiandaoyun, { body, headers: { 'x-jdy-signature': await sign(body, '0f5ade', '1763627400'), 'x-jdy-deliverid': 'deliver-remove-1' } }));
    expect(await res.json()).toMatchObject({ status: 'skipped' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
});

describe('xiaohongshu', () => {
  it('keys the label/value pairs by label and dedupes by leads_id', async () => {
    const { endpointId, productLineId, moduleId } = await presetEndpoint(
      { preset: 'xiaohongshu', verify: { secret: SECRET }, fields: { name: 'fields.`姓名`', phone: 'fields.`手机号`', note: 'fields.`城市`' } },
      '15000150000',
    );
    expect((await call(send(endpointId, xiaohongshu))).status).toBe(200);
    expect(await crmBody(productLineId)).toEqual({ mid: moduleId, id: CUSTOMER_ID, name: '孙七', phone: '15000150000', note: '上海' });
    expect(await (await call(send(endpointId, xiaohongshu))).json()).toMatchObject({ status: 'duplicate' });
  });
});

describe('ocean-engine', () => {
  const config = {
    preset: 'ocean-engine',
    verify: { secret: SECRET },
    fields: { name: 'name', phone: '$cnMobile(telephone)', note: 'remark_dict.`意向车型`', input_1680509561692: 'remark_dict.`城市`' },
  };
  it('answers the verify_webhook challenge digit for digit', async () => {
    const { endpointId, productLineId } = await presetEndpoint(config);
    const res = await call(send(endpointId, oceanChallenge, { path: '?token=fixture-secret-2f9c' }));
    expect(await res.text()).toBe('{"BaseResp":{"StatusCode":200,"StatusMessage":""},"challenge":1763627800123456789}');
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('delivers a lead: telephone, remark_dict answers, clue_id kept exact as the dedupe key', async () => {
    const { endpointId, productLineId, moduleId } = await presetEndpoint(config, '13100131000');
    const res = await call(send(endpointId, oceanLead));
    const { deliveryId } = await res.json<Answer>();
    expect(await crmBody(productLineId)).toEqual({ mid: moduleId, id: CUSTOMER_ID, name: '周九', phone: '13100131000', note: 'SUV', input_1680509561692: '广州' });
    expect(await deliveryRow(deliveryId)).toMatchObject({ idempotency_key: '7234567890123456789' });
  });
});

describe('zapier', () => {
  it('takes a form payload with Basic auth', async () => {
    const { endpointId, productLineId, moduleId } = await presetEndpoint({
      preset: 'zapier',
      verify: { secret: SECRET },
      fields: { name: 'name', phone: '$cnMobile(phone)', note: 'note' },
    });
    expect((await call(send(endpointId, zapier))).status).toBe(200);
    expect(await crmBody(productLineId)).toEqual({ mid: moduleId, id: CUSTOMER_ID, name: '周八', phone: '18888282822', note: '来自 Zapier' });
  });
  it('refuses a wrong password', async () => {
    const { endpointId } = await presetEndpoint({ preset: 'zapier', verify: { secret: SECRET }, fields: { name: 'name' } });
    expect((await call(send(endpointId, zapier, { headers: { authorization: `Basic ${btoa('zapier:wrong')}` } }))).status).toBe(401);
  });
});

describe('html-form', () => {
  it('takes a browser form post with the token and an empty honeypot', async () => {
    const { endpointId, productLineId, moduleId } = await presetEndpoint({
      preset: 'html-form',
      verify: { secret: SECRET },
      fields: { name: 'name', phone: '$cnMobile(mobile)', note: 'comment' },
    });
    expect((await call(send(endpointId, htmlForm))).status).toBe(200);
    expect(await crmBody(productLineId)).toEqual({ mid: moduleId, id: CUSTOMER_ID, name: '吴九', phone: '13900139000', note: '想了解价格' });
  });
  it('drops a filled honeypot as spam', async () => {
    const { endpointId, productLineId } = await presetEndpoint({ preset: 'html-form', verify: { secret: SECRET }, fields: { name: 'name' } });
    expect(await (await call(send(endpointId, htmlForm, { body: `${htmlForm.body}bot` }))).json()).toMatchObject({ status: 'accepted' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
});

describe('preset rules', () => {
  it('lets the endpoint override what the preset supplies, and lists the presets', async () => {
    const { endpointId } = await presetEndpoint({
      preset: 'jinshuju',
      verify: { secret: 'TEST_FORM_TOKEN' },
      delivery: { mode: 'sync' },
      customerId: 'entry.crm',
      fields: { name: 'entry.field1' },
    });
    const stored = await (await call(new Request(`https://adapter.test/admin/endpoints/${endpointId}`, { headers: ADMIN }))).json<{ config: Record<string, any> }>();
    expect(stored.config).toMatchObject({ preset: 'jinshuju', verify: { type: 'token', query: 'token', secret: 'TEST_FORM_TOKEN' }, delivery: { mode: 'sync' } });
    const list = await (await call(new Request('https://adapter.test/admin/presets', { headers: ADMIN }))).json<{ presets: { name: string; source: string }[] }>();
    expect(list.presets.map((p) => p.name)).toEqual([
      'google-ads-lead-form',
      'typeform',
      'tally',
      'webflow',
      'jinshuju',
      'jiandaoyun',
      'xiaohongshu',
      'ocean-engine',
      'zapier',
      'html-form',
    ]);
    expect(list.presets.find((p) => p.name === 'xiaohongshu')!.source).toContain('unverified');
  });
  it('refuses an unknown preset', async () => {
    const { endpointConfig } = await import('./helpers');
    const res = await putEndpoint(unique('p'), { ...endpointConfig('1'), preset: 'myspace' });
    expect(res.status).toBe(400);
  });
});
