/// <reference lib="dom" />
/**
 * The console in a real headless Chromium (Debian's `chromium`, driven by playwright-core; no browser
 * download) against the built Worker running locally in workerd (Miniflare: local KV, D1, Queues, static
 * assets) and the stand-in CRM on loopback. Screenshots of every page at desktop and phone width go to
 * test-results/console/ (not committed). `npm run test:e2e`; CHROMIUM_PATH overrides /usr/bin/chromium.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Miniflare } from 'miniflare';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdapter } from '../../bench/worker.ts';
import { startCrmStub, type CrmStub } from '../crm-stub/server.ts';
import { newTenant } from '../crm-stub/state.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = 'test-results/console';
const ADMIN_TOKEN = 'e2e-admin-token';
const FORM_TOKEN = 'e2e-form-token';
const MODULE_ID = '347772778973233152';
const PRODUCT_LINE = '688051545102614528';
const CUSTOMER = '688346218203447296';
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 860 };

let crm: CrmStub;
let mf: Miniflare;
let base: string;
let browser: Browser;

/** The endpoint as first set up: its mapping reads `mobile`, but the form sends `tel` (fixed in the console). */
const brokenConfig = {
  name: '落地页表单 (landing page)',
  crm: { moduleId: MODULE_ID, productLineId: PRODUCT_LINE },
  verify: { type: 'token', query: 'token', secret: 'E2E_FORM_TOKEN' },
  customerId: 'crm_id',
  fields: { name: 'name', phone: { from: 'mobile', required: true }, note: 'comment' },
};

async function admin(path: string, init: RequestInit = {}) {
  return fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...init.headers } });
}

async function webhook(endpoint: string, body: Record<string, unknown>) {
  return fetch(`${base}/hooks/${endpoint}?token=${FORM_TOKEN}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
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

/** Saves a screenshot at phone and desktop width, and checks that nothing scrolls sideways at 390 px. */
async function shoot(page: Page, name: string) {
  await page.setViewportSize(PHONE);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow, `${name} scrolls sideways at 390 px`).toBeLessThanOrEqual(0);
  await page.screenshot({ path: `${SHOTS}/${name}-phone.png`, fullPage: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: `${SHOTS}/${name}-desktop.png`, fullPage: true });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  mkdirSync(SHOTS, { recursive: true });
  crm = await startCrmStub({ token: 'e2e-crm-token', port: 0, host: '127.0.0.1' });
  crm.tenants.set(PRODUCT_LINE, newTenant(PRODUCT_LINE, { customers: [{ id: CUSTOMER, name: '单单', phone: '18888282822', note: '', own_id: '400000000000000002', source: '514465485002113024' }] }));
  const started = await startAdapter(0, {
    ADMIN_TOKEN, CRM_API_TOKEN: 'e2e-crm-token', CRM_BASE_URL: crm.url, E2E_FORM_TOKEN: FORM_TOKEN, SECRETS_KEY: 'e2e-secrets-key-0123456789abcdef0123',
  }, { assets: true, outdir: 'bench/out/e2e-build' });
  mf = started.mf;
  // Chromium treats localhost as a secure context, so the Secure, __Host- session cookie is kept over http
  base = started.url.replace('127.0.0.1', 'localhost');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  expect((await admin('/admin/endpoints/landing', { method: 'PUT', body: JSON.stringify(brokenConfig) })).status).toBe(201);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await mf?.dispose();
  await crm?.close();
});

describe('the console in Chromium', () => {
  it('redirects a signed-out visit to sign-in', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await page.goto(`${base}/console/deliveries?status=failed`);
    expect(page.url()).toBe(`${base}/console/sign-in?next=%2Fconsole%2Fdeliveries%3Fstatus%3Dfailed`);
    await expect.poll(text(page.locator('h1')), POLL).toBe('Sign in');
    await shoot(page, 'sign-in');
    await context.close();
  });

  it('signs in with the keyboard alone, and Tab reaches the skip link first', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await page.goto(`${base}/console/sign-in`);
    await page.keyboard.type(ADMIN_TOKEN); // the token field has autofocus
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/console`);
    const cookie = (await context.cookies()).find((c) => c.name === '__Host-console');
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await context.close();
  });

  it('a failed delivery is seen, the endpoint fixed with a live preview, the delivery replayed and delivered', async () => {
    // the form sends `tel`; the mapping requires `mobile`: the webhook is refused and logged
    const refused = await webhook('landing', { crm_id: CUSTOMER, name: '吴九', tel: '13900139000', comment: '想了解价格' });
    expect(refused.status).toBe(422);
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await signIn(context);
    await expect.poll(text(page.locator('#failing + ul')), POLL).toContain('landing');
    await shoot(page, 'overview');

    await page.click('nav >> text=Deliveries');
    const row = page.locator('ul.deliveries a.row').first();
    await expect.poll(text(row), POLL).toContain('invalid');
    await expect.poll(text(row), POLL).toContain('phone');
    await shoot(page, 'deliveries');
    await row.click();
    const deliveryUrl = page.url();
    await expect.poll(text(page.locator('.headline')), POLL).toContain('invalid');
    await expect.poll(text(page.locator('pre').first()), POLL).toContain('吴九');
    await shoot(page, 'delivery');

    // the editor opens with a preview of that delivery: phone is missing
    await page.click('dd >> text=landing');
    await expect.poll(text(page.locator('#preview')), POLL).toContain('Would be refused');
    await shoot(page, 'endpoint-editor');
    const fixed = JSON.parse(await page.inputValue('#config'));
    fixed.fields.phone = { from: 'tel', required: true };
    await page.fill('#config', JSON.stringify(fixed, null, 2));
    await expect.poll(text(page.locator('#preview')), POLL).toContain('Would update the customer');
    await expect.poll(text(page.locator('#preview pre').first()), POLL).toContain('"phone": "13900139000"');
    // an edit of the mapping changes the preview, live
    fixed.fields.note = '"表单: " & comment';
    await page.fill('#config', JSON.stringify(fixed, null, 2));
    await expect.poll(text(page.locator('#preview pre').first()), POLL).toContain('"note": "表单: 想了解价格"');
    // a broken edit shows the problem next to the configuration
    await page.fill('#config', JSON.stringify({ ...fixed, crm: { moduleId: 'abc', productLineId: PRODUCT_LINE } }));
    await expect.poll(text(page.locator('#config-issues')), POLL).toContain('crm.moduleId');
    await page.fill('#config', JSON.stringify(fixed, null, 2));
    await expect.poll(text(page.locator('#config-issues')), POLL).toBe('');
    await page.click('button:text("Save")');
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain('Configuration saved');

    await page.goto(deliveryUrl);
    await page.click('button:text("Replay")');
    await expect.poll(text(page.locator('.notice.ok')), POLL).toContain('Replay queued');
    // the local queue delivers it within a few seconds: reload until the status says so
    await expect
      .poll(async () => {
        await page.reload();
        return (await page.locator('.headline').innerText()).trim();
      }, { timeout: 30_000, interval: 500 })
      .toBe('delivered');
    await expect.poll(text(page.locator('ol.timeline')), POLL).toContain('delivered');
    const customer = crm.tenants.get(PRODUCT_LINE)!.customers.get(CUSTOMER)!;
    expect(customer.phone).toBe('13900139000');
    expect(customer.note).toBe('表单: 想了解价格');
    await context.close();
  });

  it('refuses a POST without the CSRF token, even from the signed-in page itself', async () => {
    const refused = await webhook('landing', { crm_id: CUSTOMER, name: 'x', comment: 'no phone' });
    expect(refused.status).toBe(422);
    const { deliveries } = (await (await admin('/admin/deliveries?endpoint=landing&status=invalid')).json()) as { deliveries: { id: string }[] };
    const id = deliveries[0]!.id;
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await signIn(context);
    const status = await page.evaluate(async (path) => (await fetch(path, { method: 'POST', body: new URLSearchParams({ x: '1' }) })).status, `/console/deliveries/${id}/replay`);
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
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await signIn(context);
    let dialogs = 0;
    page.on('dialog', async (d) => ((dialogs += 1), await d.dismiss()));
    await page.goto(`${base}/console/deliveries?endpoint=xss&status=delivered`);
    await page.locator('ul.deliveries a.row').first().click();
    await expect.poll(text(page.locator('pre').first()), POLL).toContain('<script>window.__xss = 1; alert(1)</script>');
    await expect.poll(text(page.locator('pre').first()), POLL).toContain('<img src=x onerror=');
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('main img').count()).toBe(0);
    expect(dialogs).toBe(0);
    await context.close();
  });

  it('every page reads at 390 px without sideways scrolling (screenshots of each)', async () => {
    expect((await webhook('landing', { crm_id: CUSTOMER, name: '没有电话' })).status).toBe(422);
    const context = await browser.newContext({ viewport: PHONE });
    const page = await signIn(context);
    await page.goto(`${base}/console/endpoints`);
    await expect.poll(text(page.locator('ul.cards')), POLL).toContain('落地页表单');
    await shoot(page, 'endpoints');
    await page.goto(`${base}/console/endpoints/_new`);
    await shoot(page, 'endpoint-new');
    await page.goto(`${base}/console/customer-keys`);
    await page.fill('textarea[name=csv]', `customer_id,key,value\n${CUSTOMER},phone,+86 138-0013-8000\nbad,phone,1`);
    await page.fill('form[enctype] input[name=moduleId]', MODULE_ID);
    await page.click('button:text("Import")');
    await expect.poll(text(page.locator('.notice')), POLL).toContain('2 rows received, 1 added, 0 updated, 0 unchanged, 1 refused.');
    await page.fill('form[role=search] input[name=moduleId]', MODULE_ID);
    await page.fill('form[role=search] input[name=key]', 'phone');
    await page.fill('form[role=search] input[name=value]', '13800138000');
    await page.click('button:text("Look up")');
    await expect.poll(text(page.locator('table')), POLL).toContain(CUSTOMER);
    await shoot(page, 'customer-keys');
    await page.goto(`${base}/console/deliveries?endpoint=landing&status=invalid`);
    await page.click('button:text("Replay every invalid delivery of landing…")');
    await expect.poll(text(page.locator('.confirm')), POLL).toMatch(/^Replay \d+ invalid deliver(y|ies) of landing\?$/);
    await shoot(page, 'bulk-replay');
    await context.close();
  });
});
