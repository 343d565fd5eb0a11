/**
 * A marketer finishes the setup alone (issue "A marketer finishes the setup alone", the parts built this round): the
 * overview's "all that needs a person" list holds every such status; one set of secrets across the two Workers (the
 * console knows what the webhook Worker holds, and refuses a vault written with another SECRETS_KEY); the editor never
 * loses work (500 rules survive a save, more than the limit is refused with it named, object-like names refused, not
 * a 500).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CATALOGUES } from '../src/console/i18n';
import { withSecretFacts } from '../src/secrets/handoff';
import {
  call,
  callWith,
  consoleForm,
  consolePage,
  consoleSignIn,
  crmFailures,
  CUSTOMER_ID,
  hook,
  leadJson,
  MODULE_ID,
  setupEndpoint,
  unique,
  ZH_PAGE as ZH,
} from './helpers';

const BASE = 'https://adapter.test';
const signIn = consoleSignIn;
const form = consoleForm;
const page = consolePage;

describe('the overview’s list of everything that needs a person', () => {
  it('links to a list holding the failed, the unmatched and the refused alike (not only status=failed)', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    await call(hook(endpointId, leadJson(), { query: '?token=wrong' })); // rejected
    await call(hook(endpointId, leadJson({ crm_id: '700000000000000099' }))); // the CRM knows no such customer: failed
    await crmFailures(productLineId, [{ code: 500, message: '系统错误' }]);
    await call(hook(endpointId, leadJson({ crm_id: CUSTOMER_ID }))); // failed
    const s = await signIn();
    const overview = await (await call(page('/console', s))).text();
    const link = /<a href="(\/console\/deliveries\?status=attention)">([^<]+)<\/a>/.exec(overview)!;
    expect(link[2]).toBe(CATALOGUES.zh.overview.allFailed);
    const html = await (await call(page(link[1]!, s))).text();
    const list = html.slice(html.indexOf('<ul class="deliveries">'));
    for (const status of ['rejected', 'failed']) expect(list).toContain(`<code>${status}</code>`);
    expect(list).not.toContain('<code>delivered</code>');
  });
});

describe('one set of secrets across the two Workers', () => {
  /**
   * A console request as the webhook Worker hands it over, from a webhook Worker that holds `held` as Worker secrets.
   */
  async function handedOver(request: Request, held: Record<string, string>, secretsKey = env.SECRETS_KEY) {
    const facts = await withSecretFacts(request, { ...env, ...held, SECRETS_KEY: secretsKey } as Env);
    // the console Worker itself holds none of them (production: `wrangler secret put` went to the webhook Worker)
    const off = Object.fromEntries(Object.keys(held).map((k) => [k, undefined]));
    return callWith(facts, off);
  }

  it('the console refuses to set a secret the webhook Worker holds itself (it would be ignored), and writes nothing', async () => {
    const name = `SPLIT_${crypto.randomUUID().slice(0, 6).toUpperCase()}`;
    const { endpointId } = await setupEndpoint({ verify: { type: 'token', query: 'token', secret: name } });
    const s = await signIn();
    const res = await handedOver(form(`/console/endpoints/${endpointId}/secret`, s, { value: 'typed-in-console-1' }), {
      [name]: 'worker-value-0',
    });
    expect(res.status).toBe(409);
    expect(await res.text()).toContain(CATALOGUES.zh.editor.secretWorker(name));
    expect(await env.ENDPOINTS.get(`v1:secret:${name}`)).toBeNull();
  });

  it('the editor does not warn that such a secret is missing', async () => {
    const name = `SPLIT_${crypto.randomUUID().slice(0, 6).toUpperCase()}`;
    const { endpointId } = await setupEndpoint({ verify: { type: 'token', query: 'token', secret: name } });
    const s = await signIn();
    const warned = await (await handedOver(page(`/console/endpoints/${endpointId}`, s), {})).text();
    expect(warned).toContain(CATALOGUES.zh.editor.secretNotSet(name));
    const held = await (
      await handedOver(page(`/console/endpoints/${endpointId}`, s), { [name]: 'worker-value-0' })
    ).text();
    expect(held).not.toContain(CATALOGUES.zh.editor.secretNotSet(name));
  });

  it('a webhook Worker with another SECRETS_KEY: the console refuses to save (its webhooks could not read it)', async () => {
    const name = `SPLIT_${crypto.randomUUID().slice(0, 6).toUpperCase()}`;
    const { endpointId } = await setupEndpoint({ verify: { type: 'token', query: 'token', secret: name } });
    const s = await signIn();
    const res = await handedOver(
      form(`/console/endpoints/${endpointId}/secret`, s, { value: 'typed-in-console-2' }),
      {},
      'another-secrets-key-0123456789abcdef0123',
    );
    expect(res.status).toBe(503);
    expect(await res.text()).toContain(CATALOGUES.zh.editor.secretKeyMismatch);
    expect(await env.ENDPOINTS.get(`v1:secret:${name}`)).toBeNull();
  });

  it('the webhook Worker replaces a sender’s forged copy of those headers with its own facts', async () => {
    const name = `FORGED_${crypto.randomUUID().slice(0, 6).toUpperCase()}`;
    const { endpointId } = await setupEndpoint({ verify: { type: 'token', query: 'token', secret: name } });
    const s = await signIn();
    const forged = new Request(`${BASE}/console/endpoints/${endpointId}`, {
      headers: { cookie: s.cookie, ...ZH, 'x-adapter-worker-secrets': name },
    });
    expect(await (await call(forged)).text()).toContain(CATALOGUES.zh.editor.secretNotSet(name));
  });
});

describe('the editor never loses work', () => {
  const rows = (n: number, name = (i: number) => `input_${1_700_000_000 + i}`) =>
    Object.fromEntries(
      Array.from({ length: n }, (_, i) => [
        [`row.${i}.field`, name(i)],
        [`row.${i}.kind`, 'field'],
        [`row.${i}.from`, 'comment'],
      ]).flat(),
    );
  const picked = (productLineId: string) => ({
    editing: 'form',
    name: '很多字段',
    moduleId: MODULE_ID,
    productLineId,
    secret: 'TEST_FORM_TOKEN',
    customerId: 'crm_id',
    updateMode: 'patch',
    config: '{}',
    save: 'form',
  });

  it('500 field rules survive a save from the form, and an unchanged save after it', async () => {
    const { productLineId } = await setupEndpoint();
    const s = await signIn();
    const id = unique('rules');
    const res = await call(form('/console/endpoints', s, { id, ...picked(productLineId), ...rows(500) }));
    expect(res.status).toBe(303);
    const stored = async () =>
      Object.keys(
        (await env.ENDPOINTS.get<{ config: { fields: object } }>(`v1:endpoint:${id}`, 'json'))!.config.fields,
      );
    expect(await stored()).toHaveLength(500);
    expect((await call(form(`/console/endpoints/${id}`, s, { ...picked(productLineId), ...rows(500) }))).status).toBe(
      303,
    );
    expect(await stored()).toHaveLength(500);
  });

  it('more rules than the limit are refused with the limit named, and nothing is stored', async () => {
    const { productLineId } = await setupEndpoint();
    const s = await signIn();
    const id = unique('toomany');
    const res = await call(form('/console/endpoints', s, { id, ...picked(productLineId), ...rows(1001) }));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('at most 1000 field rules');
    expect(await env.ENDPOINTS.get(`v1:endpoint:${id}`)).toBeNull();
  });

  it.each(['__proto__', 'constructor', 'prototype'])(
    'a field named %s is refused with a sentence, never dropped or a 500',
    async (name) => {
      const { productLineId } = await setupEndpoint();
      const s = await signIn();
      const id = unique('hostile');
      const res = await call(
        form('/console/endpoints', s, { id, ...picked(productLineId), ...rows(2, (i) => (i === 0 ? name : 'note')) }),
      );
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('not a CRM field name');
      expect(await env.ENDPOINTS.get(`v1:endpoint:${id}`)).toBeNull();
    },
  );

  it('a field named toString is kept (a plain key like any other)', async () => {
    const { productLineId } = await setupEndpoint();
    const s = await signIn();
    const id = unique('tostring');
    const res = await call(
      form('/console/endpoints', s, { id, ...picked(productLineId), ...rows(1, () => 'toString') }),
    );
    expect(res.status).toBe(303);
    const stored = (await env.ENDPOINTS.get<{ config: { fields: object } }>(`v1:endpoint:${id}`, 'json'))!.config
      .fields;
    expect(Object.keys(stored)).toEqual(['toString']);
  });
});

describe('the real URL for the signed-in admin', () => {
  it('once the token is in the vault, the editor reveals the whole URL with it; pasted as shown it delivers; the API never answers it', async () => {
    const name = `REAL_${crypto.randomUUID().slice(0, 6).toUpperCase()}`;
    const { endpointId } = await setupEndpoint({ verify: { type: 'token', query: 'token', secret: name } });
    const s = await signIn();
    const before = await (await call(page(`/console/endpoints/${endpointId}`, s))).text();
    expect(before).not.toContain(CATALOGUES.zh.editor.revealUrl);
    expect((await call(form(`/console/endpoints/${endpointId}/secret`, s, { value: 'real-token-7f3e' }))).status).toBe(
      303,
    );
    const html = await (await call(page(`/console/endpoints/${endpointId}`, s))).text();
    expect(html).toContain(CATALOGUES.zh.editor.revealUrl);
    const url = /<input id="real-url" readonly="" value="([^"]+)"/.exec(html)![1]!.replaceAll('&amp;', '&');
    expect(url).toBe(`${BASE}/hooks/${endpointId}?token=real-token-7f3e`);
    const sent = await call(
      new Request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: leadJson() }),
    );
    expect(await sent.json()).toMatchObject({ status: 'delivered' });
    const api = await (
      await call(
        new Request(`${BASE}/admin/endpoints/${endpointId}`, { headers: { authorization: 'Bearer test-admin-token' } }),
      )
    ).text();
    expect(api).not.toContain('real-token-7f3e');
  });
});

describe('the sentences a marketer meets while connecting a sender, in Chinese', () => {
  it('the URL’s instruction, the missing-secret warning and the preset’s recipe are Chinese, pointing to the console’s field', async () => {
    const name = `ZH_${crypto.randomUUID().slice(0, 6).toUpperCase()}`;
    const { endpointId } = await setupEndpoint({ preset: 'jinshuju', verify: { secret: name } } as never);
    const s = await signIn();
    const html = await (await call(page(`/console/endpoints/${endpointId}`, s))).text();
    const t = CATALOGUES.zh.editor;
    expect(html).toContain(t.howToSendToken(name).replaceAll('<', '&lt;').replaceAll('>', '&gt;'));
    expect(html).toContain(t.secretNotSet(name));
    expect(html).toContain('金数据 &gt; 表单 &gt; 设置 &gt; 数据推送（Webhook）');
    for (const english of [
      'with the value of the secret',
      'is not set yet',
      'paste the URL with',
      'wrangler secret put',
    ])
      expect(html).not.toContain(english);
  });
});

describe('each failure’s page ends with the action that fixes it', () => {
  it('a lead the field rules refused links to the endpoint’s rules, then says to replay', async () => {
    const { endpointId } = await setupEndpoint();
    const res = await call(hook(endpointId, leadJson({ utm_campaign: '' })));
    expect(res.status).toBe(422);
    const { deliveryId } = await res.json<{ deliveryId: string }>();
    const s = await signIn();
    const html = await (await call(page(`/console/deliveries/${deliveryId}`, s))).text();
    expect(html).toContain(`href="/console/endpoints/${endpointId}#editor"`);
    expect(html).toContain(CATALOGUES.zh.deliveries.fix.rules);
    expect(html).toContain(CATALOGUES.zh.deliveries.fix.thenReplay);
  });
});

describe('configuration problems in the marketer’s words', () => {
  it('a misspelt key and a missing customer rule are said in Chinese, the validator’s own text beside them', async () => {
    const { endpointId } = await setupEndpoint();
    const s = await signIn();
    const stored = (await env.ENDPOINTS.get<{ config: Record<string, unknown> }>(`v1:endpoint:${endpointId}`, 'json'))!
      .config;
    const broken = { ...stored, fields: { note: { from: 'comment', requred: true } } };
    const res = await call(
      form(`/console/endpoints/${endpointId}`, s, { editing: 'json', config: JSON.stringify(broken), save: 'json' }),
    );
    expect(res.status).toBe(400);
    const html = await res.text();
    const p = CATALOGUES.zh.problem;
    expect(html).toContain(p.unknownKey('&quot;requred&quot;'));
    expect(html).toContain('Unrecognized key');
    const noCustomer = { ...stored, customerId: undefined };
    const again = await call(
      form(`/console/endpoints/${endpointId}`, s, {
        editing: 'json',
        config: JSON.stringify(noCustomer),
        save: 'json',
      }),
    );
    expect(await again.text()).toContain(p.whichCustomer);
  });
});

describe('connecting the CRM from the console', () => {
  it('tests the connection with the product-line list and offers each product line by name, prefilled in a new endpoint', async () => {
    const name = `华东销售-${crypto.randomUUID().slice(0, 4)}`;
    const { crmTenant } = await import('./helpers');
    const productLineId = await crmTenant({ name });
    const s = await signIn();
    const list = await (await call(page('/console/endpoints', s))).text();
    expect(list).toContain(`href="/console/crm">${CATALOGUES.zh.crm.link}`);
    // the search (the CRM's own keyword) finds it among every product line
    const html = await (await call(page(`/console/crm?q=${encodeURIComponent(name)}`, s))).text();
    expect(html).toContain(name);
    const href = `/console/endpoints/_new?productLineId=${productLineId}`;
    expect(html).toContain(`href="${href}"`);
    const editor = await (await call(page(href, s))).text();
    expect(editor).toContain(`name="productLineId" value="${productLineId}"`);
    expect(editor).toContain('name="moduleId" value="347772778973233152"');
    // the editor names the product line, and offers every one listed by name (for an endpoint moved to another)
    expect(editor).toContain(`${CATALOGUES.zh.editor.productLineName} ${name}`);
    expect(editor).toContain(`<option value="${productLineId}" label="${name}">`);
  });

  it('says plainly when the CRM refuses the credential, with what to check', async () => {
    const s = await signIn();
    const res = await callWith(page('/console/crm', s), { CRM_API_TOKEN: 'a-wrong-token' });
    const html = await res.text();
    expect(html).toContain(CATALOGUES.zh.crm.failed);
    expect(html).toContain('登录已失效');
    expect(html).toContain(CATALOGUES.zh.crm.whatToCheck);
  });
});
