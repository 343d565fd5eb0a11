/** Receiving: content types, lossless ids, limits, and a clear JSON answer (and one D1 row) for every refusal. */
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { parseJsonLossless } from '../src/receive/json';
import {
  CUSTOMER_ID,
  call,
  crmState,
  deliveryRow,
  hook,
  leadJson,
  putEndpoint,
  rowsFor,
  setupEndpoint,
  unique,
} from './helpers';

const FORM = `crm_id=${CUSTOMER_ID}&name=%E5%90%B4%E4%B9%9D&mobile=%2B86+139-0013-9000&level=B&comment=%E6%83%B3%E4%BA%86%E8%A7%A3&utm_campaign=form&website=`;

async function sentBody(productLineId: string) {
  const crm = await crmState(productLineId);
  expect(crm.requests).toHaveLength(1);
  return JSON.parse(crm.requests[0]!.rawBody) as Record<string, unknown>;
}

describe('content types', () => {
  it('maps application/x-www-form-urlencoded', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const res = await call(
      hook(endpointId, FORM, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    );
    expect(res.status).toBe(200);
    expect(await sentBody(productLineId)).toMatchObject({
      id: CUSTOMER_ID,
      name: '吴九',
      phone: '13900139000',
      select_1680162080347: '484020435193692161',
      input_1680509561692: 'form',
    });
  });

  it('maps multipart/form-data text fields and skips files with a warning', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const form = new FormData();
    for (const [k, v] of new URLSearchParams(FORM)) form.append(k, v);
    form.append('resume', new File(['x'], 'cv.pdf', { type: 'application/pdf' }));
    const res = await call(hook(endpointId, form));
    expect(res.status).toBe(200);
    const { deliveryId } = await res.json<{ deliveryId: string }>();
    expect(await sentBody(productLineId)).toMatchObject({ name: '吴九', phone: '13900139000' });
    expect(JSON.parse((await deliveryRow(deliveryId))!.warnings as string)).toEqual([
      'file field "resume" ignored: only text fields are mapped',
    ]);
  });

  it('reads JSON sent as text/plain', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const res = await call(hook(endpointId, leadJson(), { headers: { 'content-type': 'text/plain;charset=UTF-8' } }));
    expect(res.status).toBe(200);
    expect(await sentBody(productLineId)).toMatchObject({ name: '吴九' });
  });

  it('turns repeated form keys (checkbox groups) into arrays that a map translates one by one', async () => {
    const { endpointId, productLineId } = await setupEndpoint({
      fields: {
        checkbox_1700000000000: { from: 'interest', map: { 'A 套餐': '1', 'C 套餐': '3' } },
        input_1680509561692: { value: 'x' },
      },
    });
    const body = `crm_id=${CUSTOMER_ID}&interest=A+%E5%A5%97%E9%A4%90&interest=C+%E5%A5%97%E9%A4%90`;
    const res = await call(
      hook(endpointId, body, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    );
    expect(res.status).toBe(200);
    expect(await sentBody(productLineId)).toMatchObject({ checkbox_1700000000000: ['1', '3'] });
  });
});

describe('refusals', () => {
  type Case = {
    name: string;
    body: string | Uint8Array;
    headers?: Record<string, string>;
    status: number;
    code: string;
    row: string;
    message: RegExp;
  };
  const cases: Case[] = [
    {
      name: 'an unsupported content type',
      body: '<lead/>',
      headers: { 'content-type': 'application/xml' },
      status: 415,
      code: 'unsupported_media_type',
      row: 'invalid',
      message: /application\/xml is not supported/,
    },
    {
      name: 'broken JSON',
      body: '{"crm_id": ',
      status: 400,
      code: 'invalid_body',
      row: 'invalid',
      message: /not valid JSON/,
    },
    {
      name: 'a JSON scalar',
      body: '42',
      status: 400,
      code: 'invalid_body',
      row: 'invalid',
      message: /object or an array/,
    },
    { name: 'an empty body', body: '', status: 400, code: 'invalid_body', row: 'invalid', message: /empty/ },
    {
      name: 'bytes that are not UTF-8',
      body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
      status: 400,
      code: 'invalid_body',
      row: 'invalid',
      message: /UTF-8/,
    },
    {
      name: 'a body over the limit',
      body: JSON.stringify({ crm_id: CUSTOMER_ID, pad: 'x'.repeat(256 * 1024) }),
      status: 413,
      code: 'payload_too_large',
      row: 'invalid',
      message: /exceeds 262144 bytes/,
    },
  ];
  for (const c of cases) {
    it(`answers ${c.status} ${c.code} for ${c.name}, logs it, and never calls the CRM`, async () => {
      const { endpointId, productLineId } = await setupEndpoint();
      const req = new Request(`https://adapter.test/hooks/${endpointId}?token=form-token-2f9c`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...c.headers },
        body: c.body,
      });
      const res = await call(req);
      expect(res.status).toBe(c.status);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = await res.json<{ error: { code: string; message: string }; deliveryId: string }>();
      expect(body.error.code).toBe(c.code);
      expect(body.error.message).toMatch(c.message);
      expect(await deliveryRow(body.deliveryId)).toMatchObject({ status: c.row, reason: c.code });
      expect((await crmState(productLineId)).requests).toHaveLength(0);
    });
  }

  it('accepts a larger body when the endpoint raises maxBodyBytes', async () => {
    const { endpointId } = await setupEndpoint({ maxBodyBytes: 512 * 1024 });
    const res = await call(hook(endpointId, leadJson({ pad: 'x'.repeat(300 * 1024) })));
    expect(res.status).toBe(200);
  });

  it('answers 404 for an unknown endpoint and writes no row', async () => {
    const id = unique('nope');
    const res = await call(hook(id, leadJson()));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'No such endpoint' } });
    expect(await rowsFor(id)).toHaveLength(0);
  });

  it('holds a webhook to a disabled endpoint (202 held, one row, no CRM call): paused, not gone', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ enabled: false });
    const res = await call(hook(endpointId, leadJson()));
    expect(res.status).toBe(202);
    expect(await rowsFor(endpointId)).toMatchObject([{ status: 'held' }]);
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });

  it('answers 404 JSON for an endpoint id that is not even well formed', async () => {
    const res = await call(hook('NOT_AN_ID', leadJson()));
    expect(res.status).toBe(404);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('not_found');
  });

  it('answers 405 JSON to a GET on a webhook URL', async () => {
    const { endpointId } = await setupEndpoint();
    const res = await call(new Request(`https://adapter.test/hooks/${endpointId}`));
    expect(res.status).toBe(405);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('method_not_allowed');
  });

  it('answers unknown routes with JSON, never HTML', async () => {
    const res = await call(new Request('https://adapter.test/nothing/here'));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'No route for GET /nothing/here' } });
  });

  it('answers 503 endpoint_misconfigured when the stored configuration is unreadable, without a stack', async () => {
    const id = unique('broken');
    await env.ENDPOINTS.put(
      `v1:endpoint:${id}`,
      JSON.stringify({ id, revision: 'x', updatedAt: 'x', config: { name: 'broken' } }),
    );
    const res = await call(hook(id, leadJson()));
    expect(res.status).toBe(503);
    const text = await res.text();
    const body = JSON.parse(text);
    expect(body.error).toEqual({
      code: 'endpoint_misconfigured',
      message: 'Endpoint is misconfigured; the operator has been told',
    });
    expect(text).not.toMatch(/at .*\.ts|ZodError/);
    const row = await deliveryRow(body.deliveryId);
    expect(row).toMatchObject({ status: 'failed', reason: 'endpoint_misconfigured', request_query: '{}' });
    expect(row!.message).toMatch(/stored configuration is invalid/);
  });
});

describe('lossless JSON', () => {
  it('keeps integers above 2^53 (and numbers written with an exponent) as exact strings and leaves the rest alone', () => {
    const value = parseJsonLossless(
      '{"id":688346218203447296,"n":5000,"f":1.5,"safe":9007199254740991,"neg":-9007199254740993,"e":1e21,"s":"688346218203447296"}',
    );
    expect(value).toEqual({
      id: '688346218203447296',
      n: 5000,
      f: 1.5,
      safe: 9007199254740991,
      neg: '-9007199254740993',
      e: '1e21',
      s: '688346218203447296',
    });
  });

  it('keeps nested and array ids too', () => {
    expect(parseJsonLossless('[{"a":[1763627800123456789]}]')).toEqual([{ a: ['1763627800123456789'] }]);
  });

  it('finds a bare long number after any blank', () => {
    expect(parseJsonLossless('{"a" :\n\t 688346218203447296}')).toEqual({ a: '688346218203447296' });
    expect(parseJsonLossless('[1, -688346218203447296]')).toEqual([1, '-688346218203447296']);
  });

  it('takes the fast path when every long id is quoted: the reviver never runs', () => {
    const spy = vi.spyOn(JSON, 'parse');
    parseJsonLossless('{"crm_id":"688346218203447296","phone":"13900139000","note":"call 1234567890123456 later"}');
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0]!.length).toBe(1);
    spy.mockRestore();
  });

  it('parses once when the numbers are exact as parsed (safe, no exponent): the reviver never runs', () => {
    const spy = vi.spyOn(JSON, 'parse');
    expect(parseJsonLossless('{"score":5,"ok":true,"n":[1,2.5,{"m":-3}],"id":"688346218203447296"}')).toEqual({
      score: 5,
      ok: true,
      n: [1, 2.5, { m: -3 }],
      id: '688346218203447296',
    });
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
  });

  it('keeps a negative zero and an exponent as written, nested too; a string that looks like one only costs the slow path', () => {
    expect(parseJsonLossless('{"a":[{"z":-0}],"b":{"c":[1E+2]},"s":"3e5","n":7}')).toEqual({
      a: [{ z: '-0' }],
      b: { c: ['1E+2'] },
      s: '3e5',
      n: 7,
    });
    expect(parseJsonLossless('{"n":7,"s":"3e5"}')).toEqual({ n: 7, s: '3e5' });
    // the exponent found past other letters e, and in capitals
    expect(parseJsonLossless('{"name":"e","value":3e2}')).toEqual({ name: 'e', value: '3e2' });
    expect(parseJsonLossless('{"E":"E","v":[5E-1]}')).toEqual({ E: 'E', v: ['5E-1'] });
  });
});

describe('endpoint cache', () => {
  it('reads an endpoint from KV at most every 10 s per isolate, and an admin write takes effect at once', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    expect((await call(hook(endpointId, leadJson()))).status).toBe(200);
    // another location disables it straight in KV: this isolate keeps its copy for a few seconds
    const stored = JSON.parse((await env.ENDPOINTS.get(`v1:endpoint:${endpointId}`))!);
    await env.ENDPOINTS.put(
      `v1:endpoint:${endpointId}`,
      JSON.stringify({ ...stored, config: { ...stored.config, enabled: false } }),
    );
    expect((await call(hook(endpointId, leadJson()))).status).toBe(200);
    // a write through the admin API clears it
    await putEndpoint(endpointId, { ...stored.config, enabled: false });
    expect((await call(hook(endpointId, leadJson()))).status).toBe(202); // paused: held
    expect((await crmState(productLineId)).requests).toHaveLength(2);
  });
});
