/** The admin API: token checks, endpoint CRUD with validation, and the delivery log. */
import { describe, expect, it } from 'vitest';
import {
  ADMIN,
  CUSTOMER_ID,
  call,
  crmTenant,
  endpointConfig,
  hook,
  leadJson,
  putEndpoint,
  setupEndpoint,
  unique,
} from './helpers';

const admin = (path: string, init: RequestInit = {}) =>
  call(
    new Request(`https://adapter.test/admin${path}`, {
      ...init,
      headers: { ...ADMIN, ...(init.headers as Record<string, string>) },
    }),
  );

type Issues = { error: { code: string; message: string }; issues: { path: string; message: string }[] };

describe('admin token', () => {
  const routes: [string, string][] = [
    ['GET', '/admin/endpoints'],
    ['GET', '/admin/endpoints/x'],
    ['PUT', '/admin/endpoints/x'],
    ['DELETE', '/admin/endpoints/x'],
    ['GET', '/admin/deliveries'],
    ['GET', '/admin/deliveries/x'],
    ['GET', '/admin/endpoints/x/rate-limited'],
    ['POST', '/admin/deliveries/replay'],
    ['POST', '/admin/customer-keys'],
    ['POST', '/admin/endpoints/x/preview'],
    ['POST', '/admin/deliveries/x/preview'],
    ['POST', '/admin/preview'],
    ['GET', '/admin/presets'],
    ['GET', '/admin/openapi.json'],
    ['GET', '/admin/customer-keys'],
    ['DELETE', '/admin/customer-keys'],
    ['POST', '/admin/deliveries/x/replay'],
    ['GET', '/admin/secrets'],
    ['PUT', '/admin/secrets/X'],
    ['DELETE', '/admin/secrets/X'],
  ];
  const tokens: [string, Record<string, string>][] = [
    ['no token', {}],
    ['a wrong token of the same length', { authorization: 'Bearer test-admin-tokeN' }],
    ['a token of a different length', { authorization: 'Bearer t' }],
    ['another scheme', { authorization: 'Basic dGVzdC1hZG1pbi10b2tlbg==' }],
  ];
  // each case from an address of its own: failed authentications are throttled per client IP (test/hardening.test.ts)
  let client = 0;
  for (const [method, path] of routes) {
    for (const [what, headers] of tokens) {
      const ip = `203.0.113.${++client}`;
      it(`refuses ${method} ${path} with ${what}`, async () => {
        const res = await call(
          new Request(`https://adapter.test${path}`, {
            method,
            headers: { ...headers, 'cf-connecting-ip': ip },
            body: method === 'PUT' || method === 'POST' ? '{}' : undefined,
          }),
        );
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="admin"');
        expect((await res.json<Issues>()).error.code).toBe('unauthorized');
      });
    }
  }
  it('accepts the right token', async () => {
    expect((await admin('/endpoints')).status).toBe(200);
  });
});

describe('endpoints', () => {
  it('stores, reads, lists and deletes an endpoint', async () => {
    const productLineId = await crmTenant();
    const id = unique('crud');
    const put = await putEndpoint(id, endpointConfig(productLineId));
    expect(put.status).toBe(201);
    const stored = await put.json<Record<string, any>>();
    // the whole URL to paste: the token's query parameter with the secret's name, never its value
    expect(stored).toMatchObject({
      id,
      url: `https://adapter.test/hooks/${id}?token=<TEST_FORM_TOKEN>`,
      howToSend: 'Replace <TEST_FORM_TOKEN> with the value of the secret TEST_FORM_TOKEN.',
      warnings: [],
      config: { name: 'Landing page form', maxBodyBytes: 262144 },
    });
    expect(stored.revision).toBeTypeOf('string');

    const again = await putEndpoint(id, endpointConfig(productLineId, { name: 'Renamed' }));
    expect(again.status).toBe(200);
    expect((await again.json<Record<string, any>>()).revision).not.toBe(stored.revision);

    const get = await admin(`/endpoints/${id}`);
    expect(get.status).toBe(200);
    expect(await get.json()).toMatchObject({ id, config: { name: 'Renamed', crm: { productLineId } } });

    const list = await (await admin('/endpoints')).json<{ endpoints: { id: string }[] }>();
    expect(list.endpoints.map((e) => e.id)).toContain(id);

    expect((await admin(`/endpoints/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await admin(`/endpoints/${id}`)).status).toBe(404);
    expect((await admin(`/endpoints/${id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await call(hook(id, leadJson()))).status).toBe(404);
  });

  it('keeps a module id sent as a JSON number digit for digit', async () => {
    const id = unique('numeric');
    const text = JSON.stringify(endpointConfig('688051545102614528')).replace(
      '"347772778973233152"',
      '347772778973233152',
    );
    expect(text).toContain(':347772778973233152');
    // read losslessly and stored as the exact decimal string
    const res = await putEndpoint(id, text);
    expect(res.status).toBe(201);
    expect((await res.json<Record<string, any>>()).config.crm.moduleId).toBe('347772778973233152');
  });

  it('warns that verify none lets anyone update any customer', async () => {
    const res = await putEndpoint(unique('open'), endpointConfig('1', { verify: { type: 'none' } }));
    expect(res.status).toBe(201);
    expect((await res.json<{ warnings: string[] }>()).warnings).toEqual([
      'verify.type is "none": anyone who knows the URL can update any customer',
    ]);
  });

  it('warns about a named secret that is not set yet', async () => {
    const res = await putEndpoint(
      unique('nosecret'),
      endpointConfig('1', { verify: { type: 'token', query: 'token', secret: 'NEVER_SET_IN_ANY_FILE' } }),
    );
    expect((await res.json<{ warnings: string[] }>()).warnings[0]).toMatch(
      /secret NEVER_SET_IN_ANY_FILE is not set yet/,
    );
  });

  type Bad = { name: string; config: unknown; paths: string[] };
  const base = endpointConfig('688051545102614528');
  const bad: Bad[] = [
    {
      name: 'fields that name mid or id',
      config: { ...base, fields: { mid: { value: '1' }, id: 'x' } },
      paths: ['fields.mid', 'fields.id'],
    },
    {
      name: 'a module id that is not decimal',
      config: { ...base, crm: { moduleId: 'abc', productLineId: '1' } },
      paths: ['crm.moduleId'],
    },
    { name: 'a broken JSONata expression', config: { ...base, fields: { name: '$trim(' } }, paths: ['fields.name'] },
    { name: 'a broken customerId expression', config: { ...base, customerId: '][' }, paths: ['customerId'] },
    {
      name: 'an hmac timestamp that is checked but not signed (a captured request would replay forever)',
      config: {
        ...base,
        verify: { type: 'hmac', header: 'x-sig', timestamp: { from: { header: 'x-ts' } }, secret: 'TEST_HMAC_SECRET' },
      },
      paths: ['verify.timestamp'],
    },
    { name: 'an unknown verify type', config: { ...base, verify: { type: 'magic' } }, paths: ['verify.type'] },
    {
      name: 'a token with both header and query',
      config: { ...base, verify: { type: 'token', header: 'x-t', query: 't', secret: 'A' } },
      paths: ['verify'],
    },
    {
      name: 'a reserved secret name',
      config: { ...base, verify: { type: 'token', query: 't', secret: 'ADMIN_TOKEN' } },
      paths: ['verify.secret'],
    },
    {
      name: 'a lower-case secret name',
      config: { ...base, verify: { type: 'token', query: 't', secret: 'my-secret' } },
      paths: ['verify.secret'],
    },
    {
      name: 'a misspelt key',
      config: { ...base, fields: { note: { from: 'comment', requred: true } } },
      paths: ['fields.note'],
    },
    { name: 'an unknown top-level key', config: { ...base, colour: 'blue' }, paths: [''] },
    { name: 'a body limit above 1 MiB', config: { ...base, maxBodyBytes: 2 * 1024 * 1024 }, paths: ['maxBodyBytes'] },
    { name: 'a missing name', config: { ...base, name: undefined }, paths: ['name'] },
  ];
  for (const b of bad) {
    it(`refuses ${b.name} with 400 and every problem as {path, message}`, async () => {
      const id = unique('bad');
      const res = await putEndpoint(id, b.config);
      expect(res.status).toBe(400);
      const body = await res.json<Issues>();
      expect(body.error.code).toBe('validation_failed');
      expect(body.issues.map((i) => i.path)).toEqual(b.paths);
      for (const issue of body.issues) expect(issue.message).toBeTypeOf('string');
      expect((await admin(`/endpoints/${id}`)).status).toBe(404);
    });
  }

  it('says in words what is wrong with each value (never a bare "Invalid input")', async () => {
    const res = await putEndpoint(unique('bad'), {
      ...endpointConfig('1'),
      enabled: 'yes',
      colour: 'blue',
      maxBodyBytes: 10,
    });
    const messages = Object.fromEntries((await res.json<Issues>()).issues.map((i) => [i.path, i.message]));
    expect(messages).toEqual({
      enabled: 'Invalid input: expected boolean, received string',
      '': 'Unrecognized key: "colour"',
      maxBodyBytes: 'Too small: expected number to be >=1024',
    });
  });

  it('refuses an invalid endpoint id', async () => {
    const res = await putEndpoint('Bad_Id', endpointConfig('1'));
    expect(res.status).toBe(400);
    expect((await res.json<Issues>()).issues[0]!.path).toBe('id');
  });

  it('refuses a body that is not JSON', async () => {
    const res = await putEndpoint(unique('x'), '{nope');
    expect(res.status).toBe(400);
    expect((await res.json<Issues>()).error.code).toBe('invalid_body');
  });
});

describe('deliveries', () => {
  it('lists newest first, filters by endpoint and status, and pages with a cursor', async () => {
    const { endpointId } = await setupEndpoint();
    const ids: string[] = [];
    for (const body of [leadJson(), leadJson({ crm_id: undefined }), leadJson(), leadJson()]) {
      ids.push((await (await call(hook(endpointId, body))).json<{ deliveryId: string }>()).deliveryId);
    }
    const all = await (await admin(`/deliveries?endpoint=${endpointId}`)).json<{
      deliveries: Record<string, any>[];
      nextCursor: string | null;
    }>();
    expect(all.deliveries.map((d) => d.id)).toEqual([...ids].reverse());
    expect(all.nextCursor).toBeNull();
    expect(all.deliveries[0]).toMatchObject({
      endpointId,
      status: 'delivered',
      customerId: CUSTOMER_ID,
      crm: { httpStatus: 200, code: 200 },
    });
    expect(all.deliveries[0]).not.toHaveProperty('request');

    const invalid = await (await admin(`/deliveries?endpoint=${endpointId}&status=unmatched`)).json<{
      deliveries: { id: string; reason: string }[];
    }>();
    expect(invalid.deliveries).toEqual([expect.objectContaining({ id: ids[1], reason: 'customer_unresolved' })]);

    const page1 = await (await admin(`/deliveries?endpoint=${endpointId}&limit=3`)).json<{
      deliveries: { id: string }[];
      nextCursor: string;
    }>();
    expect(page1.deliveries.map((d) => d.id)).toEqual([ids[3], ids[2], ids[1]]);
    const page2 = await (await admin(`/deliveries?endpoint=${endpointId}&limit=3&cursor=${page1.nextCursor}`)).json<{
      deliveries: { id: string }[];
      nextCursor: null;
    }>();
    expect(page2.deliveries.map((d) => d.id)).toEqual([ids[0]]);
    expect(page2.nextCursor).toBeNull();
  });

  it('refuses bad list parameters with every problem', async () => {
    const res = await admin('/deliveries?status=lost&limit=0&extra=1');
    expect(res.status).toBe(400);
    expect((await res.json<Issues>()).issues.map((i) => i.path).sort()).toEqual(['', 'limit', 'status']);
  });

  it('answers 404 for an unknown delivery', async () => {
    expect((await admin('/deliveries/00000000000000000000000000')).status).toBe(404);
  });
});
