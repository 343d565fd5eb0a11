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
import feiyuDemo from './fixtures/feiyu-demo.json';
import feiyuLead from './fixtures/feiyu-lead.json';
import tally from './fixtures/tally.json';
import typeform from './fixtures/typeform.json';
import webflow from './fixtures/webflow.json';
import xiaohongshu from './fixtures/xiaohongshu.json';
import zapier from './fixtures/zapier-form.json';
import {
  ADMIN,
  CUSTOMER_ID,
  call,
  callWith,
  crmState,
  crmTenant,
  deliveryRow,
  drive,
  hmacOf,
  putEndpoint,
  recordingQueue,
  rowsFor,
  snowflake,
  unique,
} from './helpers';
import { FEIYU_ANSWER, FEIYU_KEYS } from '../src/presets/feiyu';
import { PRESET_NAMES } from '../src/presets';
import { RECIPES_ZH } from '../src/console/i18n/recipes';

type Fixture = { path?: string; headers: Record<string, string>; body: string };
type Answer = { deliveryId: string; status: string };
const SECRET = 'TEST_HMAC_SECRET'; // holds the fixture secret

afterEach(() => vi.useRealTimers());

function send(
  endpointId: string,
  f: Fixture,
  extra: { path?: string; body?: string; headers?: Record<string, string> } = {},
) {
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
    fields: {
      name: 'user_column_data.FULL_NAME',
      phone: '$cnMobile(user_column_data.PHONE_NUMBER)',
      note: 'user_column_data.CITY',
    },
  };
  it('checks google_key, finds the customer by phone, maps columns by id, and dedupes by lead_id', async () => {
    const { endpointId, productLineId, moduleId } = await presetEndpoint(config, '13800138000');
    const res = await call(send(endpointId, google));
    expect(await res.json()).toMatchObject({ status: 'delivered', customerId: CUSTOMER_ID });
    expect(await crmBody(productLineId)).toEqual({
      mid: moduleId,
      id: CUSTOMER_ID,
      name: '王小明',
      phone: '13800138000',
      note: '杭州',
    });
    const again = await (await call(send(endpointId, google))).json<Answer>();
    expect(again.status).toBe('duplicate');
    expect((await rowsFor(endpointId))[0]!.payload).not.toContain('fixture-secret-2f9c');
  });
  it('refuses a wrong google_key', async () => {
    const { endpointId, productLineId } = await presetEndpoint(config, '13800138000');
    const res = await call(
      send(endpointId, google, {
        body: google.body.replace('"google_key":"fixture-secret-2f9c"', '"google_key":"nope"'),
      }),
    );
    expect(res.status).toBe(401);
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('drops test leads with skipWhen', async () => {
    const { endpointId, productLineId } = await presetEndpoint({ ...config, skipWhen: 'is_test' }, '13800138000');
    const res = await call(
      send(endpointId, google, { body: google.body.replace('"is_test":false', '"is_test":true') }),
    );
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
    expect(await crmBody(productLineId)).toEqual({
      mid: moduleId,
      id: CUSTOMER_ID,
      name: 'Han Meimei',
      phone: '13700137000',
      note: 'Pro',
    });
  });
});

describe('webflow', () => {
  const signed = { verify: { type: 'hmac', preset: 'webflow', secret: SECRET } };
  it('API-created webhooks: verifies the timestamped signature and keys form data by label', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2025-11-20T08:20:30Z'));
    const { endpointId, productLineId, moduleId } = await presetEndpoint(
      {
        preset: 'webflow',
        ...signed,
        customerLookup: [{ key: 'phone', value: '$string(data.`Phone Number`)' }],
        fields: { name: 'data.`First Name`', note: 'data.Company' },
      },
      '13600136000',
    );
    const res = await call(send(endpointId, webflow));
    expect(res.status).toBe(200);
    expect(await crmBody(productLineId)).toEqual({ mid: moduleId, id: CUSTOMER_ID, name: 'Ada', note: 'Example Ltd' });
    // the submission id dedupes: the same submission again is a duplicate
    expect(await (await call(send(endpointId, webflow))).json()).toMatchObject({ status: 'duplicate' });
  });
  it('accepts a retry with the original timestamp 10 minutes later (Webflow retries 10 minutes apart)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2025-11-20T08:30:30Z'));
    const { endpointId } = await presetEndpoint({ preset: 'webflow', ...signed, customerId: "'1'", fields: {} });
    expect((await call(send(endpointId, webflow))).status).not.toBe(401);
  });
  it('refuses the same request two hours later (stale timestamp)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2025-11-20T10:20:30Z'));
    const { endpointId } = await presetEndpoint({ preset: 'webflow', ...signed, customerId: "'1'", fields: {} });
    expect((await call(send(endpointId, webflow))).status).toBe(401);
    expect((await rowsFor(endpointId))[0]).toMatchObject({ reason: 'stale_timestamp' });
  });
  it('dashboard webhooks (not signed): the preset checks a token in the URL', async () => {
    const { endpointId, productLineId } = await presetEndpoint({
      preset: 'webflow',
      verify: { secret: SECRET },
      customerId: "'688346218203447296'",
      fields: { name: 'data.`First Name`' },
    });
    const unsigned = { ...webflow, headers: { 'content-type': 'application/json' } };
    expect((await call(send(endpointId, unsigned))).status).toBe(401);
    expect((await call(send(endpointId, unsigned, { path: '?token=fixture-secret-2f9c' }))).status).toBe(200);
    expect((await crmState(productLineId)).requests).toHaveLength(1);
  });
});

describe('jinshuju', () => {
  it('answers 200 at once (queued; Jinshuju wants 200), aliases field1/field_1, joins multi-choice and reads the address', async () => {
    const { endpointId, productLineId, moduleId } = await presetEndpoint(
      {
        preset: 'jinshuju',
        verify: { secret: 'TEST_FORM_TOKEN' },
        customerLookup: [{ key: 'phone', value: 'entry.field2' }],
        fields: {
          name: 'entry.field1',
          phone: 'entry.field_2',
          note: '$join(entry.field_3, "、")',
          input_1680509561692: 'entry.field_4_text',
        },
      },
      '13700137000',
    );
    const queue = recordingQueue();
    const res = await callWith(send(endpointId, jinshuju, { path: '?token=form-token-2f9c' }), {
      DELIVERY_QUEUE: queue,
    });
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
    const again = await (
      await callWith(send(endpointId, jinshuju, { path: '?token=form-token-2f9c' }), { DELIVERY_QUEUE: queue })
    ).json<Answer>();
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
    const digest = await crypto.subtle.digest(
      'SHA-1',
      new TextEncoder().encode(`${nonce}:${body}:fixture-secret-2f9c:${timestamp}`),
    );
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
  }
  it('verifies, delivers a data_update, and dedupes by X-JDY-DeliverId', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1763627400_000 + 30_000);
    const { endpointId, productLineId, moduleId } = await presetEndpoint(config, '13763738383');
    expect((await call(send(endpointId, jiandaoyun))).status).toBe(200);
    expect(await crmBody(productLineId)).toEqual({
      mid: moduleId,
      id: CUSTOMER_ID,
      name: '赵六',
      phone: '13763738383',
      note: 'A',
    });
    expect(await (await call(send(endpointId, jiandaoyun))).json()).toMatchObject({ status: 'duplicate' });
  });
  it('logs other operations as skipped', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1763627400_000 + 30_000);
    const { endpointId, productLineId } = await presetEndpoint(config, '13763738383');
    const body = jiandaoyun.body.replace('"op":"data_update"', '"op":"data_remove"');
    const res = await call(
      send(endpointId, jiandaoyun, {
        body,
        headers: { 'x-jdy-signature': await sign(body, '0f5ade', '1763627400'), 'x-jdy-deliverid': 'deliver-remove-1' },
      }),
    );
    expect(await res.json()).toMatchObject({ status: 'skipped' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
});

describe('xiaohongshu', () => {
  it('keys the label/value pairs by label and dedupes by leads_id', async () => {
    const { endpointId, productLineId, moduleId } = await presetEndpoint(
      {
        preset: 'xiaohongshu',
        verify: { secret: SECRET },
        fields: { name: 'fields.`姓名`', phone: 'fields.`手机号`', note: 'fields.`城市`' },
      },
      '15000150000',
    );
    expect((await call(send(endpointId, xiaohongshu))).status).toBe(200);
    expect(await crmBody(productLineId)).toEqual({
      mid: moduleId,
      id: CUSTOMER_ID,
      name: '孙七',
      phone: '15000150000',
      note: '上海',
    });
    expect(await (await call(send(endpointId, xiaohongshu))).json()).toMatchObject({ status: 'duplicate' });
  });
  it('lets an update of the same lead through (a later push), while a retry of a push is still a duplicate', async () => {
    const { endpointId, productLineId } = await presetEndpoint(
      {
        preset: 'xiaohongshu',
        verify: { secret: SECRET },
        fields: { name: 'fields.`姓名`', phone: 'fields.`手机号`', note: 'fields.`城市`' },
      },
      '15000150000',
    );
    expect((await call(send(endpointId, xiaohongshu))).status).toBe(200);
    const body = xiaohongshu.body
      .replace('"timestamp":1763627700000', '"timestamp":1763627760000')
      .replace('"上海"', '"杭州"');
    const signed = { 'x-red-signature': `sha1=${await hmacOf('fixture-secret-2f9c', body, 'hex', 'SHA-1')}` };
    const update = await call(send(endpointId, xiaohongshu, { body, headers: signed }));
    expect(await update.json()).toMatchObject({ status: 'delivered' });
    expect(await (await call(send(endpointId, xiaohongshu, { body, headers: signed }))).json()).toMatchObject({
      status: 'duplicate',
    });
    const notes = (await crmState(productLineId)).requests.map((r) => (r.body as { note?: string }).note);
    expect(notes).toEqual(['上海', '杭州']);
  });
});

describe('ocean-engine', () => {
  const config = {
    preset: 'ocean-engine',
    verify: { secret: SECRET },
    fields: {
      name: 'name',
      phone: '$cnMobile(telephone)',
      note: 'remark_dict.`意向车型`',
      input_1680509561692: 'remark_dict.`城市`',
    },
  };
  it('answers the verify_webhook challenge digit for digit', async () => {
    const { endpointId, productLineId } = await presetEndpoint(config);
    const res = await call(send(endpointId, oceanChallenge, { path: '?token=fixture-secret-2f9c' }));
    expect(await res.text()).toBe('{"challenge":1763627800123456789}');
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('delivers a lead: telephone, remark_dict answers; Msg-Id is the dedupe key', async () => {
    const { endpointId, productLineId, moduleId } = await presetEndpoint(config, '13100131000');
    const res = await call(send(endpointId, oceanLead));
    const { deliveryId } = await res.json<Answer>();
    expect(await crmBody(productLineId)).toEqual({
      mid: moduleId,
      id: CUSTOMER_ID,
      name: '周九',
      phone: '13100131000',
      note: 'SUV',
      input_1680509561692: '广州',
    });
    expect(await deliveryRow(deliveryId)).toMatchObject({ idempotency_key: 'a8f2c4e6-9b1d-4f3a-8c2e-fixture00001' });
    expect(await (await call(send(endpointId, oceanLead))).json()).toMatchObject({ status: 'duplicate' });
  });
  it('answers the challenge nested under content, as ByteDance documents it', async () => {
    const { endpointId } = await presetEndpoint(config);
    const nested = {
      ...oceanChallenge,
      body: '{"event":"verify_webhook","client_key":"aw1234","content":{"challenge":9876543210987654321}}',
    };
    const res = await call(send(endpointId, nested, { path: '?token=fixture-secret-2f9c' }));
    expect(await res.text()).toBe('{"challenge":9876543210987654321}');
  });
  it('reads the Feiyu naming too (telphone, adv_id)', async () => {
    const { endpointId, productLineId } = await presetEndpoint(
      { ...config, fields: { ...config.fields, input_1680509561692: '$string(advertiser_id)' } },
      '13100131000',
    );
    const feiyu = {
      ...oceanLead,
      headers: { ...oceanLead.headers, 'msg-id': 'feiyu-1' },
      body: oceanLead.body.replace('"telephone"', '"telphone"'),
    };
    expect((await call(send(endpointId, feiyu))).status).toBe(200);
    expect(await crmBody(productLineId)).toMatchObject({
      phone: '13100131000',
      input_1680509561692: '1780000000000001',
    });
  });
});

describe('feiyu (飞鱼 CRM push, keys typed by the user)', () => {
  const config = {
    preset: 'feiyu',
    verify: { secret: SECRET },
    fields: { name: 'name', phone: '$cnMobile(mobile)', note: 'remark', input_1680509561692: '$string(ad_id)' },
  };
  it('delivers a lead under the keys the recipe tells the user to type, answering the declared success', async () => {
    const { endpointId, productLineId, moduleId } = await presetEndpoint(config, '13200132000');
    const res = await call(send(endpointId, feiyuLead));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(FEIYU_ANSWER);
    expect(await crmBody(productLineId)).toEqual({
      mid: moduleId,
      id: CUSTOMER_ID,
      name: '郑十',
      phone: '13200132000',
      note: '想预约试驾',
      input_1680509561692: '1790000000000002',
    });
    // the clue id (above 2^53) dedupes a retry, digit for digit
    const [row] = await rowsFor(endpointId);
    expect(row!.idempotency_key).toBe('7345678901234567890');
    expect((await call(send(endpointId, feiyuLead))).status).toBe(200);
    expect((await crmState(productLineId)).requests.filter((r) => r.outcome === 'applied')).toHaveLength(1);
  });
  it('answers the demo push (a lead nobody has) with the declared success, so the rule saves; nothing reaches the CRM', async () => {
    const { endpointId, productLineId } = await presetEndpoint(config);
    const res = await call(send(endpointId, feiyuDemo));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(FEIYU_ANSWER);
    expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'unmatched' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('reads the other spellings a user may type (tel, clue_id)', async () => {
    const { endpointId, productLineId } = await presetEndpoint(config, '13200132000');
    const body = feiyuLead.body.replace('"mobile"', '"tel"').replace('"clueId"', '"clue_id"');
    expect((await call(send(endpointId, feiyuLead, { body }))).status).toBe(200);
    expect(await crmBody(productLineId)).toMatchObject({ phone: '13200132000' });
  });
  it('refuses a wrong token (and keeps the lead for review)', async () => {
    const { endpointId, productLineId } = await presetEndpoint(config, '13200132000');
    expect((await call(send(endpointId, feiyuLead, { path: '?token=wrong' }))).status).toBe(401);
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('tells the user every key to type and the answer to declare', async () => {
    const list = await (await call(new Request('https://adapter.test/admin/presets', { headers: ADMIN }))).json<{
      presets: { name: string; recipe: string }[];
    }>();
    const recipe = list.presets.find((p) => p.name === 'feiyu')!.recipe;
    for (const [key, label] of Object.entries(FEIYU_KEYS)) expect(recipe).toContain(`${label} → ${key}`);
    expect(recipe).toContain('状态码字段填 code，成功码填 200');
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
    expect(await crmBody(productLineId)).toEqual({
      mid: moduleId,
      id: CUSTOMER_ID,
      name: '周八',
      phone: '18888282822',
      note: '来自 Zapier',
    });
  });
  it('refuses a wrong password', async () => {
    const { endpointId } = await presetEndpoint({
      preset: 'zapier',
      verify: { secret: SECRET },
      fields: { name: 'name' },
    });
    expect(
      (await call(send(endpointId, zapier, { headers: { authorization: `Basic ${btoa('zapier:wrong')}` } }))).status,
    ).toBe(401);
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
    expect(await crmBody(productLineId)).toEqual({
      mid: moduleId,
      id: CUSTOMER_ID,
      name: '吴九',
      phone: '13900139000',
      note: '想了解价格',
    });
  });
  it('drops a filled honeypot as spam', async () => {
    const { endpointId, productLineId } = await presetEndpoint({
      preset: 'html-form',
      verify: { secret: SECRET },
      fields: { name: 'name' },
    });
    expect(await (await call(send(endpointId, htmlForm, { body: `${htmlForm.body}bot` }))).json()).toMatchObject({
      status: 'accepted',
    });
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
    const stored = await (
      await call(new Request(`https://adapter.test/admin/endpoints/${endpointId}`, { headers: ADMIN }))
    ).json<{ config: Record<string, any> }>();
    expect(stored.config).toMatchObject({
      preset: 'jinshuju',
      verify: { type: 'token', query: 'token', secret: 'TEST_FORM_TOKEN' },
      delivery: { mode: 'sync' },
    });
    const list = await (await call(new Request('https://adapter.test/admin/presets', { headers: ADMIN }))).json<{
      presets: { name: string; source: string }[];
    }>();
    expect(list.presets.map((p) => p.name)).toEqual([
      'google-ads-lead-form',
      'typeform',
      'tally',
      'webflow',
      'jinshuju',
      'jiandaoyun',
      'xiaohongshu',
      'ocean-engine',
      'feiyu',
      'zapier',
      'automation',
      'html-form',
    ]);
    expect(list.presets.find((p) => p.name === 'xiaohongshu')!.source).toContain('unverified');
  });
  it('every preset has its recipe in Chinese for the console (feiyu’s is Chinese already)', () => {
    for (const name of PRESET_NAMES) expect(RECIPES_ZH[name], name).toBeTypeOf('string');
  });
  it('refuses an unknown preset', async () => {
    const { endpointConfig } = await import('./helpers');
    const res = await putEndpoint(unique('p'), { ...endpointConfig('1'), preset: 'myspace' });
    expect(res.status).toBe(400);
  });
});

describe('what the senders really send', () => {
  it('xiaohongshu: accepts HMAC-SHA1 and a plain sha1(token + body), and the row says which matched', async () => {
    const config = { preset: 'xiaohongshu', verify: { secret: SECRET }, fields: { name: 'fields.`姓名`' } };
    const hmacForm = await presetEndpoint(config, '15000150000');
    expect((await call(send(hmacForm.endpointId, xiaohongshu))).status).toBe(200);
    expect(JSON.parse((await rowsFor(hmacForm.endpointId))[0]!.warnings as string)).toContain(
      'signature matched as sha1 HMAC keyed with the secret',
    );
    const plain = await presetEndpoint(config, '15000150000');
    const digest = new Uint8Array(
      await crypto.subtle.digest('SHA-1', new TextEncoder().encode(`fixture-secret-2f9c${xiaohongshu.body}`)),
    );
    const hex = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(
      (await call(send(plain.endpointId, xiaohongshu, { headers: { 'x-red-signature': `sha1=${hex}` } }))).status,
    ).toBe(200);
    expect(JSON.parse((await rowsFor(plain.endpointId))[0]!.warnings as string)).toContain(
      'signature matched as plain sha1(secret + signed text)',
    );
    expect(
      (await call(send(plain.endpointId, xiaohongshu, { headers: { 'x-red-signature': `sha1=${'0'.repeat(40)}` } })))
        .status,
    ).toBe(401);
  });

  it('typeform: a form_response_partial is skipped, never sent to the CRM', async () => {
    const { endpointId, productLineId } = await presetEndpoint({
      preset: 'typeform',
      verify: { secret: SECRET },
      fields: { name: 'answers.name' },
    });
    const partial = typeform.body.replace('"event_type":"form_response"', '"event_type":"form_response_partial"');
    expect(partial).not.toBe(typeform.body);
    const sig = btoa(
      String.fromCharCode(
        ...new Uint8Array(
          await crypto.subtle.sign(
            'HMAC',
            await crypto.subtle.importKey(
              'raw',
              new TextEncoder().encode('fixture-secret-2f9c'),
              { name: 'HMAC', hash: 'SHA-256' },
              false,
              ['sign'],
            ),
            new TextEncoder().encode(partial),
          ),
        ),
      ),
    );
    const res = await call(
      send(endpointId, typeform, { body: partial, headers: { 'typeform-signature': `sha256=${sig}` } }),
    );
    expect(await res.json()).toMatchObject({ status: 'skipped' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });

  it('google: a "Send test data" lead (is_test) is answered 200 and skipped', async () => {
    const { endpointId, productLineId } = await presetEndpoint({
      preset: 'google-ads-lead-form',
      verify: { secret: SECRET },
      fields: { name: 'user_column_data.FULL_NAME' },
    });
    const test = google.body.replace('"is_test":false', '"is_test":true');
    expect(test).not.toBe(google.body);
    const res = await call(send(endpointId, google, { body: test }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'skipped' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });

  it('jinshuju: an edited entry (same serial_number, newer updated_at) is delivered; an exact repeat is not; the old address key is read', async () => {
    const config = {
      preset: 'jinshuju',
      verify: { secret: 'TEST_FORM_TOKEN' },
      customerId: "'688346218203447296'",
      fields: { note: 'entry.field_4_text', name: 'entry.field_1' },
    };
    const { endpointId, productLineId } = await presetEndpoint(config);
    const v1 = jinshuju.body
      .replace('"info_remote_ip"', '"updated_at":"2026-11-20T08:30:00.000Z","info_remote_ip"')
      .replace('"street":"文三路 1 号"', '"address":"文三路 1 号"');
    const v2 = v1
      .replace('"updated_at":"2026-11-20T08:30:00.000Z"', '"updated_at":"2026-11-20T09:00:00.000Z"')
      .replace('韩梅梅', '韩梅');
    const queue = recordingQueue();
    const post = (body: string) =>
      callWith(send(endpointId, jinshuju, { path: '?token=form-token-2f9c', body }), { DELIVERY_QUEUE: queue });
    expect(await (await post(v1)).json()).toMatchObject({ status: 'queued' });
    expect(await (await post(v1)).json()).toMatchObject({ status: 'duplicate' });
    expect(await (await post(v2)).json()).toMatchObject({ status: 'queued' });
    for (const m of queue.sent) await drive([m.id]);
    const updates = (await crmState(productLineId)).requests.map((r) => r.body);
    expect(updates.map((b) => b.name)).toEqual(['韩梅梅', '韩梅']);
    expect(updates[0]).toMatchObject({ note: '浙江省杭州市西湖区文三路 1 号' });
  });

  it('jiandaoyun: data_recover is delivered like data_update', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Number(new URL(`https://x/${jiandaoyun.path}`).searchParams.get('timestamp')) * 1000);
    const { endpointId, productLineId } = await presetEndpoint({
      preset: 'jiandaoyun',
      verify: { secret: SECRET },
      customerId: "'688346218203447296'",
      fields: { name: 'op' },
    });
    const body = jiandaoyun.body.replace('"op":"data_update"', '"op":"data_recover"');
    const signed = new TextEncoder().encode(`0f5ade:${body}:fixture-secret-2f9c:1763627400`);
    const hex = [...new Uint8Array(await crypto.subtle.digest('SHA-1', signed))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
    const res = await call(
      send(endpointId, jiandaoyun, {
        body,
        headers: { 'x-jdy-signature': hex, 'x-jdy-deliverid': 'deliver-recover-1' },
      }),
    );
    expect(await res.json()).toMatchObject({ status: 'delivered' });
    expect((await crmState(productLineId)).requests.at(-1)!.body).toMatchObject({ name: 'data_recover' });
  });
});

describe('automation (Make, n8n, Pipedream)', () => {
  it('takes a JSON post with the token in X-Webhook-Token, and refuses one without', async () => {
    const { endpointId, productLineId, moduleId } = await presetEndpoint({
      preset: 'automation',
      verify: { secret: 'TEST_FORM_TOKEN' },
      fields: { name: 'name', phone: '$cnMobile(phone)' },
    });
    const body = JSON.stringify({ crm_id: '688346218203447296', name: 'Meta 线索', phone: '+86 139 0013 9000' });
    const lead = { headers: { 'content-type': 'application/json' }, body };
    expect((await call(send(endpointId, lead))).status).toBe(401);
    expect((await call(send(endpointId, lead, { headers: { 'x-webhook-token': 'form-token-2f9c' } }))).status).toBe(
      200,
    );
    expect(await crmBody(productLineId)).toEqual({
      mid: moduleId,
      id: CUSTOMER_ID,
      name: 'Meta 线索',
      phone: '13900139000',
    });
  });
});
