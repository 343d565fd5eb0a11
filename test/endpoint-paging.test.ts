/**
 * Endpoint lists that page (issue "No lead lost to a sender's mistake", item 10): at 10,000 endpoints the admin API
 * and the console list a page at a time (one KV list and one read per endpoint shown), and the listings over every
 * endpoint (secrets in use, modules) read only KV lists, never each configuration.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { endpointConfig } from './helpers';
import { EndpointConfig } from '../src/endpoints/schema';
import { putEndpoint } from '../src/endpoints/store';
import { ADMIN, call, callWith } from './helpers';

const BASE = 'https://adapter.test';
const COUNT = 10_000;
const prefix = `many-${crypto.randomUUID().slice(0, 6)}`;
const idOf = (i: number) => `${prefix}-${String(i).padStart(5, '0')}`;

/** KV with its operations counted. */
function countingKv() {
  const counts = { get: 0, list: 0 };
  const kv = new Proxy(env.ENDPOINTS, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop === 'get' || prop === 'getWithMetadata' || prop === 'list') {
        return (...args: unknown[]) => {
          counts[prop === 'list' ? 'list' : 'get'] += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { kv, counts };
}

beforeAll(async () => {
  const config = EndpointConfig.parse({
    ...endpointConfig('688051545102614528'),
    verify: { type: 'token', query: 'token', secret: 'PAGING_TOKEN' },
  });
  for (let i = 0; i < COUNT; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, COUNT - i) }, (_, j) => putEndpoint(env.ENDPOINTS, idOf(i + j), config)),
    );
  }
}, 300_000);

describe('10,000 endpoints', () => {
  it('the admin API lists them a page at a time, each page one KV list and one read per endpoint, every one reached', {
    timeout: 300_000,
  }, async () => {
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { kv, counts } = countingKv();
      const query: string = `?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await callWith(new Request(`${BASE}/admin/endpoints${query}`, { headers: ADMIN }), { ENDPOINTS: kv });
      expect(res.status).toBe(200);
      const body = await res.json<{ endpoints: { id: string; url: string }[]; nextCursor: string | null }>();
      expect(body.endpoints.length).toBeLessThanOrEqual(200);
      expect(counts.list).toBe(1);
      expect(counts.get).toBeLessThanOrEqual(200);
      for (const e of body.endpoints) if (e.id.startsWith(prefix)) seen.add(e.id);
      cursor = body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(seen.size).toBe(COUNT);
    expect(pages).toBeGreaterThanOrEqual(COUNT / 200);
  });

  it('refuses a page larger than 200', async () => {
    expect((await call(new Request(`${BASE}/admin/endpoints?limit=5000`, { headers: ADMIN }))).status).toBe(400);
  });

  it('the secrets list names the endpoints using each secret from KV lists alone (no read per endpoint)', {
    timeout: 120_000,
  }, async () => {
    const { kv, counts } = countingKv();
    const res = await callWith(new Request(`${BASE}/admin/secrets`, { headers: ADMIN }), { ENDPOINTS: kv });
    const secret = (await res.json<{ secrets: { name: string; usedBy: string[] }[] }>()).secrets.find(
      (s) => s.name === 'PAGING_TOKEN',
    )!;
    expect(secret.usedBy.filter((id) => id.startsWith(prefix))).toHaveLength(COUNT);
    expect(counts.get).toBe(0);
    expect(counts.list).toBeLessThanOrEqual(Math.ceil(COUNT / 1000) + 5);
  });

  it('the console shows 100 and a link to the next page, which shows the next 100', { timeout: 120_000 }, async () => {
    const signIn = await call(
      new Request(`${BASE}/console/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: 'test-admin-token' }),
      }),
    );
    const cookie = /^(__Host-console=[^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')![1]!;
    const open = async (path: string) =>
      (await call(new Request(`${BASE}${path}`, { headers: { cookie, 'accept-language': 'zh-CN' } }))).text();
    const first = await open('/console/endpoints');
    const cards = (html: string) =>
      [...html.matchAll(/<a href="\/console\/endpoints\/([^"]+)"><strong>/g)].map((m) => m[1]!);
    expect(cards(first)).toHaveLength(100);
    const next = /<a class="button secondary" href="(\/console\/endpoints\?cursor=[^"]+)">下一页接收地址<\/a>/
      .exec(first)![1]!
      .replaceAll('&amp;', '&');
    const second = cards(await open(next));
    expect(second).toHaveLength(100);
    expect(second.filter((id) => cards(first).includes(id))).toEqual([]);
  });
});
