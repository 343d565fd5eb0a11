/**
 * The console in its users' languages (Chinese first, English too) and the mapping editor without JSON, in workerd
 * with real KV, D1 and the stand-in CRM. Each test builds what a user does and breaks one thing.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { DELIVERY_STATUSES } from '../src/deliveries/store';
import { CATALOGUES, pickLang, type Messages } from '../src/console/i18n';
import { en } from '../src/console/i18n/en';
import { fromForm, parseMapLines, readForm, toForm } from '../src/console/mapping-form';
import { emptyCatalogue } from '../src/endpoints/catalogue';
import {
  call,
  callWith,
  crmState,
  CUSTOMER_ID,
  hook,
  leadJson,
  MODULE_ID,
  rowsFor,
  setupEndpoint,
  unique,
} from './helpers';

const BASE = 'https://adapter.test';
const ZH = { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8', accept: 'text/html' };
const EN = { 'accept-language': 'en-US,en;q=0.9', accept: 'text/html' };
type Session = { cookie: string; csrf: string };

function form(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Request {
  return new Request(`${BASE}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields),
  });
}

async function signIn(): Promise<Session> {
  const res = await call(form('/console/sign-in', { token: 'test-admin-token', next: '/console/endpoints' }));
  const cookie = /^(__Host-console=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]!;
  const page = await call(new Request(`${BASE}/console/endpoints`, { headers: { cookie } }));
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]! };
}

const get = (path: string, s: Session, headers: Record<string, string> = ZH) =>
  call(new Request(`${BASE}${path}`, { headers: { cookie: s.cookie, ...headers } }));
const post = (path: string, s: Session, fields: Record<string, string>, headers: Record<string, string> = ZH) =>
  call(form(path, { _csrf: s.csrf, ...fields }, { cookie: s.cookie, ...headers }));

/**
 * Every static English sentence of the catalogue (functions and short codes left out): none may appear on a Chinese
 * page.
 */
function englishTexts(m: unknown, out: string[] = []): string[] {
  if (typeof m === 'string') {
    if (/[a-z]{3,}/i.test(m) && /\s/.test(m)) out.push(m);
  } else if (Array.isArray(m)) for (const v of m) englishTexts(v, out);
  else if (m && typeof m === 'object') for (const v of Object.values(m)) englishTexts(v, out);
  return out;
}

/** The page's text as a reader sees it (tags, scripts' JSON and attribute values aside). */
const textOf = (html: string) =>
  html
    .replace(/<template[\s\S]*?<\/template>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&[a-z#0-9]+;/g, ' ');

describe('the catalogue', () => {
  it('has both sentences for every status, and a reason sentence in both languages', () => {
    for (const status of DELIVERY_STATUSES) {
      for (const lang of ['zh', 'en'] as const) {
        const [label, sentence] = CATALOGUES[lang].status[status];
        expect(label, `${lang} ${status}`).toBeTruthy();
        expect(sentence, `${lang} ${status}`).toBeTruthy();
      }
    }
    for (const reason of Object.keys(en.reason))
      expect(CATALOGUES.zh.reason[reason as keyof Messages['reason']], reason).toMatch(/[\u4e00-\u9fff]/);
  });

  it('picks Chinese for zh-*, English for en-*, the cookie over both, Chinese when nothing is said', () => {
    expect(pickLang(undefined, 'zh-CN,zh;q=0.9')).toBe('zh');
    expect(pickLang(undefined, 'zh-TW')).toBe('zh');
    expect(pickLang(undefined, 'en-US,en;q=0.9,zh;q=0.8')).toBe('en');
    expect(pickLang(undefined, 'fr-FR,en;q=0.5,zh;q=0.9')).toBe('zh');
    expect(pickLang(undefined, undefined)).toBe('zh');
    expect(pickLang('en', 'zh-CN')).toBe('en');
    expect(pickLang('zh', 'en-US')).toBe('zh');
    expect(pickLang('xx', 'en')).toBe('en');
  });
});

describe('every page in both languages', () => {
  it('renders each page in Chinese with no English UI text, and in English, with <html lang> matching', async () => {
    const { endpointId } = await setupEndpoint({ redact: ['mobile'] });
    const res = await call(hook(endpointId, leadJson()));
    const { deliveryId } = (await res.json()) as { deliveryId: string };
    const s = await signIn();
    const pages = [
      '/console',
      '/console/deliveries',
      `/console/deliveries?status=failed&endpoint=${endpointId}`,
      `/console/deliveries/${deliveryId}`,
      `/console/deliveries/${deliveryId}/preview`,
      '/console/endpoints',
      '/console/endpoints/_new',
      `/console/endpoints/${endpointId}`,
      '/console/customer-keys',
      `/console/customer-keys?moduleId=${MODULE_ID}&key=phone&value=13900139000`,
      '/console/crm',
      '/console/crm/fields',
      `/console/crm/fields?moduleId=${MODULE_ID}`,
      '/console/no-such-page',
    ];
    // a delivery of every status, each page and its status's list
    const row = (await env.DB.prepare('SELECT * FROM deliveries WHERE id = ?')
      .bind(deliveryId)
      .first<Record<string, unknown>>())!;
    const columns = Object.keys(row);
    for (const [i, status] of DELIVERY_STATUSES.entries()) {
      const id = `${deliveryId.slice(0, 22)}${String(i).padStart(4, '0')}`;
      const values = columns.map((c) =>
        c === 'id' ? id : c === 'status' ? status : c === 'idempotency_key' || c === 'sequence_key' ? null : row[c],
      );
      await env.DB.prepare(
        `INSERT INTO deliveries (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      )
        .bind(...values)
        .run();
      pages.push(`/console/deliveries/${id}`, `/console/deliveries?status=${status}`);
    }
    const english = englishTexts(en).filter((t) => !englishTexts(CATALOGUES.zh).includes(t));
    expect(english.length).toBeGreaterThan(100);
    for (const path of pages) {
      const zh = await get(path, s, ZH);
      const zhHtml = await zh.text();
      expect(zhHtml, path).toContain('<html lang="zh-CN">');
      const text = textOf(zhHtml);
      for (const sentence of english) expect(text, `${path} shows English "${sentence}"`).not.toContain(sentence);
      const enPage = await get(path, s, EN);
      const enHtml = await enPage.text();
      expect(enHtml, path).toContain('<html lang="en">');
      expect(enPage.status, path).toBe(zh.status);
    }
  });

  it('the sign-in page follows the browser before anyone signs in', async () => {
    const zh = await call(new Request(`${BASE}/console/sign-in`, { headers: ZH }));
    expect(await zh.text()).toContain('管理令牌');
    const en_ = await call(new Request(`${BASE}/console/sign-in`, { headers: EN }));
    expect(await en_.text()).toContain('Admin token');
  });

  it('the switch remembers the choice in a cookie and goes back to the page it was clicked on', async () => {
    const s = await signIn();
    const page = await (await get('/console/endpoints', s, ZH)).text();
    const href = /class="lang" href="([^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&');
    expect(href).toBe('/console/language?to=en&next=%2Fconsole%2Fendpoints');
    const res = await call(new Request(`${BASE}${href}`, { headers: { cookie: s.cookie, ...ZH } }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/endpoints');
    const lang = /^(lang=en);/.exec(res.headers.get('set-cookie') ?? '')?.[1];
    expect(lang).toBe('lang=en');
    // the browser still asks for Chinese: the choice wins
    const after = await (await get('/console/endpoints', { ...s, cookie: `${s.cookie}; ${lang}` }, ZH)).text();
    expect(after).toContain('<html lang="en">');
    expect(after).toContain('New endpoint');
    // never off to another site
    const away = await call(
      new Request(`${BASE}/console/language?to=zh&next=https://evil.example/`, { headers: { cookie: s.cookie } }),
    );
    expect(away.headers.get('location')).toBe('/console');
  });

  it('the switch on a page that answered a form goes back to that form’s page, never to a POST-only address', async () => {
    const { endpointId } = await setupEndpoint();
    const s = await signIn();
    const answered = [
      [`/console/endpoints/${endpointId}/test`, { sample: leadJson() }, `/console/endpoints/${endpointId}`],
      [`/console/endpoints/${endpointId}/preview`, { config: '{}', sample: '' }, `/console/endpoints/${endpointId}`],
      ['/console/customer-keys/import', { moduleId: 'x' }, '/console/customer-keys'],
    ] as const;
    for (const [action, fields, page] of answered) {
      const html = await (await post(action, s, fields)).text();
      const href = /class="lang" href="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&');
      const back = await call(new Request(`${BASE}${href}`, { headers: { cookie: s.cookie } }));
      expect(back.headers.get('location'), action).toBe(page);
      expect((await get(page, s)).status, page).toBe(200);
    }
  });

  it('a failed delivery says what happened and what to do, keeping its codes', async () => {
    const { endpointId } = await setupEndpoint({ customerId: 'nobody' });
    await call(hook(endpointId, leadJson()));
    const [row] = await rowsFor(endpointId);
    expect(row!.reason).toBe('customer_unresolved');
    const s = await signIn();
    const list = await (await get(`/console/deliveries?endpoint=${endpointId}`, s)).text();
    expect(list).toContain('<code>unmatched</code>');
    expect(list).toContain('<code>customer_unresolved</code>');
    expect(list).toContain(CATALOGUES.zh.reason.customer_unresolved);
  });
});

describe('lists a marketer can read', () => {
  it('each delivery row names the lead, masked as the endpoint redacts', async () => {
    const masked = await setupEndpoint({ redact: ['mobile'] });
    const plain = await setupEndpoint();
    await call(hook(masked.endpointId, leadJson()));
    await call(hook(plain.endpointId, leadJson()));
    const s = await signIn();
    const maskedList = await (await get(`/console/deliveries?endpoint=${masked.endpointId}`, s)).text();
    expect(maskedList).toContain('吴九');
    expect(maskedList).not.toContain('13900139000');
    expect(maskedList).not.toContain('139-0013-9000');
    const plainList = await (await get(`/console/deliveries?endpoint=${plain.endpointId}`, s)).text();
    expect(plainList).toContain('吴九 · 13900139000');
  });
});

describe('the mapping editor without JSON', () => {
  /** What the form posts for a Jinshuju endpoint mapped by pointing and picking. */
  const picked = (productLineId: string, extra: Record<string, string> = {}) => ({
    editing: 'form',
    preset: 'jinshuju',
    name: '活动报名表',
    moduleId: MODULE_ID,
    productLineId,
    secret: 'TEST_FORM_TOKEN',
    customerId: '',
    lookupKey: 'phone',
    lookupFrom: 'mobile',
    updateMode: 'patch',
    onUnmatched: 'keep',
    'row.0.field': 'name',
    'row.0.kind': 'field',
    'row.0.from': 'name',
    'row.1.field': 'select_1680162080347',
    'row.1.label': '意向等级',
    'row.1.kind': 'map',
    'row.1.from': 'level',
    'row.1.map': 'A = 484020435193692160\nB＝484020435193692161',
    'row.1.required': 'on',
    'row.2.field': 'source',
    'row.2.kind': 'constant',
    'row.2.value': '514465485002113024',
    'row.2.keep': 'on',
    'row.3.field': '',
    'row.3.kind': 'field',
    config: '{}',
    ...extra,
  });

  it('saves what was picked as the same document the JSON would have been, and remembers the custom field label', async () => {
    const { productLineId } = await setupEndpoint();
    const s = await signIn();
    const id = unique('form');
    const res = await post('/console/endpoints', s, { id, ...picked(productLineId), save: 'form' });
    expect(res.status, await res.clone().text()).toBe(303);
    const stored = (await env.ENDPOINTS.get<{ config: Record<string, unknown> }>(`v1:endpoint:${id}`, 'json'))!.config;
    expect(stored).toMatchObject({
      preset: 'jinshuju',
      name: '活动报名表',
      crm: { moduleId: MODULE_ID, productLineId },
      verify: { type: 'token', query: 'token', secret: 'TEST_FORM_TOKEN' },
      customerLookup: [{ key: 'phone', value: 'mobile' }],
      update: { mode: 'patch' },
      fields: {
        name: 'name',
        select_1680162080347: {
          from: 'level',
          map: { A: '484020435193692160', B: '484020435193692161' },
          required: true,
        },
        source: { value: '514465485002113024', overwrite: false },
      },
    });
    // the same document saved as JSON is stored identically
    const viaJson = unique('json');
    const json = await post('/console/endpoints', s, { id: viaJson, config: JSON.stringify(stored), save: 'json' });
    expect(json.status).toBe(303);
    expect((await env.ENDPOINTS.get<{ config: unknown }>(`v1:endpoint:${viaJson}`, 'json'))!.config).toEqual(stored);
    // the custom field is offered with its label next time, for this module
    const editor = await (await get(`/console/endpoints/${id}`, s)).text();
    expect(editor).toContain('<option value="select_1680162080347" label="意向等级">');
    expect(editor).toContain('name="row.1.label" value="意向等级"');
  });

  it('round-trips: the form read from a document writes the same document back', () => {
    const doc = {
      preset: 'jinshuju',
      name: 'n',
      crm: { moduleId: MODULE_ID, productLineId: '688051545102614528' },
      verify: { secret: 'X_TOKEN' },
      customerId: 'crm_id',
      update: { mode: 'fill-empty', skipUnchanged: true },
      fields: {
        name: 'name',
        select_1: { from: 'level', map: { A: '1' } },
        source: { value: '5', overwrite: false },
        note: { from: 'comment', required: true },
      },
      redact: ['mobile'],
    };
    const read = toForm(doc, emptyCatalogue());
    if (!read.ok) throw new Error('the form should show this document');
    expect(fromForm(read.state, doc)).toEqual(doc);
  });

  it('opens a configuration the form cannot show in JSON, with a note, and saves it untouched from there', async () => {
    const { endpointId } = await setupEndpoint();
    expect(toForm({ name: 'x', fields: { phone: '$cnMobile(mobile)' } }, emptyCatalogue()).ok).toBe(false);
    const s = await signIn();
    const page = await (await get(`/console/endpoints/${endpointId}`, s)).text();
    expect(page).toContain(CATALOGUES.zh.editor.jsonOnly);
    expect(page).toContain('<details class="advanced" open="">');
    expect(page).not.toContain('name="row.0.field"');
  });

  it('previews what was picked, live, with the sample’s fields to pick from; nothing is sent or stored', async () => {
    const { productLineId } = await setupEndpoint();
    const s = await signIn();
    const before = (await crmState(productLineId)).requests.length;
    const sample = JSON.stringify({ form: 'x', entry: { serial_number: 7, field_1: '吴九', field_2: '13900139000' } });
    const res = await post(
      '/console/endpoints/_new/preview',
      s,
      { ...picked(productLineId), sample, contentType: 'application/json' },
      { ...ZH, 'x-console-fragment': 'preview' },
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('data-paths=');
    expect(html).toContain('<template id="config-json">');
    expect((await crmState(productLineId)).requests.length).toBe(before);
  });

  it('"Add a field" gives one more empty row, without a script', async () => {
    const { productLineId } = await setupEndpoint();
    const s = await signIn();
    const html = await (
      await post('/console/endpoints/_new/preview', s, { ...picked(productLineId), addRow: '1' })
    ).text();
    // rows 0-2 kept (the blank row 3 dropped), one added, and the usual blank one
    expect(html).toContain('name="row.4.field"');
    expect(html).not.toContain('name="row.5.field"');
  });

  it('a broken pick shows the problem beside the form and stores nothing', async () => {
    const { productLineId } = await setupEndpoint();
    const s = await signIn();
    const id = unique('bad');
    const res = await post('/console/endpoints', s, {
      id,
      ...picked(productLineId, { moduleId: '12.5' }),
      save: 'form',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('crm.moduleId');
    expect(await env.ENDPOINTS.get(`v1:endpoint:${id}`)).toBeNull();
  });
});

describe('next to the URL', () => {
  it('the secret field stores the secret the endpoint names, encrypted, and never shows it', async () => {
    const { endpointId } = await setupEndpoint({
      verify: { type: 'token', query: 'token', secret: 'CONSOLE_SET_TOKEN' },
    });
    const s = await signIn();
    const res = await post(`/console/endpoints/${endpointId}/secret`, s, { value: 'typed-in-the-console-9f3a' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/endpoints/${endpointId}?secret=CONSOLE_SET_TOKEN`);
    const stored = await env.ENDPOINTS.get('v1:secret:CONSOLE_SET_TOKEN');
    expect(stored).not.toBeNull();
    expect(stored).not.toContain('typed-in-the-console-9f3a');
    const page = await (await get(res.headers.get('location')!, s)).text();
    expect(page).toContain(CATALOGUES.zh.editor.secretSaved('CONSOLE_SET_TOKEN'));
    // shown only inside the admin's reveal of the whole URL, nowhere else on the page
    const revealed = /<details class="real-url">[\s\S]*?<\/details>/.exec(page)![0];
    expect(revealed).toContain('typed-in-the-console-9f3a');
    expect(page.replace(revealed, '')).not.toContain('typed-in-the-console-9f3a');
    // the webhook now verifies with it
    const ok = await call(hook(endpointId, leadJson(), { query: '?token=typed-in-the-console-9f3a' }));
    expect(ok.status).toBe(200);
  });

  it('rotating from the field keeps the old value for the chosen window and says until when; "revoke now" ends it', async () => {
    const name = `CONSOLE_ROT_${crypto.randomUUID().slice(0, 8).toUpperCase()}`;
    const { endpointId } = await setupEndpoint({ verify: { type: 'token', query: 'token', secret: name } });
    const s = await signIn();
    await post(`/console/endpoints/${endpointId}/secret`, s, { value: 'first-value-1234' });
    // no previous value yet: nothing to say
    expect(await (await get(`/console/endpoints/${endpointId}`, s)).text()).not.toContain(
      CATALOGUES.zh.editor.secretPrevious,
    );
    const res = await post(`/console/endpoints/${endpointId}/secret`, s, {
      value: 'second-value-5678',
      graceHours: '72',
    });
    expect(res.status).toBe(303);
    const page = await (await get(`/console/endpoints/${endpointId}`, s)).text();
    expect(page).toContain(CATALOGUES.zh.editor.secretPrevious);
    expect(page).toContain(CATALOGUES.zh.editor.secretGraceHours(0));
    expect((await call(hook(endpointId, leadJson(), { query: '?token=first-value-1234' }))).status).toBe(200);
    await post(`/console/endpoints/${endpointId}/secret`, s, { value: 'third-value-9012', graceHours: '0' });
    expect(await (await get(`/console/endpoints/${endpointId}`, s)).text()).not.toContain(
      CATALOGUES.zh.editor.secretPrevious,
    );
    expect((await call(hook(endpointId, leadJson(), { query: '?token=second-value-5678' }))).status).toBe(401);
    expect((await call(hook(endpointId, leadJson(), { query: '?token=third-value-9012' }))).status).toBe(200);
  });

  it('without SECRETS_KEY the field says so and stores nothing', async () => {
    const { endpointId } = await setupEndpoint({
      verify: { type: 'token', query: 'token', secret: 'CONSOLE_NOKEY_TOKEN' },
    });
    const s = await signIn();
    const res = await callWith(
      form(`/console/endpoints/${endpointId}/secret`, { _csrf: s.csrf, value: 'v-1234' }, { cookie: s.cookie, ...ZH }),
      { SECRETS_KEY: undefined },
    );
    expect(res.status).toBe(503);
    expect(await res.text()).toContain(CATALOGUES.zh.editor.secretNoKey);
    expect(await env.ENDPOINTS.get('v1:secret:CONSOLE_NOKEY_TOKEN')).toBeNull();
  });

  it('"Send a test" runs the pasted sample through the saved configuration: the CRM body shown, nothing sent or logged', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const s = await signIn();
    const before = (await crmState(productLineId)).requests.length;
    const res = await post(`/console/endpoints/${endpointId}/test`, s, {
      sample: leadJson(),
      contentType: 'application/json',
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(CATALOGUES.zh.preview.outcome.would_deliver);
    expect(html).toContain(CUSTOMER_ID);
    expect((await crmState(productLineId)).requests.length).toBe(before);
    expect(await rowsFor(endpointId)).toEqual([]);
    const empty = await post(`/console/endpoints/${endpointId}/test`, s, { sample: '' });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain(CATALOGUES.zh.editor.testNeedsSample);
  });
});

describe('value maps', () => {
  it('reads "sample value = option id" lines with =, ＝ or →, and a key named __proto__ is a key like any other', () => {
    const map = parseMapLines('A 套餐 = 1\nB＝2\nC → 3\n\nno separator\n__proto__ = 4');
    expect(Object.entries(map)).toEqual([
      ['A 套餐', '1'],
      ['B', '2'],
      ['C', '3'],
      ['__proto__', '4'],
    ]);
    expect(JSON.stringify(map)).toBe('{"A 套餐":"1","B":"2","C":"3","__proto__":"4"}');
  });
});

describe('readForm', () => {
  it('reads rows up to the last one given and drops blank ones', () => {
    const state = readForm({
      moduleId: '1',
      'row.0.field': 'name',
      'row.0.from': 'name',
      'row.1.field': '',
      'row.2.field': 'note',
      'row.2.kind': 'constant',
      'row.2.value': 'x',
    });
    expect(state.rows.map((r) => r.field)).toEqual(['name', 'note']);
  });
});

describe('reasons the types do not reach', () => {
  // the source of src/, as text (Vite's glob: this test runs inside workerd, which has no file system)
  const sources = (import.meta as unknown as { glob: (p: string[], o: object) => Record<string, string> }).glob(
    ['../src/**/*.ts', '../src/**/*.tsx', '!../src/console/i18n/**'],
    {
      query: '?raw',
      import: 'default',
      eager: true,
    },
  );

  it('every reason literal in src/ has an English and a Chinese sentence', () => {
    const found = new Set<string>();
    for (const text of Object.values(sources)) {
      for (const m of text.matchAll(/reason(?:\s*:|\s*=)\s*'([a-z_]+)'/g)) found.add(m[1]!);
      for (const m of text.matchAll(/\b(?:finish|refuse)\(run, \d+, '[a-z]+', '([a-z_]+)'/g)) found.add(m[1]!);
      for (const m of text.matchAll(/\bend\('[a-z]+', '[a-z]+', '([a-z_]+)'/g)) found.add(m[1]!);
      for (const m of text.matchAll(/error: '(crm_[a-z_]+)'/g)) found.add(m[1]!);
    }
    expect(Object.keys(sources).length).toBeGreaterThan(50);
    expect(found.size).toBeGreaterThan(20);
    expect([...found].filter((r) => !(r in CATALOGUES.en.reason) || !(r in CATALOGUES.zh.reason))).toEqual([]);
  });
});
