/** The whole path over real HTTP: webhook in, stand-in CRM updated, outcome in D1, answer to the sender. */
import { describe, expect, it } from 'vitest';
import { ADMIN, CUSTOMER_ID, MODULE_ID, call, crmState, deliveryRow, hook, leadJson, setupEndpoint } from './helpers';

describe('a webhook that maps and delivers', () => {
  it('updates the customer in the CRM, answers 200 and logs a delivered row', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const res = await call(hook(endpointId, leadJson()));
    expect(res.status).toBe(200);
    const body = await res.json<{ deliveryId: string; status: string; customerId: string }>();
    expect(body).toEqual({
      deliveryId: expect.stringMatching(/^[0-9a-z]{26}$/),
      status: 'delivered',
      customerId: CUSTOMER_ID,
    });

    const crm = await crmState(productLineId);
    expect(crm.requests).toHaveLength(1);
    const sent = crm.requests[0]!;
    expect(sent.path).toBe('/api/moduleData/update');
    expect(sent.headers.authorization).toBe('Bearer test-crm-token');
    expect(sent.headers['default-product-id']).toBe(productLineId);
    expect(sent.headers['content-type']).toBe('application/json');
    // every id travels as an exact decimal string; left-out fields are absent, never null
    expect(JSON.parse(sent.rawBody)).toEqual({
      mid: MODULE_ID,
      id: CUSTOMER_ID,
      name: '吴九',
      phone: '13900139000',
      source: '514465485002113024',
      select_1680162080347: '484020435193692160',
      note: '想了解价格',
      input_1680509561692: 'spring',
    });
    expect(crm.customers[0]).toMatchObject({ id: CUSTOMER_ID, name: '吴九', phone: '13900139000' });

    const row = await deliveryRow(body.deliveryId);
    expect(row).toMatchObject({
      status: 'delivered',
      reason: null,
      endpoint_id: endpointId,
      customer_id: CUSTOMER_ID,
      crm_http_status: 200,
      crm_code: 200,
    });
    expect(JSON.parse(row!.crm_request as string).body).toEqual(JSON.parse(sent.rawBody));
    expect(row!.duration_ms).toBeTypeOf('number');
    expect(row!.crm_duration_ms).toBeTypeOf('number');
  });

  it('keeps a snowflake id sent as a JSON number digit for digit', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const raw = leadJson().replace(`"crm_id":"${CUSTOMER_ID}"`, `"crm_id":${CUSTOMER_ID}`);
    expect(raw).toContain(`"crm_id":688346218203447296`);
    const res = await call(hook(endpointId, raw));
    expect(res.status).toBe(200);
    const crm = await crmState(productLineId);
    expect(crm.requests[0]!.rawBody).toContain(`"id":"688346218203447296"`);
  });

  it('sends the raw token when CRM_AUTH_SCHEME is empty', async () => {
    const { crmSettings } = await import('../src/crm/client');
    const settings = crmSettings({
      CRM_BASE_URL: 'https://crm.test/',
      CRM_AUTH_HEADER: 'X-Api-Key',
      CRM_AUTH_SCHEME: '',
      CRM_API_TOKEN: 't',
      CRM_TIMEOUT_MS: '',
    } as Env);
    expect(settings).toMatchObject({
      baseUrl: 'https://crm.test',
      authHeader: 'X-Api-Key',
      authScheme: '',
      timeoutMs: 10_000,
    });
  });

  it('never stores the credential: no token in the logged query, no auth header', async () => {
    const { endpointId } = await setupEndpoint();
    const res = await call(
      hook(endpointId, leadJson(), {
        query: '?token=form-token-2f9c&utm=x',
        headers: { authorization: 'Basic abc', cookie: 'a=b' },
      }),
    );
    const { deliveryId } = await res.json<{ deliveryId: string }>();
    const row = await deliveryRow(deliveryId);
    expect(JSON.parse(row!.request_query as string)).toEqual({ utm: 'x' });
    const headers = JSON.parse(row!.request_headers as string);
    expect(headers).not.toHaveProperty('authorization');
    expect(headers).not.toHaveProperty('cookie');
    expect(JSON.stringify(row)).not.toContain('form-token-2f9c');
    expect(JSON.stringify(row)).not.toContain('test-crm-token');
  });

  it('shows the whole record through the admin API', async () => {
    const { endpointId } = await setupEndpoint();
    const { deliveryId } = await (await call(hook(endpointId, leadJson()))).json<{ deliveryId: string }>();
    const res = await call(new Request(`https://adapter.test/admin/deliveries/${deliveryId}`, { headers: ADMIN }));
    expect(res.status).toBe(200);
    const delivery = await res.json<Record<string, any>>();
    expect(delivery).toMatchObject({
      id: deliveryId,
      endpointId,
      status: 'delivered',
      customerId: CUSTOMER_ID,
      request: { method: 'POST', contentType: 'application/json', body: leadJson() },
      crm: {
        httpStatus: 200,
        code: 200,
        request: { url: expect.stringMatching(/\/api\/moduleData\/update$/), headers: { authorization: 'Bearer ***' } },
      },
    });
    expect(delivery.crm.response.data.item.id).toBe(CUSTOMER_ID);
  });
});

describe('when the CRM fails', () => {
  type Case = {
    name: string;
    failure: unknown;
    code: 'crm_unavailable' | 'crm_rejected';
    crmCode?: number;
    httpStatus?: number | null;
    message: RegExp;
  };
  const cases: Case[] = [
    { name: 'HTTP 500', failure: { http: 500 }, code: 'crm_unavailable', httpStatus: 500, message: /HTTP 500/ },
    {
      name: 'HTTP 429',
      failure: { http: 429, retryAfter: 7 },
      code: 'crm_unavailable',
      httpStatus: 429,
      message: /HTTP 429/,
    },
    { name: 'HTTP 408', failure: { http: 408 }, code: 'crm_unavailable', httpStatus: 408, message: /HTTP 408/ },
    {
      name: 'an unparseable body',
      failure: { garbage: true },
      code: 'crm_unavailable',
      httpStatus: 200,
      message: /unreadable body/,
    },
    {
      name: 'a dropped connection',
      failure: { drop: true },
      code: 'crm_unavailable',
      httpStatus: null,
      message: /unreachable/,
    },
    {
      name: 'no answer before the timeout',
      failure: { hang: true },
      code: 'crm_unavailable',
      httpStatus: null,
      message: /did not answer within 1500 ms/,
    },
    {
      name: 'HTTP 403',
      failure: { http: 403, body: '{"code":403,"message":"无权限"}' },
      code: 'crm_rejected',
      httpStatus: 403,
      crmCode: 403,
      message: /无权限/,
    },
    {
      name: 'code != 200',
      failure: { code: 500, message: '系统繁忙' },
      code: 'crm_rejected',
      httpStatus: 200,
      crmCode: 500,
      message: /系统繁忙/,
    },
  ];
  for (const c of cases) {
    it(`answers 502 ${c.code} on ${c.name} and logs a failed row`, async () => {
      const { endpointId, productLineId } = await setupEndpoint({}, { failures: [c.failure] });
      const res = await call(hook(endpointId, leadJson()));
      expect(res.status).toBe(502);
      const body = await res.json<{ error: { code: string; message: string }; deliveryId: string }>();
      expect(body.error.code).toBe(c.code);
      expect(body.error.message).toMatch(c.message);
      const row = await deliveryRow(body.deliveryId);
      expect(row).toMatchObject({ status: 'failed', reason: c.code, crm_http_status: c.httpStatus ?? null });
      if (c.crmCode !== undefined) expect(row!.crm_code).toBe(c.crmCode);
      expect(row!.message).toMatch(c.message);
      // the customer was not changed
      const crm = await crmState(productLineId);
      expect(crm.customers[0]).toMatchObject({ name: '旧名字' });
    });
  }

  it('logs the CRM refusing an unknown customer id as crm_rejected with its message', async () => {
    const { endpointId } = await setupEndpoint();
    const res = await call(hook(endpointId, leadJson({ crm_id: '700000000000000001' })));
    expect(res.status).toBe(502);
    const body = await res.json<{ error: { code: string; message: string }; deliveryId: string }>();
    expect(body.error).toEqual({ code: 'crm_rejected', message: '数据不存在或已删除' });
    expect(await deliveryRow(body.deliveryId)).toMatchObject({
      status: 'failed',
      reason: 'crm_rejected',
      crm_code: 404,
      crm_message: '数据不存在或已删除',
    });
  });
});
