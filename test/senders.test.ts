/**
 * Sender presets of the hmac scheme, checked against raw requests as each sender sends them
 * (test/fixtures/, signed with the fixture secret), with the clock fixed to the fixture's time.
 * For each: the real request passes, then one thing is broken per test.
 */
import { describe, expect, it } from 'vitest';
import { VerifyConfig, verifyRequest, type VerifyInput } from '../src/verify';
import jiandaoyun from './fixtures/jiandaoyun.json';
import tally from './fixtures/tally.json';
import typeform from './fixtures/typeform.json';
import webflow from './fixtures/webflow.json';
import xiaohongshu from './fixtures/xiaohongshu.json';
import { hmacOf } from './helpers';

type Fixture = { secret: string; path?: string; headers: Record<string, string>; body: string };

function inputOf(
  f: Fixture,
  change: { body?: string; headers?: Record<string, string | null>; now?: number } = {},
): VerifyInput {
  const headers = new Headers(f.headers);
  for (const [k, v] of Object.entries(change.headers ?? {})) v === null ? headers.delete(k) : headers.set(k, v);
  return {
    method: 'POST',
    url: new URL(`https://adapter.test/hooks/x${f.path ?? ''}`),
    headers,
    body: new TextEncoder().encode(change.body ?? f.body) as Uint8Array<ArrayBuffer>,
    now: change.now ?? Date.parse('2025-11-20T08:21:00Z'),
  };
}

const verify = (config: unknown, input: VerifyInput, secret = 'fixture-secret-2f9c') =>
  verifyRequest(VerifyConfig.parse(config), input, () => secret);

type Case = {
  preset: string;
  fixture: Fixture;
  header: string;
  now?: number;
  resign?: (body: string) => Promise<Record<string, string>>;
};
const cases: Case[] = [
  {
    preset: 'typeform',
    fixture: typeform,
    header: 'typeform-signature',
    resign: async (b) => ({ 'typeform-signature': `sha256=${await hmacOf('fixture-secret-2f9c', b, 'base64')}` }),
  },
  {
    preset: 'tally',
    fixture: tally,
    header: 'tally-signature',
    resign: async (b) => ({ 'tally-signature': await hmacOf('fixture-secret-2f9c', b, 'base64') }),
  },
  {
    preset: 'xiaohongshu',
    fixture: xiaohongshu,
    header: 'x-red-signature',
    resign: async (b) => ({ 'x-red-signature': `sha1=${await hmacOf('fixture-secret-2f9c', b, 'hex', 'SHA-1')}` }),
  },
  { preset: 'webflow', fixture: webflow, header: 'x-webflow-signature', now: 1763626800000 + 60_000 },
  { preset: 'jiandaoyun', fixture: jiandaoyun, header: 'x-jdy-signature', now: 1763627400_000 + 60_000 },
];

for (const c of cases) {
  describe(`${c.preset} preset`, () => {
    const config = { type: 'hmac', preset: c.preset, secret: 'SENDER_SECRET' };
    const at = { now: c.now ?? Date.parse('2025-11-20T08:21:00Z') };

    it('accepts the request as the sender sends it', async () => {
      expect(await verify(config, inputOf(c.fixture, at))).toMatchObject({ ok: true });
    });
    it('refuses it without the signature header', async () => {
      expect(await verify(config, inputOf(c.fixture, { ...at, headers: { [c.header]: null } }))).toMatchObject({
        ok: false,
        reason: 'missing_credential',
      });
    });
    it('refuses it with one byte of the body changed', async () => {
      const body = c.fixture.body.replace(/.$/, (ch) => (ch === '}' ? ' ' : '}'));
      expect(await verify(config, inputOf(c.fixture, { ...at, body }))).toMatchObject({
        ok: false,
        reason: 'signature_mismatch',
      });
    });
    it('refuses it under another secret', async () => {
      expect(await verify(config, inputOf(c.fixture, at), 'another-secret')).toMatchObject({
        ok: false,
        reason: 'signature_mismatch',
      });
    });
    if (c.resign) {
      it('refuses a signature made for another body', async () => {
        const headers = await c.resign!(c.fixture.body.replace('"', '" '));
        expect(await verify(config, inputOf(c.fixture, { ...at, headers }))).toMatchObject({
          ok: false,
          reason: 'signature_mismatch',
        });
      });
    }
    if (c.now) {
      it("refuses a stale timestamp (replay), two hours old: beyond every preset's window", async () => {
        expect(await verify(config, inputOf(c.fixture, { now: c.now! + 2 * 3600_000 }))).toMatchObject({
          ok: false,
          reason: 'stale_timestamp',
        });
      });
      it('accepts a stale timestamp when the endpoint widens the tolerance', async () => {
        const from = c.preset === 'webflow' ? { header: 'x-webflow-timestamp' } : { query: 'timestamp' };
        const wide = {
          ...config,
          timestamp: { from, unit: c.preset === 'webflow' ? 'ms' : 's', toleranceSeconds: 86_400 },
        };
        expect(await verify(wide, inputOf(c.fixture, { now: c.now! + 2 * 3600_000 }))).toMatchObject({ ok: true });
      });
    }
  });
}

describe('meta preset', () => {
  it('verifies X-Hub-Signature-256', async () => {
    const body =
      '{"object":"page","entry":[{"id":"1","changes":[{"field":"leadgen","value":{"leadgen_id":"444444444444"}}]}]}';
    const f = {
      secret: 's',
      headers: { 'x-hub-signature-256': `sha256=${await hmacOf('app-secret', body, 'hex')}` },
      body,
    };
    expect(
      await verify({ type: 'hmac', preset: 'meta', secret: 'META_APP_SECRET' }, inputOf(f), 'app-secret'),
    ).toMatchObject({ ok: true });
    expect(
      await verify({ type: 'hmac', preset: 'meta', secret: 'META_APP_SECRET' }, inputOf(f), 'other'),
    ).toMatchObject({ ok: false, reason: 'signature_mismatch' });
  });
});

describe('hmac configuration', () => {
  it('lets the config override a preset', () => {
    expect(VerifyConfig.parse({ type: 'hmac', preset: 'typeform', header: 'x-other', secret: 'S' })).toMatchObject({
      header: 'x-other',
      encoding: 'base64',
      prefix: 'sha256=',
    });
  });
  it('refuses an unknown preset, a template placeholder without a source, and digest mode without {secret}', () => {
    expect(VerifyConfig.safeParse({ type: 'hmac', preset: 'nope', secret: 'S' }).success).toBe(false);
    expect(
      VerifyConfig.safeParse({ type: 'hmac', header: 'x', signed: '{timestamp}.{body}', secret: 'S' }).success,
    ).toBe(false);
    expect(VerifyConfig.safeParse({ type: 'hmac', header: 'x', signed: '{bodyy}', secret: 'S' }).success).toBe(false);
    expect(VerifyConfig.safeParse({ type: 'hmac', header: 'x', mode: 'digest', secret: 'S' }).success).toBe(false);
  });
  it('reads the signature from a query parameter', async () => {
    const body = '{"a":1}';
    const f = { secret: 's', path: `?sig=${await hmacOf('k', body, 'hex')}`, headers: {}, body };
    expect(await verify({ type: 'hmac', query: 'sig', secret: 'S' }, inputOf(f), 'k')).toMatchObject({ ok: true });
  });
  it('refuses a timestamp that is not a number', async () => {
    const input = inputOf(webflow as Fixture, { headers: { 'x-webflow-timestamp': 'yesterday' } });
    expect(await verify({ type: 'hmac', preset: 'webflow', secret: 'S' }, input)).toMatchObject({
      ok: false,
      reason: 'malformed_timestamp',
    });
  });
});
