/**
 * Hardening: bounded cost and no leaked secrets, each through the Worker's real handlers (workerd, real KV and D1,
 * the stand-in CRM over HTTP). Each test breaks one thing and fails without its fix.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { crmRequestJson } from '../src/crm/client';
import { hasNestedQuantifier } from '../src/mapping/budget';
import { newRecord, scrubDeep, scrubFacts } from '../src/pipeline/record';
import {
  ADMIN,
  call,
  callWith,
  crmFailures,
  crmState,
  deliveryRow,
  drive,
  endpointConfig,
  hook,
  leadJson,
  putEndpoint,
  recordingQueue,
  rowsFor,
  setupEndpoint,
} from './helpers';

const BASE = 'https://adapter.test';
/** A body without a Content-Length: the limit must hold while the body is read. */
const streamOf = (bytes: number) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      const chunk = new TextEncoder().encode('t'.repeat(16 * 1024));
      for (let sent = 0; sent < bytes; sent += chunk.byteLength) controller.enqueue(chunk);
      controller.close();
    },
  });

describe('body limits on the console and the admin API', () => {
  it('refuses an 80 KB sign-in with 413 before the token is checked (declared length)', async () => {
    const res = await call(
      new Request(`${BASE}/console/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${'x'.repeat(80 * 1024)}`,
      }),
    );
    expect(res.status).toBe(413);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });
  it('refuses it while reading when no length is declared', async () => {
    const res = await call(
      new Request(`${BASE}/console/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: streamOf(80 * 1024),
      }),
    );
    expect(res.status).toBe(413);
  });
  it('still signs in with a normal form', async () => {
    const res = await call(
      new Request(`${BASE}/console/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'token=test-admin-token',
      }),
    );
    expect(res.status).toBe(303);
  });
  it('refuses an admin body over 2 MiB with 413, and lets an import up to 10 MiB through the limit', async () => {
    const big = await call(
      new Request(`${BASE}/admin/endpoints/x`, {
        method: 'PUT',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: streamOf(3 * 1024 * 1024),
      }),
    );
    expect(big.status).toBe(413);
    const csv = `customer_id,key,value\n${'688346218203447296,phone,13800138000\n'.repeat(80_000)}`;
    expect(csv.length).toBeGreaterThan(2 * 1024 * 1024);
    const imported = await call(
      new Request(`${BASE}/admin/customer-keys?moduleId=347772778973233152`, {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': 'text/csv' },
        body: csv,
      }),
    );
    expect(imported.status).toBe(200);
  });
});

const SECRETS = [
  'test-crm-token',
  'test-admin-token',
  'test-secrets-key-0123456789abcdef0123',
  'fixture-secret-2f9c',
  'form-token-2f9c',
];
const ECHO = { code: 401, message: 'token rejected: Bearer test-crm-token' };
const googleConfig = {
  verify: { type: 'body-key' as const, field: 'google_key', secret: 'TEST_HMAC_SECRET' },
  customerId: '"688346218203447296"',
};

/** Every text D1 and KV hold, and the answers given, searched for any configured secret value. */
async function leakedSecrets(answers: string[]): Promise<string[]> {
  const texts = [...answers];
  for (const table of ['deliveries', 'attempts', 'customer_keys', 'idempotency', 'alerts']) {
    const rows = await env.DB.prepare(`SELECT * FROM ${table}`)
      .all()
      .catch(() => ({ results: [] }));
    texts.push(JSON.stringify(rows.results));
  }
  for (const key of (await env.ENDPOINTS.list()).keys) texts.push(key.name, (await env.ENDPOINTS.get(key.name)) ?? '');
  return SECRETS.filter((s) => texts.some((t) => t.includes(s)));
}

describe('body limits on webhooks', () => {
  it('a declared Content-Length smaller than the body sent: the limit holds on what arrives (413, a row, no CRM call)', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const res = await call(
      new Request(`${BASE}/hooks/${endpointId}?token=form-token-2f9c`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '100' },
        body: streamOf(300 * 1024),
      }),
    );
    expect(res.status).toBe(413);
    const body = await res.json<{ error: { code: string }; deliveryId: string }>();
    expect(body.error.code).toBe('payload_too_large');
    expect(await deliveryRow(body.deliveryId)).toMatchObject({ status: 'invalid', reason: 'payload_too_large' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
});

describe('secrets never stored, answered or sent on', () => {
  it('a CRM that echoes its credential: the sender, the row, the attempt and the admin API never see it', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    await crmFailures(productLineId, [ECHO]);
    const res = await call(hook(endpointId, leadJson()));
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text).toContain('token rejected: Bearer ***');
    const { deliveryId } = JSON.parse(text);
    const detail = await (await call(new Request(`${BASE}/admin/deliveries/${deliveryId}`, { headers: ADMIN }))).text();
    expect(detail).toContain('token rejected: Bearer ***');
    expect(await leakedSecrets([text, detail])).toEqual([]);
  });

  it('queue mode: the echo is scrubbed from the row and the attempt too', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ delivery: { mode: 'queue' } });
    await crmFailures(productLineId, [ECHO]);
    const { deliveryId } = await (
      await callWith(hook(endpointId, leadJson()), { DELIVERY_QUEUE: recordingQueue() })
    ).json<{ deliveryId: string }>();
    await drive([deliveryId]);
    expect(await deliveryRow(deliveryId)).toMatchObject({
      status: 'failed',
      crm_message: 'token rejected: Bearer ***',
    });
    expect(await leakedSecrets([])).toEqual([]);
  });

  it('queue mode and the in-flight row of a sync claim store no secret either (rows written before the answer)', async () => {
    const queued = await setupEndpoint({ delivery: { mode: 'queue' } });
    const res = await callWith(hook(queued.endpointId, leadJson({ comment: 'pasted test-admin-token by mistake' })), {
      DELIVERY_QUEUE: recordingQueue(),
    });
    const { deliveryId } = await res.json<{ deliveryId: string }>();
    const row = (await deliveryRow(deliveryId))!;
    expect(String(row.payload)).toContain('pasted *** by mistake');
    expect(String(row.raw_body ?? '')).not.toContain('test-admin-token');
    expect(await leakedSecrets([])).toEqual([]);
  });

  it('a public form answers a refusal with a generic message and the delivery id, never the CRM’s text', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ honeypot: 'website' });
    await crmFailures(productLineId, [{ code: 404, message: '数据不存在或已被删除' }]);
    const res = await call(hook(endpointId, leadJson()));
    expect(res.status).toBe(502);
    const body = await res.json<{ error: { code: string; message: string }; deliveryId: string }>();
    expect(body.error.code).toBe('crm_rejected');
    expect(body.error.message).toBe(`The submission could not be processed (reference ${body.deliveryId})`);
    expect(await deliveryRow(body.deliveryId)).toMatchObject({ crm_message: '数据不存在或已被删除' });
  });

  for (const [what, body] of [
    ['malformed JSON', '{"google_key":"fixture-secret-2f9c", "lead_id": '],
    ['the key nested', '{"lead":{"google_key":"fixture-secret-2f9c"}}'],
    ['the key repeated', '{"google_key":"wrong-key-000","google_key":"fixture-secret-2f9c"}'],
    ['the key with spaces', '{"google_key":" fixture-secret-2f9c "}'],
  ] as const) {
    it(`a refused body-key request (${what}) is stored without the key`, async () => {
      const { endpointId } = await setupEndpoint(googleConfig);
      const res = await call(hook(endpointId, body, { query: '' }));
      expect(res.status).toBeGreaterThanOrEqual(400);
      const [row] = await rowsFor(endpointId);
      expect(String(row!.payload)).not.toContain('fixture-secret-2f9c');
    });
  }

  it('a mapping that copies the whole payload ($string($)) never sends the body key to the CRM', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ ...googleConfig, fields: { note: '$string($)' } });
    const res = await call(
      hook(endpointId, '{"google_key":"fixture-secret-2f9c","lead_id":"L1","name":"王"}', { query: '' }),
    );
    expect(res.status).toBe(200);
    const sent = (await crmState(productLineId)).requests[0]!.rawBody;
    expect(sent).toContain('L1');
    expect(sent).not.toContain('fixture-secret-2f9c');
    expect(await leakedSecrets([await res.text()])).toEqual([]);
  });
});

describe('the logged CRM request', () => {
  it('a secret cut in two by the start the log keeps of a request past 16 KiB is replaced, and the start stays valid JSON', () => {
    const record = newRecord('d1', 'e1', 0, new Request('https://adapter.test/hooks/e1', { method: 'POST' }), {}, {});
    // the secret straddles the 2 KiB start (after the 28 characters of {"mid":"1","id":"2","note":")
    const body = { mid: '1', id: '2', note: `${'x'.repeat(2 * 1024 - 40)}fixture-secret-2f9c${'y'.repeat(16 * 1024)}` };
    record.crm_request = {
      url: 'https://crm.test/api/moduleData/update',
      headers: {},
      body,
      bodyText: JSON.stringify(body),
    };
    scrubFacts(record, ['fixture-secret-2f9c']);
    const logged = crmRequestJson(record.crm_request!);
    expect(logged).not.toContain('fixture-secret-2f9c');
    expect(JSON.parse(logged).bodyStart).toContain('***');
  });
});

describe('a budget on every JSONata evaluation', () => {
  const withNote = (note: string) => ({
    fields: { name: '$trim(name)', note, input_1680509561692: { from: 'utm_campaign', required: true } },
  });
  const putIssues = async (note: string) => {
    const res = await putEndpoint(
      `budget-${crypto.randomUUID().slice(0, 8)}`,
      endpointConfig('688051545102614528', withNote(note)),
    );
    return {
      status: res.status,
      issues: (await res.json<{ issues?: { path: string; message: string }[] }>()).issues ?? [],
    };
  };

  it('refuses at save an expression that never ends (tail recursion: no depth limit catches it)', async () => {
    const { status, issues } = await putIssues('($f := function($n){ $f($n + 1) }; $f(0))');
    expect(status).toBe(400);
    expect(issues).toEqual([
      { path: 'fields.note', message: 'expression exceeded its budget (100000 evaluation steps)' },
    ]);
  });
  it('refuses at save an expression that builds millions of items', async () => {
    const { status, issues } = await putIssues('$count([1..3000].([1..3000]))');
    expect(status).toBe(400);
    expect(issues[0]!.message).toContain('exceeded its budget');
  });
  it('refuses at save a regex the payload could make backtrack for ever', async () => {
    const { status, issues } = await putIssues('$contains(comment, /^(a+)+$/)');
    expect(status).toBe(400);
    expect(issues[0]!.message).toContain('can take exponential time');
  });
  it.each([
    ['an alternation whose branches start alike', '$contains(comment, /^(a|a)*$/)', 'can take exponential time'],
    ['overlapping classes under a star', '$contains(comment, /^(\\w|\\d)*$/)', 'can take exponential time'],
    ['$eval (the regex check cannot see inside it)', '$eval("$contains(comment, /^(a|a)*$/)")', '$eval is not allowed'],
    ['$eval passed as a value', '($e := $eval; $e("1"))', '$eval is not allowed'],
  ])('refuses at save %s, with a sentence', async (_what, note, message) => {
    const { status, issues } = await putIssues(note);
    expect(status).toBe(400);
    expect(issues[0]!.message).toContain(message);
  });
  it.each([
    ['$pad to 100 MB', '$pad(comment, n)', '$pad of 100000000 characters'],
    [
      'a string doubled until it is huge',
      '($f := function($s, $k){ $k > 0 ? $f($s & $s, $k - 1) : $s }; $length($f(comment, n ? 40 : 0)))',
      'a value of',
    ],
    ['$join of copies of the body', '$join([1..(n ? 3000 : 1)].($$.comment))', '$join of'],
  ])(
    'a webhook whose payload makes %s answers 422 within the budget, and another endpoint keeps answering',
    async (_what, note, message) => {
      const { endpointId, productLineId } = await setupEndpoint(withNote(note));
      const other = await setupEndpoint();
      const [res, ok] = await Promise.all([
        call(hook(endpointId, leadJson({ n: 100_000_000, comment: 'x'.repeat(1000) }))),
        call(hook(other.endpointId, leadJson())),
      ]);
      expect(ok.status).toBe(200);
      expect(res.status).toBe(422);
      const body = await res.json<{ error: { code: string; message: string } }>();
      expect(body.error.code).toBe('mapping_failed');
      expect(body.error.message).toContain('exceeded its budget');
      expect(body.error.message).toContain(message);
      expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'invalid', reason: 'mapping_failed' });
      expect((await crmState(productLineId)).requests).toHaveLength(0);
    },
  );
  it('keeps $pad, $join and $replace working below the budget', async () => {
    const { endpointId, productLineId } = await setupEndpoint(
      withNote('$join([$pad(comment, 6, "-"), $replace("a-b", "-", "+")], " ")'),
    );
    expect((await call(hook(endpointId, leadJson({ comment: 'ab' })))).status).toBe(200);
    expect((await crmState(productLineId)).customers[0]).toMatchObject({ note: 'ab---- a+b' });
  });
  it('keeps a sound expression with a regex', async () => {
    expect((await putIssues('$contains(comment, /^[a-z]+$/) ? "a" : "b"')).status).toBe(201);
  });
  it('refuses a webhook whose payload sends an expression past its budget (422, a row), and the Worker keeps answering', async () => {
    const { endpointId, productLineId } = await setupEndpoint(
      withNote('($f := function($n){ $n > 0 ? $f($n + 1) : 0 }; $f(n))'),
    );
    const res = await call(hook(endpointId, leadJson({ n: 1 })));
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({
      error: {
        code: 'mapping_failed',
        message: 'fields.note: expression exceeded its budget (100000 evaluation steps)',
      },
    });
    expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'invalid', reason: 'mapping_failed' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
    // the same endpoint with a harmless payload, another endpoint, and the admin API all still answer
    expect((await call(hook(endpointId, leadJson({ n: 0 })))).status).toBe(200);
    const other = await setupEndpoint();
    expect((await call(hook(other.endpointId, leadJson()))).status).toBe(200);
    expect((await call(new Request(`${BASE}/admin/endpoints`, { headers: ADMIN }))).status).toBe(200);
  });
  it('the preview reports the overrun for that sample', async () => {
    const { endpointId } = await setupEndpoint(withNote('($f := function($n){ $n > 0 ? $f($n + 1) : 0 }; $f(n))'));
    const res = await call(
      new Request(`${BASE}/admin/endpoints/${endpointId}/preview`, {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: leadJson({ n: 1 }),
      }),
    );
    expect(await res.json()).toMatchObject({
      outcome: 'would_refuse',
      reason: 'mapping_failed',
      message: 'fields.note: expression exceeded its budget (100000 evaluation steps)',
    });
  });
  it('tells nested quantifiers apart from safe patterns', () => {
    const exponential = [
      '^(a+)+$',
      '(\\w*)*',
      '(a|b+){2,}',
      '((ab)*)+',
      '^(a|a)*$',
      '^(\\w|\\d)*$',
      '(a?){25}',
      '((a|a)b)*',
      '(?:a|ab)+',
      '(.|x)*',
    ];
    for (const p of exponential) expect(hasNestedQuantifier(p), p).toBe(true);
    const safe = [
      '^[a-z]+$',
      '(ab)+',
      '\\(a+\\)+',
      '[(a+)]+',
      '^\\d{11}$',
      '(a+){1}',
      '(foo|bar)*',
      '(?:\\.|,)+',
      '^(\\d{3})-(\\d{4})$',
      '(a|b)?',
    ];
    for (const p of safe) expect(hasNestedQuantifier(p), p).toBe(false);
  });
});

describe('sessions that end, guessing with friction', () => {
  const signIn = (token: string, ip: string) =>
    call(
      new Request(`${BASE}/console/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'cf-connecting-ip': ip },
        body: new URLSearchParams({ token }),
      }),
    );

  it('sign-out revokes the session: the same cookie no longer opens the console', async () => {
    const res = await signIn('test-admin-token', '198.51.100.70');
    const cookie = /^(__Host-console=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]!;
    const page = await call(new Request(`${BASE}/console/deliveries`, { headers: { cookie } }));
    expect(page.status).toBe(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const out = await call(
      new Request(`${BASE}/console/sign-out`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf }),
      }),
    );
    expect(out.status).toBe(303);
    // a copy of the cookie, replayed after sign-out, is sent to sign in
    const after = await call(new Request(`${BASE}/console/deliveries`, { headers: { cookie } }));
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toContain('/console/sign-in');
  });

  it('throttles failed sign-ins per client IP: 429 with Retry-After, even for the right token, while other clients sign in', async () => {
    const ip = '198.51.100.71';
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await signIn(`guess-${i}`, ip)).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    const right = await signIn('test-admin-token', ip);
    expect(right.status).toBe(429);
    expect(right.headers.get('retry-after')).toBe('60');
    expect((await signIn('test-admin-token', '198.51.100.72')).status).toBe(303);
    const counts = await (
      await call(
        new Request(`${BASE}/admin/auth-failures`, { headers: { ...ADMIN, 'cf-connecting-ip': '198.51.100.79' } }),
      )
    ).json<{ console: number }>();
    expect(counts.console).toBeGreaterThanOrEqual(1);
  });

  it('throttles failed admin authentications the same way', async () => {
    const ip = '198.51.100.73';
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++)
      statuses.push(
        (
          await call(
            new Request(`${BASE}/admin/endpoints`, {
              headers: { authorization: `Bearer guess-${i}`, 'cf-connecting-ip': ip },
            }),
          )
        ).status,
      );
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses[10]).toBe(429);
    const right = await call(new Request(`${BASE}/admin/endpoints`, { headers: { ...ADMIN, 'cf-connecting-ip': ip } }));
    expect(right.status).toBe(429);
    expect(
      (
        await call(
          new Request(`${BASE}/admin/endpoints`, { headers: { ...ADMIN, 'cf-connecting-ip': '198.51.100.74' } }),
        )
      ).status,
    ).toBe(200);
  });
});

describe('function names are checked when an expression is saved', () => {
  it('refuses $cnmobile (a typo) with the list of known functions, and accepts $cnMobile and a function the expression binds', async () => {
    const put = (note: string) =>
      putEndpoint(
        `fn-${crypto.randomUUID().slice(0, 8)}`,
        endpointConfig('688051545102614528', { fields: { note, input_1680509561692: 'utm_campaign' } }),
      );
    const bad = await put('$cnmobile(mobile)');
    expect(bad.status).toBe(400);
    const issue = (await bad.json<{ issues: { path: string; message: string }[] }>()).issues[0]!;
    expect(issue.path).toBe('fields.note');
    expect(issue.message).toContain('unknown function $cnmobile');
    expect(issue.message).toContain('$cnMobile');
    expect((await put('$cnMobile(mobile)')).status).toBe(201);
    expect((await put('($f := function($v){ $uppercase($v) }; $f(name))')).status).toBe(201);
    expect((await put('$map(items, function($i){ $i.name })')).status).toBe(201);
  });
});

describe('scrubDeep', () => {
  it('replaces a secret wherever it is in strings, leaves the original alone, and keeps a __proto__ key a key', () => {
    const value = JSON.parse(
      '{"keep":{"k":"v"},"note":"key fixture-secret-2f9c here","list":["a","fixture-secret-2f9c"],"__proto__":"fixture-secret-2f9c"}',
    );
    const scrubbed = scrubDeep(value, ['fixture-secret-2f9c']);
    expect(JSON.stringify(scrubbed)).toBe(
      '{"keep":{"k":"v"},"note":"key *** here","list":["a","***"],"__proto__":"***"}',
    );
    expect(Object.getPrototypeOf(scrubbed)).toBe(Object.prototype);
    expect(value.note).toBe('key fixture-secret-2f9c here');
  });
});
