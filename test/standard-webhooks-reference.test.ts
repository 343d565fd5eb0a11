/**
 * Standard Webhooks against the reference libraries' own vector and test cases (standard-webhooks/libraries,
 * javascript/src/index.test.ts): secret `MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw` (base64, no `whsec_` prefix), message
 * `msg_p5jXN8AQM9LWM0D4loKWxJek`, timestamp 1614265330, payload `{"test": 2432232314}`, signature
 * `v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=`. The clock is fixed at the vector's timestamp.
 */
import { describe, expect, it } from 'vitest';
import { verifyRequest } from '../src/verify';

const SECRET = 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const PAYLOAD = '{"test": 2432232314}';
const SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

function check(headers: Record<string, string>, options: { secret?: string; now?: number; body?: string } = {}) {
  const input = {
    method: 'POST',
    url: new URL('https://adapter.test/hooks/x'),
    headers: new Headers(headers),
    body: new TextEncoder().encode(options.body ?? PAYLOAD) as Uint8Array<ArrayBuffer>,
    now: options.now ?? TS * 1000,
  };
  return verifyRequest(
    { type: 'standard-webhooks', secret: 'SW_SECRET', toleranceSeconds: 300 },
    input,
    () => options.secret ?? SECRET,
  );
}
const good = { 'webhook-id': ID, 'webhook-timestamp': String(TS), 'webhook-signature': SIGNATURE };

describe('Standard Webhooks reference vector', () => {
  it('verifies the reference signature with the secret as base64 without the whsec_ prefix', async () => {
    expect(await check(good)).toMatchObject({ ok: true });
  });
  it('verifies it with the whsec_ prefix too', async () => {
    expect(await check(good, { secret: `whsec_${SECRET}` })).toMatchObject({ ok: true });
  });
  it('accepts the valid signature among several (space separated, other versions ignored)', async () => {
    const several = `v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ${SIGNATURE} v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=`;
    expect(await check({ ...good, 'webhook-signature': several })).toMatchObject({ ok: true });
  });
  for (const header of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    it(`refuses a missing ${header}`, async () => {
      const headers: Record<string, string> = { ...good };
      delete headers[header];
      expect(await check(headers)).toMatchObject({ ok: false, reason: 'missing_credential' });
    });
  }
  it('refuses a partial signature (the reference test cuts it)', async () => {
    expect(await check({ ...good, 'webhook-signature': SIGNATURE.slice(0, 12) })).toMatchObject({ ok: false });
    expect(await check({ ...good, 'webhook-signature': 'v1,' })).toMatchObject({ ok: false });
  });
  it('refuses an invalid signature, and one for another payload', async () => {
    expect(await check({ ...good, 'webhook-signature': 'v1,dawfeoifkpqwoekfpqoekf' })).toMatchObject({
      ok: false,
      reason: 'signature_mismatch',
    });
    expect(await check(good, { body: '{"test": 2432232315}' })).toMatchObject({
      ok: false,
      reason: 'signature_mismatch',
    });
  });
  it('refuses an old and a future timestamp (the window both ways)', async () => {
    expect(await check(good, { now: (TS + 301) * 1000 })).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    expect(await check(good, { now: (TS - 301) * 1000 })).toMatchObject({ ok: false, reason: 'stale_timestamp' });
  });
  it('refuses another secret', async () => {
    expect(await check(good, { secret: 'whsec_aGVsbG8gd29ybGQ=' })).toMatchObject({
      ok: false,
      reason: 'signature_mismatch',
    });
  });
});
