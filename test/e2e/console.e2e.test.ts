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
import { startCrmStub, type CrmStub } from '../crm-stub/server.ts';
import { newTenant } from '../crm-stub/state.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FONTS = fileURLToPath(new URL('./fonts.conf', import.meta.url));
const FONT_FILES = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc'];
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
  await page.setViewportSize(PHONE);
  const s = await sideways(page);
  expect(s.styled, `${name}: app.css is not applied`).toBe(true);
  expect(s.overflow, `${name} scrolls sideways at 390 px: ${s.culprits.join(', ')}`).toBeLessThanOrEqual(0);
  await page.screenshot({ path: `${SHOTS}/${name}-phone.png`, fullPage: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: `${SHOTS}/${name}-desktop.png`, fullPage: true });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  for (const font of FONT_FILES) if (!existsSync(font)) throw new Error(`no ${font}: apt-get install fonts-dejavu-core fonts-noto-cjk`);
  mkdirSync(SHOTS, { recursive: true });
  crm = await startCrmStub({ token: 'e2e-crm-token', port: 0, host: '127.0.0.1' });
  crm.tenants.set(
    PRODUCT_LINE,
    newTenant(PRODUCT_LINE, { customers: [{ id: CUSTOMER, name: '单单', phone: '18888282822', note: '', own_id: '400000000000000002', source: '514465485002113024' }] }),
  );
  const started = await startAdapter(
    0,
    {
      ADMIN_TOKEN,
      CRM_API_TOKEN: 'e2e-crm-token',
      CRM_BASE_URL: crm.url,
      E2E_FORM_TOKEN: FORM_TOKEN,
      SECRETS_KEY: 'e2e-secrets-key-0123456789abcdef0123',
    },
    { assets: true, console: true, outdir: 'bench/out/e2e-build' },
  );
  mf = started.mf;
  // Chromium treats localhost as a secure context, so the Secure, __Host- session cookie is kept over http
  base = started.url.replace('127.0.0.1', 'localhost');
  // the fonts are fixed (test/e2e/fonts.conf: the two font packages .ci/run installs), so the layout measured
  // is the same on a fresh machine as on one that has collected other fonts
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], env: { ...process.env, FONTCONFIG_FILE: FONTS } });
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
      .poll(
        async () => {
          await page.reload();
          return (await page.locator('.headline').innerText()).trim();
        },
        { timeout: 30_000, interval: 500 },
      )
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

  it('every page reads at 390 px without sideways scrolling (screenshots of each)', async () => {
    expect((await webhook('landing', { crm_id: CUSTOMER, name: '没有电话' })).status).toBe(422);
    const context = await browser.newContext({ viewport: PHONE });
    const page = await signIn(context);
    await page.goto(`${base}/console/endpoints`);
    await expect.poll(text(page.locator('ul.cards')), POLL).toContain('落地页表单');
    await shoot(page, 'endpoints');
    // the way a marketer gets there: the button on the endpoints page
    await page.click('a:text("New endpoint")');
    await expect.poll(text(page.locator('h1')), POLL).toBe('New endpoint');
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

/** Every delivery status, each as a row (copies of a real delivered row), so every page variant is crawled. */
async function rowsOfEveryStatus(endpoint: string, statuses: string[]) {
  const db = await mf.getD1Database('DB');
  const real = await db.prepare('SELECT id FROM deliveries WHERE endpoint_id = ? AND status = ? ORDER BY id DESC LIMIT 1').bind(endpoint, 'delivered').first<{ id: string }>();
  const columns = (await db.prepare('PRAGMA table_info(deliveries)').all<{ name: string }>()).results
    .map((c: { name: string }) => c.name)
    .filter((c: string) => c !== 'id' && c !== 'status' && c !== 'duplicate_of');
  for (const [i, status] of statuses.entries()) {
    const id = `${real!.id.slice(0, 23)}x${i.toString(36).padStart(2, '0')}`;
    await db
      .prepare(`INSERT INTO deliveries (id, status, duplicate_of, ${columns.join(', ')}) SELECT ?, ?, ?, ${columns.join(', ')} FROM deliveries WHERE id = ?`)
      .bind(id, status, status === 'duplicate' ? real!.id : null, real!.id)
      .run();
  }
}

type Target = { url: string; fields: [string, string][]; fragment: boolean };

/** The links, GET forms and POST targets (form actions, formaction buttons, the live preview) of a page. */
async function targetsOf(page: Page): Promise<{ links: string[]; posts: Target[] }> {
  return page.evaluate(() => {
    const fieldsOf = (form: HTMLFormElement) => [...new FormData(form).entries()].filter((e): e is [string, string] => typeof e[1] === 'string');
    const links = [...document.querySelectorAll<HTMLAnchorElement>('a[href]')].map((a) => a.href);
    const posts: { url: string; fields: [string, string][]; fragment: boolean }[] = [];
    for (const form of document.querySelectorAll<HTMLFormElement>('form')) {
      if (form.method === 'get') {
        links.push(`${form.action}?${new URLSearchParams(fieldsOf(form)).toString()}`);
        continue;
      }
      posts.push({ url: form.action, fields: fieldsOf(form), fragment: false });
      for (const button of form.querySelectorAll<HTMLButtonElement>('button[formaction]')) posts.push({ url: button.formAction, fields: fieldsOf(form), fragment: false });
      if (form.dataset.preview) posts.push({ url: new URL(form.dataset.preview, location.href).href, fields: fieldsOf(form), fragment: true });
    }
    return { links, posts };
  });
}

describe('every console link works', () => {
  it('crawls every page from the overview: each link, GET form and POST target answers, and no page scrolls sideways', async () => {
    const config = { ...brokenConfig, name: 'crawl', fields: { name: 'name', note: 'comment' } };
    expect((await admin('/admin/endpoints/crawl', { method: 'PUT', body: JSON.stringify(config) })).status).toBe(201);
    expect((await webhook('crawl', { crm_id: CUSTOMER, name: '爬虫', comment: 'crawl' })).status).toBe(200);
    expect((await fetch(`${base}/hooks/crawl?token=wrong`, { method: 'POST', body: '{}' })).status).toBe(401);
    const context = await browser.newContext({ viewport: PHONE });
    const page = await signIn(context);
    // the statuses a user can filter by are the ones to have a row of each
    await page.goto(`${base}/console/deliveries`);
    const statuses = (await page.locator('select[name=status] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).filter(Boolean);
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
    while (queue.length > 0 && seen.size < 400) {
      const url = queue.shift()!;
      if (seen.has(url)) continue;
      seen.add(url);
      const res = await page.goto(url);
      const status = res?.status() ?? 0;
      if (status >= 400) broken.push(`GET ${url} -> ${status}`);
      const s = await sideways(page);
      if (!s.styled || s.overflow > 0) broken.push(`${url} scrolls sideways at 390 px by ${s.overflow}: ${s.culprits.join(', ')}`);
      const found = await targetsOf(page);
      for (const link of found.links) {
        const u = new URL(link);
        u.hash = '';
        if (u.origin === origin && u.pathname.startsWith('/console') && !u.pathname.startsWith('/console/static/') && !seen.has(u.href)) queue.push(u.href);
      }
      for (const t of found.posts) posts.set(`${t.url} ${t.fragment}`, t);
    }
    expect(queue, 'the crawl stopped early').toEqual([]);
    expect(broken).toEqual([]);
    expect(scriptErrors).toEqual([]);
    // times are the reader's own, with the zone named
    await page.goto(`${base}/console/deliveries`);
    expect(await page.locator('time').first().innerText()).toMatch(/UTC|GMT|[+-]\d/);
    // every page kind was reached, with a delivery of every status
    const paths = [...seen].map((u) => new URL(u).pathname);
    for (const p of ['/console', '/console/deliveries', '/console/endpoints', '/console/endpoints/_new', '/console/endpoints/crawl', '/console/customer-keys'])
      expect(paths).toContain(p);
    expect(paths.filter((p) => /^\/console\/deliveries\/[0-9a-z]{26}$/.test(p)).length).toBeGreaterThanOrEqual(statuses.length);
    expect(paths.some((p) => p.endsWith('/preview'))).toBe(true);

    // POSTs with the page's own fields and CSRF token; sign-out last (it ends the session)
    const signOut = [...posts.values()].filter((t) => t.url.endsWith('/console/sign-out'));
    expect(signOut.length).toBe(1);
    const targets = [...posts.values()].filter((t) => !t.url.endsWith('/console/sign-out'));
    for (const t of [...targets, ...signOut]) {
      const res = await page.request.post(t.url, {
        form: Object.fromEntries(t.fields),
        headers: { accept: 'text/html', origin, ...(t.fragment ? { 'x-console-fragment': 'preview', 'x-csrf-token': Object.fromEntries(t.fields)._csrf ?? '' } : {}) },
      });
      if (res.status() === 404 || res.status() >= 500) broken.push(`POST ${t.url}${t.fragment ? ' (live preview)' : ''} -> ${res.status()}`);
    }
    const postPaths = targets.map((t) => new URL(t.url).pathname);
    for (const p of ['/console/endpoints', '/console/endpoints/_new/preview', '/console/endpoints/crawl/preview', '/console/deliveries/replay', '/console/customer-keys/import'])
      expect(postPaths).toContain(p);
    expect(broken).toEqual([]);
    console.log(`crawled ${seen.size} pages and ${posts.size} POST targets`);
    await context.close();
  });
});
