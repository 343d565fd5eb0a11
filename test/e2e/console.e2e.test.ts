/// <reference lib="dom" />
/**
 * The console in a real headless Chromium (Debian's `chromium`, driven by playwright-core; no browser
 * download) against the built Worker running locally in workerd (Miniflare: local KV, D1, Queues, static
 * assets) and the stand-in CRM on loopback. Screenshots of every page at desktop and phone width go to
 * test-results/console/ (not committed). `npm run test:e2e`; CHROMIUM_PATH overrides /usr/bin/chromium.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Miniflare } from 'miniflare';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdapter } from '../../bench/worker.ts';
import { startCrmStub, type CrmStub } from '../../tools/crm-stub/server.ts';
import { expand, newTenant } from '../../tools/crm-stub/state.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FONTS = fileURLToPath(new URL('./fonts.conf', import.meta.url));
const FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
];
const SHOTS = 'test-results/console';
const ADMIN_TOKEN = 'e2e-admin-token';
const FORM_TOKEN = 'e2e-form-token';
const MODULE_ID = '347772778973233152';
const PRODUCT_LINE = '688051545102614528';
const CUSTOMER = '688346218203447296';
/** A second customer, for the test that pauses CRM calls (its queued lead must not hold the first customer's line). */
const CUSTOMER_2 = '688346218203447297';
/** The product line the clicking-only test connects, by its name (a tenant of its own). */
const PRODUCT_LINE_EAST = '688051545102614531';
const EAST_NAME = '华东销售部';
const CUSTOMER_EAST = '688346218203447311';
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 860 };
type Lang = 'zh' | 'en';
/**
 * The console's own catalogue (src/console/i18n), so the test clicks what the page says in either language. Loaded
 * by path at run time: this file is type-checked as Node code, the catalogue as Worker code.
 */
const CATALOGUE_MODULE = '../../src/console/i18n/index.ts';
// its type lives on the Worker side (tsconfig.json): here it is read as loosely typed data
const { CATALOGUES } = (await import(CATALOGUE_MODULE)) as { CATALOGUES: Record<Lang, any> };

/** A browser as our users have it: Chinese in Shanghai, or English. */
const LOCALES: Record<Lang, { locale: string; timezoneId: string }> = {
  zh: { locale: 'zh-CN', timezoneId: 'Asia/Shanghai' },
  en: { locale: 'en-US', timezoneId: 'UTC' },
};

let crm: CrmStub;
let mf: Miniflare;
let base: string;
let browser: Browser;

/** 金数据's push for one entry (test/fixtures/jinshuju.json, from its documented example shape). */
const JINSHUJU_SAMPLE = JSON.stringify({
  form: 'xJfeTv',
  form_name: '活动报名',
  entry: {
    serial_number: 128,
    field_1: '韩梅梅',
    field_2: '13700137000',
    field_3: ['A 套餐', 'C 套餐'],
    field_5: '2026-11-20',
    created_at: '2026-11-20T08:30:00.000Z',
  },
});

/** The endpoint as first set up: its mapping reads `mobile`, but the form sends `tel` (fixed in the console). */
const brokenConfig = {
  name: '落地页表单 (landing page)',
  crm: { moduleId: MODULE_ID, productLineId: PRODUCT_LINE },
  verify: { type: 'token', query: 'token', secret: 'E2E_FORM_TOKEN' },
  customerId: 'crm_id',
  fields: { name: 'name', phone: { from: 'mobile', required: true }, note: 'comment' },
};

async function admin(path: string, init: RequestInit = {}) {
  return fetch(`${base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...init.headers },
  });
}

async function webhook(endpoint: string, body: Record<string, unknown>) {
  return fetch(`${base}/hooks/${endpoint}?token=${FORM_TOKEN}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function signIn(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}/console`);
  await page.fill('#token', ADMIN_TOKEN);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${base}/console`);
  return page;
}

/** A locator's visible text, waited for (playwright-core has no web-first assertions: vitest's expect.poll retries). */
const text = (locator: Locator) => async () => (await locator.innerText({ timeout: 5_000 })).trim();
const POLL = { timeout: 15_000, interval: 200 };
/** How long a replayed delivery may take through the local queue. */
const REPLAYED = { timeout: 30_000, interval: 500 };

/**
 * Opens a delivery's page, clicks 重放 (Replay) as a user does, waits for its notice, and returns what to poll: the
 * text of `selector` after a reload (the local queue delivers within a few seconds).
 */
async function replayed(page: Page, deliveryUrl: string, selector: string) {
  const t = CATALOGUES.zh;
  await page.goto(deliveryUrl);
  await page.click(`button:text("${t.deliveries.replay}")`);
  await expect.poll(text(page.locator('.notice.ok')), POLL).toContain(t.deliveries.replayed);
  return async () => {
    await page.reload();
    return text(page.locator(selector))();
  };
}

/**
 * What sticks out past the right edge at the current width: the document's overflow and the elements that
 * cause it (named, so a failure says which element and by how much). Fails first if the stylesheet is not
 * applied, since an unstyled page measures nothing about our layout.
 */
async function sideways(page: Page) {
  return page.evaluate(() => {
    const styled = getComputedStyle(document.body).marginTop === '0px';
    const width = document.documentElement.clientWidth;
    const culprits: string[] = [];
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      // inside a scrolling box (.scroll, pre) overflow is the box's own, not the page's
      const scroller = el.parentElement?.closest('.scroll, pre');
      if (r.right > width + 0.5 && r.width > 0 && !scroller) {
        culprits.push(
          `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''} +${Math.round(r.right - width)}px`,
        );
      }
    }
    return { styled, overflow: document.documentElement.scrollWidth - width, culprits: culprits.slice(0, 5) };
  });
}

/** Saves a screenshot at phone and desktop width, and checks that nothing scrolls sideways at 390 px. */
async function shoot(page: Page, name: string) {
  // a click that navigates returns before the new page has its stylesheet: measure the page once it has loaded
  await page.waitForLoadState('load');
  await page.setViewportSize(PHONE);
  const s = await sideways(page);
  expect(s.styled, `${name}: app.css is not applied`).toBe(true);
  expect(s.overflow, `${name} scrolls sideways at 390 px: ${s.culprits.join(', ')}`).toBeLessThanOrEqual(0);
  await page.screenshot({ path: `${SHOTS}/${name}-phone.png`, fullPage: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: `${SHOTS}/${name}-desktop.png`, fullPage: true });
}

/** Every static English sentence of the console's catalogue (functions and short codes left out). */
function englishTexts(m: unknown, out: string[] = []): string[] {
  if (typeof m === 'string') {
    if (/[a-z]{3,}/i.test(m) && /\s/.test(m)) out.push(m);
  } else if (Array.isArray(m)) for (const v of m) englishTexts(v, out);
  else if (m && typeof m === 'object') for (const v of Object.values(m)) englishTexts(v, out);
  return out;
}

/** The English UI sentences a Chinese page shows (none expected). */
async function englishOn(page: Page): Promise<string[]> {
  const shown = await page.locator('body').innerText();
  return englishTexts(CATALOGUES.en).filter((sentence) => shown.includes(sentence));
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  for (const font of FONT_FILES)
    if (!existsSync(font)) throw new Error(`no ${font}: apt-get install fonts-dejavu-core fonts-noto-cjk`);
  mkdirSync(SHOTS, { recursive: true });
  crm = await startCrmStub({ token: 'e2e-crm-token', port: 0, host: '127.0.0.1' });
  crm.tenants.set(
    PRODUCT_LINE,
    newTenant(PRODUCT_LINE, {
      customers: [
        {
          id: CUSTOMER,
          name: '单单',
          phone: '18888282822',
          note: '',
          own_id: '400000000000000002',
          source: '514465485002113024',
        },
        { id: CUSTOMER_2, name: '双双', phone: '18888282823', note: '' },
      ],
    }),
  );
  crm.tenants.set(
    PRODUCT_LINE_EAST,
    newTenant(PRODUCT_LINE_EAST, {
      name: EAST_NAME,
      customers: [{ id: CUSTOMER_EAST, name: '李雷', phone: '13600136000', note: '', source: '514465485002113025' }],
    }),
  );
  const started = await startAdapter(
    0,
    {
      ADMIN_TOKEN,
      CRM_API_TOKEN: 'e2e-crm-token',
      CRM_BASE_URL: crm.url,
      E2E_FORM_TOKEN: FORM_TOKEN,
      SECRETS_KEY: 'e2e-secrets-key-0123456789abcdef0123',
      // the stand-in's create call (tools/crm-stub/state.ts)
      CRM_CREATE_PATH: '/api/moduleData/add',
    },
    { assets: true, console: true, outdir: 'bench/out/e2e-build' },
  );
  mf = started.mf;
  // Chromium treats localhost as a secure context, so the Secure, __Host- session cookie is kept over http
  base = started.url.replace('127.0.0.1', 'localhost');
  // the fonts are fixed (test/e2e/fonts.conf: the two font packages .ci/run installs), so the layout measured
  // is the same on a fresh machine as on one that has collected other fonts
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox'],
    env: { ...process.env, FONTCONFIG_FILE: FONTS },
  });
  expect((await admin('/admin/endpoints/landing', { method: 'PUT', body: JSON.stringify(brokenConfig) })).status).toBe(
    201,
  );
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await mf?.dispose();
  await crm?.close();
});

describe('the console in Chromium', () => {
  it('redirects a signed-out visit to sign-in', async () => {
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`${base}/console/deliveries?status=failed`);
    expect(page.url()).toBe(`${base}/console/sign-in?next=%2Fconsole%2Fdeliveries%3Fstatus%3Dfailed`);
    await expect.poll(text(page.locator('h1')), POLL).toBe('Sign in');
    await shoot(page, 'sign-in');
    await context.close();
  });

  it('signs in with the keyboard alone, and Tab reaches the skip link first', async () => {
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`${base}/console/sign-in`);
    // the token field has autofocus; Chromium applies it after load, so typing waits for it rather than racing it
    await page.waitForFunction(() => document.activeElement?.id === 'token');
    await page.keyboard.type(ADMIN_TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/console`);
    const cookie = (await context.cookies()).find((c) => c.name === '__Host-console');
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await context.close();
  });

  it('zh-CN: a marketer connects a 金数据 form by pointing and picking, sets its token, and fixes a failed lead in the editor — never touching JSON', async () => {
    const t = CATALOGUES.zh;
    // the customer is known to the adapter by phone (imported earlier under 客户标识)
    const keys = await admin(`/admin/customer-keys?moduleId=${MODULE_ID}`, {
      method: 'POST',
      body: JSON.stringify([{ customer_id: CUSTOMER, key: 'phone', value: '13700137000' }]),
    });
    expect(keys.status).toBe(200);
    const context = await browser.newContext({ viewport: DESKTOP, ...LOCALES.zh });
    const page = await signIn(context);
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    await expect.poll(text(page.locator('h1')), POLL).toBe(t.overview.title);
    // the JSON (advanced) is never opened: every step below is a pick, a click or a plain value
    const jsonOpened = () => page.locator('details.advanced[open]').count();

    await page.click(`nav >> text=${t.nav.endpoints}`);
    await page.click(`a:text("${t.endpoints.new}")`);
    await expect.poll(text(page.locator('h1')), POLL).toBe(t.editor.titleNew);
    await page.fill('input[name=id]', 'signup');
    await page.selectOption('#preset', { label: '金数据 Jinshuju' });
    await page.fill('input[name=name]', '活动报名（金数据）');
    await page.fill('input[name=moduleId]', MODULE_ID);
    await page.fill('input[name=productLineId]', PRODUCT_LINE);
    await page.fill('input[name=secret]', 'SIGNUP_TOKEN');
    // the sample the form sent (金数据's documented example shape, test/fixtures/jinshuju.json): its fields appear to
    // pick from
    await page.fill('#sample', JINSHUJU_SAMPLE);
    await expect.poll(text(page.locator('#sample-fields')), POLL).toContain('entry.field_2');
    await expect.poll(text(page.locator('#sample-fields')), POLL).toContain('13700137000');
    await page.fill('input[name="row.0.field"]', 'name');
    await page.selectOption('select[name="row.0.from"]', 'entry.field_1');
    await page.fill('input[name="row.1.field"]', 'phone');
    await page.selectOption('select[name="row.1.from"]', 'entry.field_2');
    await page.fill('input[name="row.2.field"]', 'source');
    await page.selectOption('select[name="row.2.kind"]', 'constant');
    await page.fill('input[name="row.2.value"]', '514465485002113024');
    // a custom field, typed once with its label, and a value map: sample values on the left, CRM option ids on the
    // right
    await page.click(`button:text("${t.editor.addRow}")`);
    await page.fill('input[name="row.3.field"]', 'select_1680162080347');
    await page.fill('input[name="row.3.label"]', '意向套餐');
    await page.selectOption('select[name="row.3.kind"]', 'map');
    await page.selectOption('select[name="row.3.from"]', 'entry.field_5');
    await page.fill('textarea[name="row.3.map"]', '2026-11-20 = 484020435193692160');
    // the customer: looked up by phone — but the wrong field is picked (the name)
    await page.selectOption('select[name=lookupKey]', 'phone');
    await page.selectOption('select[name=lookupFrom]', 'entry.field_1');
    await expect.poll(text(page.locator('#preview')), POLL).toContain(t.preview.outcome.unmatched);
    // a value the CRM would refuse is named beside the form, live
    await page.fill('input[name=moduleId]', '12.5');
    await expect.poll(text(page.locator('#config-issues')), POLL).toContain('crm.moduleId');
    await page.fill('input[name=moduleId]', MODULE_ID);
    await expect.poll(text(page.locator('#config-issues')), POLL).toBe('');
    await shoot(page, 'zh-endpoint-new-filled');
    expect(await jsonOpened()).toBe(0);
    await page.click(`button[name=save][value=form]`);
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain(t.editor.created);
    await expect.poll(() => page.inputValue('#url'), POLL).toContain('/hooks/signup?token=<SIGNUP_TOKEN>');

    // the token: typed into the field next to the URL
    await page.fill('#secret-value', 'signup-token-7c1d');
    await page.click(`button:text("${t.editor.setSecret}")`);
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain(t.editor.secretSaved('SIGNUP_TOKEN'));
    await shoot(page, 'zh-endpoint-editor');

    // 金数据 sends the entry: answered 200 at once (the preset queues), and the lead is unmatched
    const sent = await fetch(`${base}/hooks/signup?token=signup-token-7c1d`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JINSHUJU_SAMPLE,
    });
    expect(sent.status).toBe(200);
    await page.click(`nav >> text=${t.nav.deliveries}`);
    const row = page.locator('ul.deliveries a.row').first();
    await expect
      .poll(
        async () => {
          await page.reload();
          return text(row)();
        },
        { timeout: 30_000, interval: 500 },
      )
      .toContain(t.status.unmatched[0]);
    await expect.poll(text(row), POLL).toContain('韩梅梅 · 13700137000');
    await expect.poll(text(row), POLL).toContain(t.reason.customer_unresolved);
    await shoot(page, 'zh-deliveries');
    await row.click();
    await page.waitForURL(/\/console\/deliveries\/[0-9a-z]{26}$/);
    const deliveryUrl = page.url();
    await expect.poll(text(page.locator('.headline')), POLL).toContain(t.status.unmatched[0]);
    await shoot(page, 'zh-delivery');

    // the fix: in the editor, the lookup takes its value from the phone field; the preview of this delivery agrees
    await page.click('dd >> text=signup');
    await expect.poll(text(page.locator('#preview')), POLL).toContain(t.preview.outcome.unmatched);
    await page.selectOption('select[name=lookupFrom]', 'entry.field_2');
    await expect.poll(text(page.locator('#preview')), POLL).toContain(t.preview.outcome.would_deliver);
    await expect
      .poll(text(page.locator('#preview pre').first()), POLL)
      .toContain('"select_1680162080347": "484020435193692160"');
    expect(await jsonOpened()).toBe(0);
    await page.click(`button[name=save][value=form]`);
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain(t.editor.saved);
    // the custom field is remembered for this module, with its label
    expect(await page.locator('#crm-fields option[value=select_1680162080347]').getAttribute('label')).toBe('意向套餐');
    // "Send a test": the delivery picked beside the sample, through the configuration as saved; nothing is sent
    const before = crm.tenants.get(PRODUCT_LINE)!.customers.get(CUSTOMER)!.select_1680162080347;
    await page.click(`button:text("${t.editor.sendTest}")`);
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain(t.editor.tested);
    await expect.poll(text(page.locator('#preview')), POLL).toContain(t.preview.outcome.would_deliver);
    expect(crm.tenants.get(PRODUCT_LINE)!.customers.get(CUSTOMER)!.select_1680162080347).toBe(before);
    // the language switch in the header: the same page (the endpoint's, not the test's POST address), in English, and
    // back
    const editorPath = '/console/endpoints/signup';
    await page.click('header a.lang');
    await page.waitForURL((u) => u.pathname === editorPath);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await expect.poll(text(page.locator('h1')), POLL).toBe(CATALOGUES.en.editor.title('signup'));
    await page.click('header a.lang');
    await page.waitForURL((u) => u.pathname === editorPath);
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');

    // the local queue delivers it within a few seconds: reload until the status says so
    await expect.poll(await replayed(page, deliveryUrl, '.headline'), REPLAYED).toContain(t.status.delivered[0]);
    const customer = crm.tenants.get(PRODUCT_LINE)!.customers.get(CUSTOMER)!;
    expect(customer).toMatchObject({
      name: '韩梅梅',
      phone: '13700137000',
      source: '514465485002113024',
      select_1680162080347: '484020435193692160',
    });
    // the stored document is what the form said (the JSON, never touched, was written by the form)
    const stored = (await (await admin('/admin/endpoints/signup')).json()) as { config: Record<string, unknown> };
    expect(stored.config).toMatchObject({
      customerLookup: [{ key: 'phone', value: 'entry.field_2' }],
      fields: { name: 'entry.field_1', phone: 'entry.field_2' },
    });
    await context.close();
  });

  it('zh-CN, clicking only: connects the CRM and picks the product line by name, maps fields and a select by their names, copies the real URL, and fixes a failed lead with its own button — no id typed, no JSON touched, no English', async () => {
    const t = CATALOGUES.zh;
    // the customer is known to the adapter by phone (imported earlier under 客户标识)
    await admin(`/admin/customer-keys?moduleId=${MODULE_ID}`, {
      method: 'POST',
      body: JSON.stringify([{ customer_id: CUSTOMER_EAST, key: 'phone', value: '13600136000' }]),
    });
    const context = await browser.newContext({ viewport: DESKTOP, ...LOCALES.zh });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const page = await signIn(context);
    const seen: Record<string, string[]> = {};
    const look = async (name: string) => {
      seen[name] = await englishOn(page);
      await shoot(page, `zh-clicks-${name}`);
    };

    // 连接 CRM: the connection is tested, the product lines are listed by name
    await page.click(`nav >> text=${t.nav.endpoints}`);
    await page.click(`a:text("${t.crm.link}")`);
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain(t.crm.connected(0).split('0')[0]);
    await look('crm');

    // 字段目录: the CRM web app's customer list, copied from its developer tools, teaches the fields and options.
    // The module is the one every test here uses: its catalogue starts empty, whatever the tests before taught it.
    const db = await mf.getD1Database('DB');
    await db.prepare('DELETE FROM catalogues WHERE module_id = ?').bind(MODULE_ID).run();
    await page.click(`a:text("${t.catalogue.link}")`);
    await expect.poll(text(page.locator('h1')), POLL).toBe(t.catalogue.title);
    const tenant = crm.tenants.get(PRODUCT_LINE_EAST)!;
    const records = [
      {
        id: '688346218203447401',
        name: '甲',
        source: '514465485002113024',
        select_1680162080347: '484020435193692160',
      },
      {
        id: '688346218203447402',
        name: '乙',
        source: '514465485002113025',
        select_1680162080347: '484020435193692161',
      },
      {
        id: '688346218203447403',
        name: '丙',
        source: '514465485002113026',
        select_1680162080347: '484020435193692162',
        textarea_1680158327352: '',
      },
    ].map((c) => expand(c, tenant));
    const captured = JSON.stringify({
      code: 200,
      message: '',
      data: { items: { current_page: 1, per_page: 20, data: records } },
    });
    await page.fill('#capture', captured);
    await page.click(`button:text("${t.catalogue.pasteButton}")`);
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain(t.catalogue.learned(0).split('0')[0]);
    // the select learned has no name yet: the marketer gives it the one the CRM's form shows
    const selectRow = page.locator('tr', { has: page.locator('code:text("select_1680162080347")') });
    await selectRow.locator(`summary:text("${t.catalogue.edit}")`).click();
    await selectRow.locator('input[name=label]').fill('意向等级');
    await selectRow.locator(`button:text("${t.catalogue.save}")`).click();
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain(t.catalogue.saved('select_1680162080347'));
    await expect.poll(text(page.locator('table')), POLL).toContain('高意向、中意向、低意向');
    await look('catalogue');

    // back to 连接 CRM: a new endpoint from the product line picked by its name
    await page.click(`nav >> text=${t.nav.endpoints}`);
    await page.click(`a:text("${t.crm.link}")`);
    await page.locator('ul.cards li', { hasText: EAST_NAME }).locator(`a:text("${t.crm.useIt}")`).click();
    await expect.poll(text(page.locator('h1')), POLL).toBe(t.editor.titleNew);
    expect(await page.inputValue('input[name=productLineId]')).toBe(PRODUCT_LINE_EAST);
    await expect.poll(text(page.locator('form.editor')), POLL).toContain(`${t.editor.productLineName} ${EAST_NAME}`);
    await page.fill('input[name=id]', 'east-signup');
    await page.selectOption('#preset', { label: '金数据 Jinshuju' });
    await page.fill('input[name=name]', '华东活动报名');
    await page.fill('input[name=secret]', 'EAST_TOKEN');
    // the sample 金数据 sent (its documented example shape, test/fixtures/jinshuju.json), pasted: its fields to pick
    // from
    const sample = JSON.stringify({
      form: 'xJfeTv',
      form_name: '活动报名',
      entry: {
        serial_number: 129,
        field_1: '李雷',
        field_2: '13600136000',
        field_4: 'A 套餐',
        field_6: '周末联系',
        created_at: '2026-11-20T08:30:00.000Z',
      },
    });
    await page.fill('#sample', sample);
    await expect.poll(text(page.locator('#sample-fields')), POLL).toContain('entry.field_4');
    // each CRM field by its name; the select's values by their option names
    await page.fill('input[name="row.0.field"]', '姓名');
    await page.selectOption('select[name="row.0.from"]', 'entry.field_1');
    await page.fill('input[name="row.1.field"]', '手机');
    await page.selectOption('select[name="row.1.from"]', 'entry.field_2');
    await page.fill('input[name="row.2.field"]', '备注');
    await page.selectOption('select[name="row.2.from"]', 'entry.field_6');
    await page.click(`button:text("${t.editor.addRow}")`);
    await page.fill('input[name="row.3.field"]', '意向等级');
    await page.selectOption('select[name="row.3.kind"]', 'map');
    await page.selectOption('select[name="row.3.from"]', 'entry.field_4');
    await page.fill('textarea[name="row.3.map"]', 'A 套餐 = 高意向\nB 套餐 = 中意向');
    await page.click(`button:text("${t.editor.addRow}")`);
    await page.fill('input[name="row.4.field"]', '来源');
    await page.selectOption('select[name="row.4.kind"]', 'constant');
    await page.fill('input[name="row.4.value"]', '官网表单');
    await page.selectOption('select[name=lookupKey]', 'phone');
    await page.selectOption('select[name=lookupFrom]', 'entry.field_2');
    await expect.poll(text(page.locator('#preview')), POLL).toContain(t.preview.outcome.would_deliver);
    await expect
      .poll(text(page.locator('#preview pre').first()), POLL)
      .toContain('"select_1680162080347": "484020435193692160"');
    await look('new-endpoint');
    expect(await page.locator('details.advanced[open]').count()).toBe(0);
    await page.click('button[name=save][value=form]');
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain(t.editor.created);
    // read back by name: the option ids stored are shown as the names typed
    expect(await page.inputValue('textarea[name="row.3.map"]')).toContain('A 套餐 = 高意向');

    // the token, typed beside the URL; then the real URL, revealed and copied with its button
    await page.fill('#secret-value', 'east-token-51a8');
    await page.click(`button:text("${t.editor.setSecret}")`);
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain(t.editor.secretSaved('EAST_TOKEN'));
    await page.click('details.real-url summary');
    await page.click('button[data-copy=real-url]');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(`${base}/hooks/east-signup?token=east-token-51a8`);
    await look('editor');

    // 金数据 posts the lead to the URL pasted (as curl would); it is delivered with the option's id
    const sent = await fetch(copied, { method: 'POST', headers: { 'content-type': 'application/json' }, body: sample });
    expect(sent.status).toBe(200);
    await page.click(`nav >> text=${t.nav.deliveries}`);
    const first = page.locator('ul.deliveries a.row', { hasText: '李雷' }).first();
    await expect
      .poll(async () => {
        await page.reload();
        return text(first)();
      }, REPLAYED)
      .toContain(t.status.delivered[0]);
    expect(crm.tenants.get(PRODUCT_LINE_EAST)!.customers.get(CUSTOMER_EAST)).toMatchObject({
      name: '李雷',
      phone: '13600136000',
      note: '周末联系',
      source: '514465485002113024',
      select_1680162080347: '484020435193692160',
    });
    await look('deliveries');

    // the CRM refuses the next one; the marketer opens it and fixes it with the page's own button
    crm.tenants.get(PRODUCT_LINE_EAST)!.failures.push({ code: 422, message: '手机号格式不正确' });
    const again = JSON.stringify({
      ...JSON.parse(sample),
      entry: { ...JSON.parse(sample).entry, serial_number: 130, field_4: 'B 套餐' },
    });
    expect(
      (await fetch(copied, { method: 'POST', headers: { 'content-type': 'application/json' }, body: again })).status,
    ).toBe(200);
    const failed = page.locator('ul.deliveries a.row', { hasText: t.status.failed[0] }).first();
    await expect
      .poll(async () => {
        await page.reload();
        return failed.count();
      }, REPLAYED)
      .toBe(1);
    await failed.click();
    await page.waitForURL(/\/console\/deliveries\/[0-9a-z]{26}$/);
    await expect.poll(text(page.locator('.headline')), POLL).toContain(t.status.failed[0]);
    await look('delivery-failed');
    await expect.poll(await replayed(page, page.url(), '.headline'), REPLAYED).toContain(t.status.delivered[0]);
    expect(crm.tenants.get(PRODUCT_LINE_EAST)!.customers.get(CUSTOMER_EAST)!.select_1680162080347).toBe(
      '484020435193692161',
    );
    await look('delivery-fixed');
    // no page the marketer saw showed an English sentence of the console
    expect(Object.fromEntries(Object.entries(seen).filter(([, found]) => found.length))).toEqual({});
    await context.close();
  });

  it('refuses a POST without the CSRF token, even from the signed-in page itself', async () => {
    const refused = await webhook('landing', { crm_id: CUSTOMER, name: 'x', comment: 'no phone' });
    expect(refused.status).toBe(422);
    const { deliveries } = (await (await admin('/admin/deliveries?endpoint=landing&status=invalid')).json()) as {
      deliveries: { id: string }[];
    };
    const id = deliveries[0]!.id;
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    const page = await signIn(context);
    const status = await page.evaluate(
      async (path) => (await fetch(path, { method: 'POST', body: new URLSearchParams({ x: '1' }) })).status,
      `/console/deliveries/${id}/replay`,
    );
    expect(status).toBe(403);
    const after = (await (await admin(`/admin/deliveries/${id}`)).json()) as { status: string; replays: number };
    expect(after).toMatchObject({ status: 'invalid', replays: 0 });
    await context.close();
  });

  it('renders a payload holding <script> and <img onerror> as text', async () => {
    const evil = '<script>window.__xss = 1; alert(1)</script><img src=x onerror="window.__xss = 2; alert(2)">';
    const config = { ...brokenConfig, name: 'xss', fields: { name: 'name', note: 'comment' } };
    expect((await admin('/admin/endpoints/xss', { method: 'PUT', body: JSON.stringify(config) })).status).toBe(201);
    expect((await webhook('xss', { crm_id: CUSTOMER, name: evil, comment: evil })).status).toBe(200);
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    const page = await signIn(context);
    let dialogs = 0;
    page.on('dialog', async (d) => {
      dialogs += 1;
      await d.dismiss();
    });
    await page.goto(`${base}/console/deliveries?endpoint=xss&status=delivered`);
    await page.locator('ul.deliveries a.row').first().click();
    await expect.poll(text(page.locator('pre').first()), POLL).toContain('<script>window.__xss = 1; alert(1)</script>');
    await expect.poll(text(page.locator('pre').first()), POLL).toContain('<img src=x onerror=');
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('main img').count()).toBe(0);
    expect(dialogs).toBe(0);
    await context.close();
  });

  for (const lang of ['zh', 'en'] as const) {
    it(`${lang}: every page reads at 390 px without sideways scrolling (screenshots of each, at 390 and 1280)`, async () => {
      const t = CATALOGUES[lang];
      const phone = lang === 'zh' ? '+86 138-0013-8000' : '+86 138-0013-8001';
      expect((await webhook('landing', { crm_id: CUSTOMER, name: '没有电话' })).status).toBe(422);
      const context = await browser.newContext({ viewport: PHONE, ...LOCALES[lang] });
      const page = await signIn(context);
      expect(await page.getAttribute('html', 'lang')).toBe(t.lang);
      await shoot(page, `${lang}-overview`);
      await page.goto(`${base}/console/endpoints`);
      await expect.poll(text(page.locator('ul.cards')), POLL).toContain('落地页表单');
      await shoot(page, `${lang}-endpoints`);
      // the way a marketer gets there: the button on the endpoints page
      await page.click(`a:text("${t.endpoints.new}")`);
      await expect.poll(text(page.locator('h1')), POLL).toBe(t.editor.titleNew);
      await shoot(page, `${lang}-endpoint-new`);
      await page.goto(`${base}/console/endpoints/landing`);
      await shoot(page, `${lang}-endpoint-editor`);
      await page.goto(`${base}/console/deliveries`);
      await shoot(page, `${lang}-deliveries`);
      await page.locator('ul.deliveries a.row').first().click();
      await page.waitForURL(/\/console\/deliveries\/[0-9a-z]{26}$/);
      await shoot(page, `${lang}-delivery`);
      await page.goto(`${base}/console/customer-keys`);
      await page.fill('textarea[name=csv]', `customer_id,key,value\n${CUSTOMER},phone,${phone}\nbad,phone,1`);
      await page.fill('form[enctype] input[name=moduleId]', MODULE_ID);
      await page.click(`button:text("${t.keys.submit}")`);
      await expect
        .poll(text(page.locator('.notice')), POLL)
        .toContain(t.keys.imported(MODULE_ID, { received: 2, added: 1, updated: 0, unchanged: 0, refused: 1 }));
      await page.fill('form[role=search] input[name=moduleId]', MODULE_ID);
      await page.fill('form[role=search] input[name=key]', 'phone');
      await page.fill('form[role=search] input[name=value]', phone.replace(/\D/g, '').slice(2));
      await page.click(`button:text("${t.keys.lookUp}")`);
      await expect.poll(text(page.locator('table')), POLL).toContain(CUSTOMER);
      await shoot(page, `${lang}-customer-keys`);
      await page.goto(`${base}/console/deliveries?endpoint=landing&status=invalid`);
      await page.click(`button:text("${t.deliveries.replayEvery('invalid', 'landing', null)}")`);
      await expect.poll(text(page.locator('.confirm')), POLL).toMatch(/\d/);
      await shoot(page, `${lang}-bulk-replay`);
      await context.close();
      const signedOut = await browser.newContext({ viewport: PHONE, ...LOCALES[lang] });
      const signInPage = await signedOut.newPage();
      await signInPage.goto(`${base}/console/sign-in`);
      await expect.poll(text(signInPage.locator('h1')), POLL).toBe(t.signIn.title);
      await shoot(signInPage, `${lang}-sign-in`);
      await signedOut.close();
    });
  }

  it('zh-CN: a lead for a new phone is unmatched; the marketer follows the page’s link, turns creation on, replays, and sees the customer created with its id', async () => {
    const t = CATALOGUES.zh;
    const config = {
      name: '新客户落地页',
      crm: { moduleId: MODULE_ID, productLineId: PRODUCT_LINE },
      verify: { type: 'token', query: 'token', secret: 'E2E_FORM_TOKEN' },
      customerLookup: [{ key: 'phone', value: 'mobile' }],
      fields: { name: 'name', phone: 'mobile', note: 'comment' },
    };
    expect((await admin('/admin/endpoints/newleads', { method: 'PUT', body: JSON.stringify(config) })).status).toBe(
      201,
    );
    const sent = await webhook('newleads', { name: '新面孔', mobile: '13512345678', comment: '第一次来' });
    expect(sent.status).toBe(422);
    const context = await browser.newContext({ viewport: DESKTOP, ...LOCALES.zh });
    const page = await signIn(context);
    // one time zone on every page, the reader's, named: the overview's charts too (they used to say UTC)
    await expect.poll(text(page.locator('.axis time').first()), POLL).toMatch(/GMT\+8|UTC\+8/);
    await page.click(`nav >> text=${t.nav.deliveries}`);
    const row = page.locator('ul.deliveries a.row', { hasText: '13512345678' }).first();
    await expect.poll(text(row), POLL).toContain(t.status.unmatched[0]);
    await row.click();
    await page.waitForURL(/\/console\/deliveries\/[0-9a-z]{26}$/);
    const deliveryUrl = page.url();
    // the page says what is true, and the ways on
    await expect.poll(text(page.locator('main')), POLL).toContain(t.deliveries.unmatched.title);
    expect(await page.locator('main').innerText()).toContain(t.deliveries.unmatched.importKey);
    await shoot(page, 'zh-delivery-unmatched');
    await page.click(`a:text("${t.deliveries.unmatched.turnOnLink}")`);
    await page.waitForURL(/\/console\/endpoints\/newleads/);
    expect(await page.locator('#on-unmatched').innerText()).toContain(t.editor.onUnmatched);
    await page.selectOption('select[name=onUnmatched]', 'create');
    await page.click(`button[name=save][value=form]`);
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain(t.editor.saved);
    const saved = (await (await admin('/admin/endpoints/newleads')).json()) as { config: { onUnmatched: string } };
    expect(saved.config.onUnmatched).toBe('create');
    // back to the lead, and replay it: it is created now
    await expect.poll(await replayed(page, deliveryUrl, 'dl.facts'), REPLAYED).toContain(t.reason.customer_created);
    const created = crm.tenants.get(PRODUCT_LINE)!;
    const customer = [...created.customers.values()].find((c) => c.phone === '13512345678');
    expect(customer).toBeDefined();
    expect(await page.locator('dl.facts').innerText()).toContain(customer!.id);
    await shoot(page, 'zh-delivery-created');
    // the next lead of that phone updates the created customer, at once
    const next = await webhook('newleads', { name: '新面孔', mobile: '13512345678', comment: '第二次来' });
    expect(next.status).toBe(200);
    expect(await next.json()).toMatchObject({ status: 'delivered', customerId: customer!.id });
    await context.close();
  });

  it('zh-CN: refused leads grouped into a problem on the overview; 认领 and 标记为已解决 clicked, then the replay it offers', async () => {
    const t = CATALOGUES.zh;
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${base}/hooks/landing?token=an-old-token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ crm_id: CUSTOMER, name: '旧令牌' }),
      });
      expect(res.status).toBe(401);
    }
    // the console Worker's cron (the watch), as the platform runs it
    const consoleWorker = (await mf.getWorker('crm-webhook-adapter-console')) as unknown as {
      scheduled(o: { cron: string; scheduledTime: Date }): Promise<unknown>;
    };
    await consoleWorker.scheduled({ cron: '*/5 * * * *', scheduledTime: new Date() });
    const context = await browser.newContext({ viewport: DESKTOP, ...LOCALES.zh });
    const page = await signIn(context);
    const problem = page.locator('li[data-problem="landing|rejected|credential_mismatch"]');
    await expect.poll(text(problem), POLL).toContain(t.watch.state.open);
    await shoot(page, 'zh-overview-problem');
    await problem.locator(`button:text("${t.watch.acknowledge}")`).click();
    await expect.poll(text(problem), POLL).toContain(t.watch.state.acknowledged);
    await problem.locator(`button:text("${t.watch.resolve}")`).click();
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain(t.watch.resolvedNotice(0).split('0')[0]);
    expect(await problem.count()).toBe(0);
    // the bulk replay asks first, with the count (refused leads are not replayable: they are reviewed and accepted)
    await page.click(`button:text("${t.watch.replayThem}")`);
    await page.waitForURL((u) => u.pathname === '/console/deliveries/replay');
    await expect.poll(text(page.locator('h1')), POLL).not.toBe('');
    await context.close();
  });

  it('zh-CN: the CRM asks to wait (429, Retry-After), the overview says CRM calls are paused and the lead waits, and 立即恢复 resumes them', async () => {
    const tenant = crm.tenants.get(PRODUCT_LINE)!;
    tenant.failures.push({ http: 429, retryAfter: 600 });
    const first = await webhook('landing', {
      crm_id: CUSTOMER_2,
      name: '吴九',
      mobile: '13900139000',
      tel: '13900139000',
      comment: '被限流',
    });
    expect(first.status).toBe(502);
    // the next lead makes no call while the CRM asked to wait: it waits in the queue
    const second = await webhook('landing', {
      crm_id: CUSTOMER_2,
      name: '吴九',
      mobile: '13900139000',
      tel: '13900139000',
      comment: '暂停期间',
    });
    expect(second.status).toBe(202);
    expect(await second.json()).toMatchObject({ status: 'queued' });
    const context = await browser.newContext({ viewport: DESKTOP, ...LOCALES.zh });
    const page = await signIn(context);
    const t = CATALOGUES.zh.overview;
    await expect.poll(text(page.locator('#crm-paused')), POLL).toBe(t.crmPaused);
    expect(await page.locator('.notice.warn').innerText()).toContain('Retry-After');
    await shoot(page, 'zh-overview-crm-paused');
    await page.getByRole('button', { name: t.crmResume }).click();
    await page.waitForURL(`${base}/console?done=resumed`);
    await expect.poll(text(page.locator('.notice.ok')), POLL).toBe(t.crmResumed);
    expect(await page.locator('#crm-paused').count()).toBe(0);
    const status = (await (await admin('/admin/crm')).json()) as { gates: { paused: boolean; probing: boolean }[] };
    expect(status.gates[0]).toMatchObject({ paused: false, probing: true });
    await context.close();
  });
});

/** Every delivery status, each as a row (copies of a real delivered row), so every page variant is crawled. */
async function rowsOfEveryStatus(endpoint: string, statuses: string[]) {
  const db = await mf.getD1Database('DB');
  const real = await db
    .prepare('SELECT id FROM deliveries WHERE endpoint_id = ? AND status = ? ORDER BY id DESC LIMIT 1')
    .bind(endpoint, 'delivered')
    .first<{ id: string }>();
  const columns = (await db.prepare('PRAGMA table_info(deliveries)').all<{ name: string }>()).results
    .map((c: { name: string }) => c.name)
    .filter((c: string) => c !== 'id' && c !== 'status' && c !== 'duplicate_of');
  for (const [i, status] of statuses.entries()) {
    const id = `${real!.id.slice(0, 23)}x${i.toString(36).padStart(2, '0')}`;
    await db
      .prepare(
        `INSERT OR IGNORE INTO deliveries (id, status, duplicate_of, ${columns.join(', ')}) SELECT ?, ?, ?, ${columns.join(', ')} FROM deliveries WHERE id = ?`,
      )
      .bind(id, status, status === 'duplicate' ? real!.id : null, real!.id)
      .run();
  }
}

type Target = { url: string; fields: [string, string][]; fragment: boolean };

/** The links, GET forms and POST targets (form actions, formaction buttons, the live preview) of a page. */
async function targetsOf(page: Page): Promise<{ links: string[]; posts: Target[] }> {
  return page.evaluate(() => {
    const fieldsOf = (form: HTMLFormElement) =>
      [...new FormData(form).entries()].filter((e): e is [string, string] => typeof e[1] === 'string');
    const links = [...document.querySelectorAll<HTMLAnchorElement>('a[href]')].map((a) => a.href);
    const posts: { url: string; fields: [string, string][]; fragment: boolean }[] = [];
    for (const form of document.querySelectorAll<HTMLFormElement>('form')) {
      if (form.method === 'get') {
        links.push(`${form.action}?${new URLSearchParams(fieldsOf(form)).toString()}`);
        continue;
      }
      posts.push({ url: form.action, fields: fieldsOf(form), fragment: false });
      for (const button of form.querySelectorAll<HTMLButtonElement>('button[formaction]'))
        posts.push({ url: button.formAction, fields: fieldsOf(form), fragment: false });
      if (form.dataset.preview)
        posts.push({ url: new URL(form.dataset.preview, location.href).href, fields: fieldsOf(form), fragment: true });
    }
    return { links, posts };
  });
}

describe('who did what, in Chromium', () => {
  it('zh-CN: an admin changes a field rule, sees the difference to the previous version, restores it, and finds both in the audit log', async () => {
    const t = CATALOGUES.zh;
    const context = await browser.newContext({ viewport: DESKTOP, ...LOCALES.zh });
    const page = await signIn(context);
    await page.click(`nav >> text=${t.nav.endpoints}`);
    await page.locator('a[href="/console/endpoints/landing"]').first().click();
    await expect.poll(text(page.locator('h1')), POLL).toBe(t.editor.title('landing'));
    // the phone rule: "required" switched off, saved
    const phoneRow = page.locator('li.maprow', { has: page.locator('input[value="phone"]') });
    await phoneRow.locator('input[type=checkbox][name$=".required"]').uncheck();
    await page.click('button[name=save][value=form]');
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain(t.editor.saved);
    await page.click(`a:text("${t.versions.link}")`);
    await expect.poll(text(page.locator('h1')), POLL).toBe(t.versions.title('landing'));
    const newest = page.locator('ul.versions li').first();
    await newest.locator(`a:text("${t.versions.compare}")`).click();
    await expect.poll(text(page.locator('table.diff')), POLL).toContain('fields.phone');
    await shoot(page, 'zh-versions-diff');
    // restore the one before: saved as a new version, the difference shown
    await page.locator('ul.versions li').nth(1).locator(`button:text("${t.versions.restore}")`).click();
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain(t.versions.restored(0, 0).slice(0, 3));
    const stored = (await (await admin('/admin/endpoints/landing')).json()) as {
      config: { fields: { phone: unknown } };
    };
    expect(stored.config.fields.phone).toEqual({ from: 'mobile', required: true });
    // both changes in the audit log, by "admin"
    await page.click(`nav >> text=${t.nav.audit}`);
    await expect.poll(text(page.locator('h1')), POLL).toBe(t.audit.title);
    await expect.poll(() => page.locator('tr[data-action="endpoint.restored"]').count(), POLL).toBeGreaterThan(0);
    expect(await page.locator('tr[data-action="endpoint.saved"]').count()).toBeGreaterThan(0);
    expect(await text(page.locator('tr[data-action="endpoint.restored"]').first())()).toContain('landing');
    await shoot(page, 'zh-audit');
    await context.close();
  });

  it('zh-CN, behind Cloudflare Access: a viewer signs in with the team’s JWT and sees no edit buttons; a change is refused with a sentence', async () => {
    const t = CATALOGUES.zh;
    const { webcrypto } = await import('node:crypto');
    const keys = (await webcrypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    const jwk = await webcrypto.subtle.exportKey('jwk', keys.publicKey);
    await fetch(`${crm.url}/__stub/access/certs`, {
      method: 'PUT',
      body: JSON.stringify({ keys: [{ ...jwk, kid: 'e2e-1', alg: 'RS256' }] }),
    });
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${enc({ alg: 'RS256', kid: 'e2e-1' })}.${enc({ email: 'viewer@example.com', aud: ['e2e-aud'], iss: crm.url, iat: now, exp: now + 3600 })}`;
    const sig = Buffer.from(
      await webcrypto.subtle.sign('RSASSA-PKCS1-v1_5', keys.privateKey, new TextEncoder().encode(unsigned)),
    ).toString('base64url');
    const started = await startAdapter(
      0,
      {
        ADMIN_TOKEN,
        CRM_API_TOKEN: 'e2e-crm-token',
        CRM_BASE_URL: crm.url,
        SECRETS_KEY: 'e2e-secrets-key-0123456789abcdef0123',
        ACCESS_TEAM_DOMAIN: crm.url,
        ACCESS_AUD: 'e2e-aud',
        ACCESS_ADMIN_EMAIL: 'boss@example.com',
      },
      { assets: true, console: true, outdir: 'bench/out/e2e-access' },
    );
    const accessBase = started.url.replace('127.0.0.1', 'localhost');
    try {
      const put = await fetch(`${accessBase}/admin/endpoints/landing`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(brokenConfig),
      });
      expect(put.status).toBe(201);
      const context = await browser.newContext({
        viewport: DESKTOP,
        ...LOCALES.zh,
        extraHTTPHeaders: { 'cf-access-jwt-assertion': `${unsigned}.${sig}` },
      });
      const page = await context.newPage();
      await page.goto(`${accessBase}/console`);
      await expect
        .poll(text(page.locator('p.who')), POLL)
        .toContain(t.team.you('viewer@example.com', t.team.roles.viewer));
      await page.click(`nav >> text=${t.nav.endpoints}`);
      expect(await page.locator(`a:text("${t.endpoints.new}")`).count()).toBe(0);
      await page.locator('a[href="/console/endpoints/landing"]').first().click();
      await expect.poll(text(page.locator('h1')), POLL).toBe(t.editor.title('landing'));
      expect(await page.locator('button[name=save]').count()).toBe(0);
      expect(await page.locator('#secret-value').count()).toBe(0);
      await shoot(page, 'zh-viewer-editor');
      // asked anyway (a form posted by hand): refused with the role named and whom to ask
      const csrf = await page.locator('input[name=_csrf]').first().inputValue();
      const refused = await page.evaluate(async (token) => {
        const res = await fetch('/console/endpoints/landing/secret', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
          body: new URLSearchParams({ _csrf: token, value: 'x' }),
        });
        return { status: res.status, text: await res.text() };
      }, csrf);
      expect(refused.status).toBe(403);
      expect(refused.text).toContain(t.team.needs(t.team.roles.admin, t.team.roles.viewer).slice(0, 6));
      await context.close();
    } finally {
      await started.mf.dispose();
    }
  });
});

describe.each(['zh', 'en'] as const)('every console link works (%s)', (lang) => {
  it('crawls every page from the overview: each link, GET form and POST target answers, and no page scrolls sideways', async () => {
    const config = { ...brokenConfig, name: 'crawl', fields: { name: 'name', note: 'comment' } };
    expect([200, 201]).toContain(
      (await admin('/admin/endpoints/crawl', { method: 'PUT', body: JSON.stringify(config) })).status,
    );
    expect((await webhook('crawl', { crm_id: CUSTOMER, name: '爬虫', comment: 'crawl' })).status).toBe(200);
    expect((await fetch(`${base}/hooks/crawl?token=wrong`, { method: 'POST', body: '{}' })).status).toBe(401);
    const context = await browser.newContext({ viewport: PHONE, ...LOCALES[lang] });
    const page = await signIn(context);
    expect(await page.getAttribute('html', 'lang')).toBe(CATALOGUES[lang].lang);
    // the statuses a user can filter by are the ones to have a row of each
    await page.goto(`${base}/console/deliveries`);
    const statuses = (
      await page
        .locator('select[name=status] option')
        .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))
    ).filter((v) => v && v !== 'attention'); // 'attention' is a filter, not a status
    expect(statuses).toContain('dead');
    await rowsOfEveryStatus('crawl', statuses);
    const keys = await admin(`/admin/customer-keys?moduleId=${MODULE_ID}`, {
      method: 'POST',
      body: JSON.stringify([{ customer_id: CUSTOMER, key: 'phone', value: '13800138000' }]),
    });
    expect(keys.status).toBe(200);

    // the page script must run on every page (a script error silently disables the live preview and local times)
    const scriptErrors: string[] = [];
    page.on('pageerror', (err) => scriptErrors.push(`${page.url()}: ${err.message}`));
    const origin = new URL(base).origin;
    const seen = new Set<string>();
    const queue = [`${base}/console`];
    const posts = new Map<string, Target>();
    const broken: string[] = [];
    const switches = new Set<string>();
    while (queue.length > 0 && seen.size < 400) {
      const url = queue.shift()!;
      if (seen.has(url)) continue;
      seen.add(url);
      const res = await page.goto(url);
      const status = res?.status() ?? 0;
      if (status >= 400) broken.push(`GET ${url} -> ${status}`);
      const s = await sideways(page);
      if (!s.styled || s.overflow > 0)
        broken.push(`${url} scrolls sideways at 390 px by ${s.overflow}: ${s.culprits.join(', ')}`);
      const pageLang = await page.getAttribute('html', 'lang');
      if (pageLang !== CATALOGUES[lang].lang) broken.push(`${url} is in ${pageLang}, not ${CATALOGUES[lang].lang}`);
      const found = await targetsOf(page);
      for (const link of found.links) {
        if (!URL.canParse(link)) broken.push(`${url} links to ${JSON.stringify(link)}`);
        if (!URL.canParse(link)) continue;
        const u = new URL(link);
        u.hash = '';
        // the language switch is followed once (it would turn the rest of the crawl into the other language)
        if (u.pathname === '/console/language') {
          switches.add(u.href);
          continue;
        }
        if (
          u.origin === origin &&
          u.pathname.startsWith('/console') &&
          !u.pathname.startsWith('/console/static/') &&
          !seen.has(u.href)
        )
          queue.push(u.href);
      }
      for (const t of found.posts) posts.set(`${t.url} ${t.fragment}`, t);
    }
    expect(queue, 'the crawl stopped early').toEqual([]);
    expect(broken).toEqual([]);
    expect(scriptErrors).toEqual([]);
    // every page had the crawl's language (checked above) and offered the switch to the other one
    expect(switches.size).toBeGreaterThan(0);
    // times are the reader's own, with the zone named
    await page.goto(`${base}/console/deliveries`);
    expect(await page.locator('time').first().innerText()).toMatch(/UTC|GMT|[+-]\d/);
    // every page kind was reached, with a delivery of every status
    const paths = [...seen].map((u) => new URL(u).pathname);
    for (const p of [
      '/console',
      '/console/deliveries',
      '/console/endpoints',
      '/console/endpoints/_new',
      '/console/endpoints/crawl',
      '/console/customer-keys',
    ])
      expect(paths).toContain(p);
    expect(paths.filter((p) => /^\/console\/deliveries\/[0-9a-z]{26}$/.test(p)).length).toBeGreaterThanOrEqual(
      statuses.length,
    );
    expect(paths.some((p) => p.endsWith('/preview'))).toBe(true);

    // POSTs with the page's own fields and CSRF token; sign-out last (it ends the session)
    const signOut = [...posts.values()].filter((t) => t.url.endsWith('/console/sign-out'));
    expect(signOut.length).toBe(1);
    const targets = [...posts.values()].filter((t) => !t.url.endsWith('/console/sign-out'));
    for (const t of [...targets, ...signOut]) {
      const res = await page.request.post(t.url, {
        form: Object.fromEntries(t.fields),
        headers: {
          accept: 'text/html',
          origin,
          ...(t.fragment
            ? { 'x-console-fragment': 'preview', 'x-csrf-token': Object.fromEntries(t.fields)._csrf ?? '' }
            : {}),
        },
      });
      if (res.status() === 404 || res.status() >= 500)
        broken.push(`POST ${t.url}${t.fragment ? ' (live preview)' : ''} -> ${res.status()}`);
    }
    const postPaths = targets.map((t) => new URL(t.url).pathname);
    for (const p of [
      '/console/endpoints',
      '/console/endpoints/_new/preview',
      '/console/endpoints/crawl/preview',
      '/console/deliveries/replay',
      '/console/customer-keys/import',
    ])
      expect(postPaths).toContain(p);
    expect(broken).toEqual([]);
    // the switch answers and comes back to the page it was on, in the other language
    const switchUrl = [...switches][0]!;
    const back = await page.request.get(switchUrl, { maxRedirects: 0 });
    expect(back.status()).toBe(303);
    expect(back.headers()['set-cookie']).toContain(`lang=${lang === 'zh' ? 'en' : 'zh'}`);
    console.log(`${lang}: crawled ${seen.size} pages and ${posts.size} POST targets`);
    await context.close();
  });
});
