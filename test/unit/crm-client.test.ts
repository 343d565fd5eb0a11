/**
 * Unit: how every kind of CRM answer is classified (the one place fetch is mocked; the rest talk to the stand-in CRM).
 */
import { describe, expect, it } from 'vitest';
import { crmRequestJson, readCustomer, updateCustomer, type CrmSettings } from '../../src/crm/client';

const settings: CrmSettings = {
  baseUrl: 'https://crm.test',
  authHeader: 'X-Token',
  authScheme: '',
  token: 'secret',
  timeoutMs: 50,
  createPath: null,
};
const answer = (status: number, body: string, headers: Record<string, string> = {}) =>
  (async () => new Response(body, { status, headers })) as typeof fetch;

describe('updateCustomer', () => {
  it('sends the credential in the configured header, raw when the scheme is empty', async () => {
    let seen: Headers | undefined;
    const fetcher = (async (_url: string, init: RequestInit) => {
      seen = new Headers(init.headers);
      return new Response('{"code":200,"message":"","data":{"item":{"id":"1"}}}');
    }) as unknown as typeof fetch;
    const result = await updateCustomer(fetcher, settings, '9', { mid: '1', id: '1' });
    expect(result.ok).toBe(true);
    expect(seen!.get('x-token')).toBe('secret');
    expect(seen!.get('default-product-id')).toBe('9');
    expect(result.request.headers['x-token']).toBe('***');
  });

  it('logs the body it sent as sent (serialised once), a success answer to 8 KiB and a refusal to 64 KiB', async () => {
    const big = 'x'.repeat(100 * 1024);
    const ok = await updateCustomer(
      answer(200, `{"code":200,"message":"","data":{"item":{"id":"1","note":"${big}"}}}`),
      settings,
      '9',
      { mid: '1', id: '1', note: big },
    );
    expect(ok.request.bodyText).toBe(JSON.stringify({ mid: '1', id: '1', note: big }));
    expect(JSON.parse(crmRequestJson(ok.request)).bodyBytes).toBe(
      new TextEncoder().encode(ok.request.bodyText!).byteLength,
    );
    expect(ok.responseText!.length).toBe(8 * 1024);
    expect(ok.ok && ok.item?.id).toBe('1');
    const refused = await updateCustomer(
      answer(200, `{"code":10001,"message":"字段错误","data":{"detail":"${big}"}}`),
      settings,
      '9',
      { mid: '1', id: '1' },
    );
    expect(refused.responseText!.length).toBe(64 * 1024);
  });

  it('reads the answer as UTF-8 like text() does: a byte-order mark dropped, a malformed byte replaced, Chinese kept', async () => {
    const bytes = new Uint8Array([
      0xef,
      0xbb,
      0xbf,
      ...new TextEncoder().encode('{"code":10001,"message":"字段'),
      0xff,
      ...new TextEncoder().encode('错误","data":[]}'),
    ]);
    const fetcher = (async () => new Response(bytes, { status: 200 })) as typeof fetch;
    const refused = await updateCustomer(fetcher, settings, '9', { mid: '1', id: '1' });
    expect(refused).toMatchObject({ ok: false, error: 'crm_rejected', code: 10001, message: '字段\uFFFD错误' });
    expect(refused.responseText).toBe('{"code":10001,"message":"字段\uFFFD错误","data":[]}');
  });

  it('logs a body up to 16 KiB whole, and past it its size and first 2 KiB (the payload beside it has all of it), as valid JSON', () => {
    const request = { url: 'https://crm.test/api/moduleData/update', headers: { 'x-token': '***' } };
    const small = { mid: '1', id: '2', note: '想了解价格' };
    expect(JSON.parse(crmRequestJson({ ...request, body: small, bodyText: JSON.stringify(small) }))).toEqual({
      ...request,
      body: small,
    });
    const big = { mid: '1', id: '2', note: '价'.repeat(20_000) };
    const logged = JSON.parse(crmRequestJson({ ...request, body: big, bodyText: JSON.stringify(big) }));
    expect(logged).toMatchObject({ ...request, bodyBytes: new TextEncoder().encode(JSON.stringify(big)).byteLength });
    expect(logged.body).toBeUndefined();
    expect(logged.bodyStart).toBe(JSON.stringify(big).slice(0, 2 * 1024));
  });

  const cases: [string, typeof fetch, Record<string, unknown>][] = [
    [
      'code 200',
      answer(200, '{"code":200,"message":"ok","data":{"item":{"id":688346218203447296}}}'),
      { ok: true, item: { id: '688346218203447296' } },
    ],
    ['code 200 as a string', answer(200, '{"code":"200","data":null}'), { ok: true, item: null }],
    [
      'code != 200',
      answer(200, '{"code":10001,"message":"字段错误"}'),
      { ok: false, error: 'crm_rejected', retryable: false, code: 10001, message: '字段错误' },
    ],
    [
      'HTTP 400',
      answer(400, '{"code":400,"message":"bad"}'),
      { ok: false, error: 'crm_rejected', message: 'bad', httpStatus: 400 },
    ],
    [
      'HTTP 404 without a body',
      answer(404, ''),
      { ok: false, error: 'crm_rejected', message: 'CRM answered HTTP 404' },
    ],
    ['HTTP 408', answer(408, ''), { ok: false, error: 'crm_unavailable', retryable: true }],
    [
      'HTTP 429 with Retry-After',
      answer(429, '', { 'retry-after': '30' }),
      { ok: false, error: 'crm_unavailable', retryAfterSeconds: 30 },
    ],
    ['HTTP 503', answer(503, 'busy'), { ok: false, error: 'crm_unavailable', message: 'CRM answered HTTP 503' }],
    [
      'an HTML page with HTTP 200',
      answer(200, '<html>'),
      { ok: false, error: 'crm_unavailable', message: 'CRM answered HTTP 200 with an unreadable body' },
    ],
    ['JSON without code', answer(200, '{"ok":true}'), { ok: false, error: 'crm_unavailable' }],
    [
      'a network error',
      (async () => {
        throw new TypeError('connection refused');
      }) as typeof fetch,
      { ok: false, error: 'crm_unavailable', message: 'CRM unreachable: connection refused' },
    ],
    [
      'a timeout',
      ((_u: string, init: RequestInit) =>
        new Promise((_r, reject) =>
          init.signal!.addEventListener('abort', () => reject(init.signal!.reason)),
        )) as unknown as typeof fetch,
      { ok: false, error: 'crm_unavailable', message: 'CRM did not answer within 50 ms' },
    ],
  ];
  for (const [name, fetcher, expected] of cases) {
    it(`classifies ${name}`, async () => {
      expect(await updateCustomer(fetcher, settings, '9', { mid: '1', id: '1' })).toMatchObject(expected);
    });
  }
});

/**
 * The CRM's backend is PHP: an empty `data` is `[]`, an empty `item` too, and `code` and `message` come in several
 * shapes. Every shape is classified by `code`, for the update and the detail call alike.
 */
describe('envelopes the PHP backend sends', () => {
  const shapes: [string, string, Record<string, unknown>][] = [
    [
      'a refusal with data: []',
      '{"code":404,"message":"数据不存在或已被删除","data":[]}',
      { ok: false, error: 'crm_rejected', retryable: false, code: 404, message: '数据不存在或已被删除' },
    ],
    [
      'a refusal with code as a string and no data',
      '{"code":"403","message":"无权限"}',
      { ok: false, error: 'crm_rejected', code: 403, message: '无权限' },
    ],
    [
      'a refusal with message null',
      '{"code":500,"message":null,"data":[]}',
      { ok: false, error: 'crm_rejected', code: 500, message: 'CRM answered code 500' },
    ],
    [
      'a refusal with message absent',
      '{"code":10001,"data":{}}',
      { ok: false, error: 'crm_rejected', code: 10001, message: 'CRM answered code 10001' },
    ],
    ['success with data: []', '{"code":200,"message":"","data":[]}', { ok: true, item: null }],
    ['success with item: []', '{"code":200,"message":"","data":{"item":[]}}', { ok: true, item: null }],
    ['success without data', '{"code":"200"}', { ok: true, item: null }],
    [
      'success with a number message',
      '{"code":200,"message":0,"data":{"item":{"id":"7"}}}',
      { ok: true, item: { id: '7' } },
    ],
    [
      'code that is not a number',
      '{"code":"abc","message":"x"}',
      { ok: false, error: 'crm_unavailable', message: 'CRM answered HTTP 200 with an unreadable body' },
    ],
    ['a JSON array', '[]', { ok: false, error: 'crm_unavailable' }],
  ];
  for (const [name, body, expected] of shapes) {
    it(`update: ${name}`, async () => {
      expect(await updateCustomer(answer(200, body), settings, '9', { mid: '1', id: '1' })).toMatchObject(expected);
    });
    it(`detail: ${name}`, async () => {
      expect(await readCustomer(answer(200, body), settings, '9', '1', '1')).toMatchObject(expected);
    });
  }
});
