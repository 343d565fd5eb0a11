/** Preview: the CRM request a sample would produce, with warnings; never a CRM call, never a row. */
import { describe, expect, it } from 'vitest';
import typeform from './fixtures/typeform.json';
import {
  ADMIN,
  CUSTOMER_ID,
  MODULE_ID,
  call,
  crmState,
  endpointConfig,
  hook,
  leadJson,
  putEndpoint,
  rowsFor,
  setupEndpoint,
} from './helpers';

type Preview = {
  outcome: string;
  reason?: string;
  message?: string;
  customerId: string | null;
  crm: { url: string; headers: Record<string, string>; body: Record<string, unknown> } | null;
  warnings: string[];
  view?: any;
};

const post = (path: string, body: string, contentType = 'application/json') =>
  call(
    new Request(`https://adapter.test/admin${path}`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': contentType },
      body,
    }),
  );

describe('POST /admin/endpoints/{id}/preview', () => {
  it('shows the exact CRM request, the credential masked, and calls nothing', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const res = await post(`/endpoints/${endpointId}/preview`, leadJson());
    expect(res.status).toBe(200);
    const p = await res.json<Preview>();
    expect(p.outcome).toBe('would_deliver');
    expect(p.crm!.url).toMatch(/\/api\/moduleData\/update$/);
    expect(p.crm!.headers).toMatchObject({ authorization: 'Bearer ***', 'default-product-id': productLineId });
    expect(p.crm!.body).toEqual({
      mid: MODULE_ID,
      id: CUSTOMER_ID,
      name: '吴九',
      phone: '13900139000',
      source: '514465485002113024',
      select_1680162080347: '484020435193692160',
      note: '想了解价格',
      input_1680509561692: 'spring',
    });
    expect(JSON.stringify(p)).not.toContain('test-crm-token');
    expect((await crmState(productLineId)).requests).toHaveLength(0);
    expect(await rowsFor(endpointId)).toHaveLength(0);
  });
  it('warns about an expression that yields nothing and a map miss', async () => {
    const { endpointId } = await setupEndpoint();
    const p = await (
      await post(`/endpoints/${endpointId}/preview`, leadJson({ comment: undefined, level: 'Z' }))
    ).json<Preview>();
    expect(p.outcome).toBe('would_deliver');
    expect(p.warnings).toEqual(
      expect.arrayContaining([
        'fields.note: yielded nothing; left out',
        'fields.select_1680162080347: value "Z" is not in the map; field left out',
      ]),
    );
  });
  it('warns about a customer id that is not a decimal id', async () => {
    const { endpointId } = await setupEndpoint();
    const p = await (await post(`/endpoints/${endpointId}/preview`, leadJson({ crm_id: 'abc' }))).json<Preview>();
    expect(p).toMatchObject({ outcome: 'would_refuse', reason: 'customer_unresolved', crm: null });
    expect(p.warnings).toContain(
      'customerId expression yielded "abc", not a customer id (a positive decimal of at most 19 digits: no sign, exponent or leading zeros)',
    );
  });
  it('warns about a missing required field', async () => {
    const { endpointId } = await setupEndpoint();
    const p = await (await post(`/endpoints/${endpointId}/preview`, leadJson({ utm_campaign: '' }))).json<Preview>();
    expect(p).toMatchObject({ outcome: 'would_refuse', reason: 'mapping_failed' });
    expect(p.warnings).toContain('required field "input_1680509561692" has no value');
  });
  it("honours the sample's content type (a form post)", async () => {
    const { endpointId } = await setupEndpoint();
    const p = await (
      await post(
        `/endpoints/${endpointId}/preview`,
        `crm_id=${CUSTOMER_ID}&name=%E5%90%B4%E4%B9%9D&utm_campaign=x`,
        'application/x-www-form-urlencoded',
      )
    ).json<Preview>();
    expect(p.crm!.body).toMatchObject({ name: '吴九', input_1680509561692: 'x' });
  });
});

describe('POST /admin/preview', () => {
  it("previews a configuration that is not saved, with the preset's view of the payload", async () => {
    const config = {
      name: 'draft',
      preset: 'typeform',
      crm: { moduleId: MODULE_ID, productLineId: '1' },
      verify: { secret: 'X_SECRET' },
      fields: { name: 'answers.name', note: 'answers.course' },
    };
    const res = await post(
      '/preview',
      JSON.stringify({ config, sample: { body: typeform.body, contentType: 'application/json' } }),
    );
    const p = await res.json<Preview>();
    expect(p.outcome).toBe('would_deliver');
    expect(p.view.answers).toEqual({ name: '李雷', phone: '+8613900139000', course: '少儿编程', budget: 5000 });
    expect(p.crm!.body).toEqual({ mid: MODULE_ID, id: CUSTOMER_ID, name: '李雷', note: '少儿编程' });
  });
  it('answers 400 with every problem of an invalid configuration', async () => {
    const res = await post('/preview', JSON.stringify({ config: { name: 'x' }, sample: { body: {} } }));
    expect(res.status).toBe(400);
    const body = await res.json<{ issues: { path: string }[] }>();
    expect(body.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['config.crm', 'config.verify', 'config.fields']),
    );
  });
});

describe('POST /admin/deliveries/{id}/preview', () => {
  it("shows what a replay would send under today's configuration", async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const { deliveryId } = await (await call(hook(endpointId, leadJson()))).json<{ deliveryId: string }>();
    await putEndpoint(endpointId, endpointConfig(productLineId, { fields: { note: 'utm_campaign' } }));
    const p = await (await post(`/deliveries/${deliveryId}/preview`, '')).json<Preview & { deliveryId: string }>();
    expect(p).toMatchObject({ deliveryId, outcome: 'would_deliver' });
    expect(p.crm!.body).toEqual({ mid: MODULE_ID, id: CUSTOMER_ID, note: 'spring' });
    expect((await crmState(productLineId)).requests).toHaveLength(1);
  });
  it('refuses a delivery that was never verified', async () => {
    const { endpointId } = await setupEndpoint();
    const { deliveryId } = await (await call(hook(endpointId, leadJson(), { query: '?token=no' }))).json<{
      deliveryId: string;
    }>();
    expect((await post(`/deliveries/${deliveryId}/preview`, '')).status).toBe(409);
  });
});

describe('preview of a customer lookup', () => {
  it('says when the lookup keys find nobody, and which key found the customer', async () => {
    const { setupEndpoint: setup, snowflake } = await import('./helpers');
    const moduleId = snowflake();
    const { endpointId } = await setup(
      { customerId: undefined, customerLookup: [{ key: 'phone', value: 'mobile' }] } as never,
      { moduleId },
    );
    const nobody = await (
      await post(`/endpoints/${endpointId}/preview`, leadJson({ crm_id: undefined, mobile: '13300133000' }))
    ).json<Preview>();
    expect(nobody).toMatchObject({ outcome: 'unmatched', crm: null });
    expect(nobody.warnings).toContain('no customer for phone=13300133000');
    await call(
      new Request(`https://adapter.test/admin/customer-keys?moduleId=${moduleId}`, {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: JSON.stringify([{ customer_id: CUSTOMER_ID, key: 'phone', value: '13300133000' }]),
      }),
    );
    const found = await (
      await post(`/endpoints/${endpointId}/preview`, leadJson({ crm_id: undefined, mobile: '13300133000' }))
    ).json<Preview>();
    expect(found).toMatchObject({ outcome: 'would_deliver', customerId: CUSTOMER_ID });
    expect(found.warnings).toContain('customer found by phone');
  });
});
