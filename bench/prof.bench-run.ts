import { createHmac, timingSafeEqual } from 'node:crypto';
import { it } from 'vitest';
import { compiledMappingFor } from '../src/mapping/compile';
import { mapPayload } from '../src/mapping/map';
import { parseBody, decodeText } from '../src/receive/body';
import { parseJsonLossless, nestsDeeperThan } from '../src/receive/json';
import { VerifyConfig, verifyRequest } from '../src/verify';
import { fields, payload } from './payload';
(crypto.subtle as unknown as { timingSafeEqual: (a: ArrayBuffer, b: ArrayBuffer) => boolean }).timingSafeEqual = (a, b) => timingSafeEqual(Buffer.from(a), Buffer.from(b));

it('profiles', async () => {
  const p = payload(200, 100 * 1024);
  const text = JSON.stringify(p);
  const bytes = new TextEncoder().encode(text);
  const N = 300;
  const time = async (name: string, f: () => unknown) => {
    for (let i = 0; i < 20; i++) await f();
    const t = performance.now();
    for (let i = 0; i < N; i++) await f();
    console.log(name, (((performance.now() - t) / N) * 1000).toFixed(0), 'µs');
  };
  await time('decode', () => decodeText(bytes));
  await time('depth scan', () => nestsDeeperThan(text, 64));
  await time('JSON.parse', () => JSON.parse(text));
  await time('parseJsonLossless', () => parseJsonLossless(text));
  await time('parseBody', () => parseBody(bytes, 'application/json'));
  const verify = VerifyConfig.parse({ type: 'hmac', header: 'x-signature', prefix: 'sha256=', secret: 'S' });
  const headers = new Headers({ 'x-signature': `sha256=${createHmac('sha256', 's').update(text).digest('hex')}` });
  await time('verify', () =>
    verifyRequest(verify, { method: 'POST', url: new URL('https://x/hooks/b'), headers, body: bytes as Uint8Array<ArrayBuffer>, now: Date.now() }, () => 's'),
  );
  const mapping = compiledMappingFor('p', { customerId: 'crm_id', fields: fields(200) } as never);
  const value = JSON.parse(text);
  await time('map', () => mapPayload(mapping, { body: value, headers: {}, query: {} }));
  const mapped = (await mapPayload(mapping, { body: value, headers: {}, query: {} })) as { fields: object };
  await time('stringify crm body', () => JSON.stringify({ mid: '1', id: '2', ...mapped.fields }));
  await time('includes x3 on 100K', () => ['abcdefgh1', 'zzzzzzzz2', 'qqqqqqq3'].some((s) => text.includes(s)));
});
