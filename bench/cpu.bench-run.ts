/**
 * The pipeline's CPU per webhook, in-process (Node; workerd freezes its clocks during execution, so CPU
 * cannot be timed inside it): parse, verify (HMAC-SHA256), map, build the CRM body. Cold = the first
 * webhook after a configuration change (its expressions compiled); warm = every one after. Run by
 * `npm run bench` through vitest (which resolves the Worker's imports); writes bench/out/cpu.json.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { it } from 'vitest';
import { compiledMappingFor } from '../src/mapping/compile';
import { mapPayload } from '../src/mapping/map';
import { parseBody } from '../src/receive/body';
import { VerifyConfig, verifyRequest } from '../src/verify';
import { percentile } from './load';
import { CUSTOMER_ID, MODULE_ID, fields, payload } from './payload';

// workerd's WebCrypto extension, for Node
(crypto.subtle as unknown as { timingSafeEqual: (a: ArrayBuffer, b: ArrayBuffer) => boolean }).timingSafeEqual = (
  a,
  b,
) => timingSafeEqual(Buffer.from(a), Buffer.from(b));

const SECRET = 'bench-hmac-secret';
const verify = VerifyConfig.parse({ type: 'hmac', header: 'x-signature', prefix: 'sha256=', secret: 'S' });

async function once(
  cacheKey: string,
  config: { customerId: string; fields: Record<string, never> },
  body: Uint8Array,
  headers: Headers,
) {
  const verified = await verifyRequest(
    verify,
    {
      method: 'POST',
      url: new URL('https://x/hooks/b'),
      headers,
      body: body as Uint8Array<ArrayBuffer>,
      now: Date.now(),
    },
    () => SECRET,
  );
  if (!verified.ok) throw new Error(verified.detail);
  const parsed = await parseBody(body, 'application/json');
  if (!parsed.ok) throw new Error(parsed.message);
  const mapping = compiledMappingFor(cacheKey, { ...config, customerLookup: undefined } as never);
  const mapped = await mapPayload(mapping, { body: parsed.value, headers: {}, query: {} });
  if (!mapped.ok) throw new Error(mapped.message);
  return JSON.stringify({ mid: MODULE_ID, id: mapped.customerId ?? CUSTOMER_ID, ...mapped.fields });
}

it('measures the pipeline CPU', { timeout: 300_000 }, async () => {
  const cases = {
    'small (5 fields)': payload(5),
    'typical (20 fields)': payload(20),
    'large (200 fields, ~100 KiB)': payload(200, 100 * 1024),
    'large, Chinese text (200 fields, ~100 KiB)': payload(200, 100 * 1024, 'chinese'),
  };
  const out: Record<string, { bytes: number; cold: number; p50: number; p99: number; cpuP50: number; cpuP99: number }> =
    {};
  let revision = 0;
  for (const [name, p] of Object.entries(cases)) {
    const n = Object.keys(p).length;
    const config = { customerId: 'crm_id', fields: fields(n) as Record<string, never> };
    const text = JSON.stringify(p);
    const body = new TextEncoder().encode(text);
    const headers = new Headers({ 'x-signature': `sha256=${createHmac('sha256', SECRET).update(text).digest('hex')}` });
    const cold: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await once(`bench:${revision++}`, config, body, headers);
      cold.push((performance.now() - t) * 1000);
    }
    const key = `bench:${revision++}`;
    for (let i = 0; i < 200; i++) await once(key, config, body, headers);
    const warm: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      const u = process.cpuUsage();
      await once(key, config, body, headers);
      const used = process.cpuUsage(u);
      warm.push((performance.now() - t) * 1000);
      cpu.push(used.user + used.system);
    }
    cold.sort((a, b) => a - b);
    warm.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    out[name] = {
      bytes: body.byteLength,
      cold: Math.round(percentile(cold, 50)),
      p50: Math.round(percentile(warm, 50)),
      p99: Math.round(percentile(warm, 99)),
      cpuP50: Math.round(percentile(cpu, 50)),
      cpuP99: Math.round(percentile(cpu, 99)),
    };
    console.log(name, out[name]);
  }
  mkdirSync('bench/out', { recursive: true });
  writeFileSync('bench/out/cpu.json', `${JSON.stringify(out, null, 2)}\n`);
});
