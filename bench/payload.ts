/**
 * The benchmark's payloads and endpoint configurations: small (5 fields), typical (20) and large (200 fields, ~100
 * KiB).
 */
export const MODULE_ID = '347772778973233152';
export const CUSTOMER_ID = '688346218203447296';
/**
 * The customers the load rotates through (each in the stand-in CRM): every webhook of a row concerns another customer.
 */
export const CUSTOMER_POOL = Array.from({ length: 256 }, (_, i) => `68834621820${String(4000000 + i)}`);

const CHINESE = '想了解价格和交付周期，请销售尽快联系我。公司在上海浦东新区，预算约五十万元。';

/**
 * A payload with `n` mapped fields (plus the customer id), padded to about `bytes` when given: with Latin
 * `x` (`latin`, the rows measured since the first benchmark), or with Chinese text (`chinese`, what a big form
 * answer of this CRM's users holds: three UTF-8 bytes a character, and a string V8 stores in two bytes a character).
 */
export function payload(n: number, bytes = 0, script: 'latin' | 'chinese' = 'latin'): Record<string, string> {
  const out: Record<string, string> = { crm_id: CUSTOMER_ID, name: ' 吴九 ', mobile: '+86 139-0013-9000' };
  for (let i = 3; i < n; i++) out[`f${i}`] = `value ${i} 想了解价格`;
  if (bytes > 0) {
    // the Latin rows count characters, as since the first benchmark (about 101 KB at 100 KiB); the Chinese ones UTF-8
    // bytes
    const size =
      script === 'latin' ? JSON.stringify(out).length : new TextEncoder().encode(JSON.stringify(out)).byteLength;
    const pad = Math.max(0, Math.floor((bytes - size) / Math.max(1, n - 3)));
    const filler =
      script === 'latin'
        ? 'x'.repeat(pad)
        : CHINESE.repeat(Math.ceil(pad / 3 / CHINESE.length) + 1).slice(0, Math.floor(pad / 3));
    for (let i = 3; i < n; i++) out[`f${i}`] = `value ${i} ${filler}`;
  }
  return out;
}

/** The field mapping for a payload of `n` fields: name, phone, and one custom field per other value. */
export function fields(n: number): Record<string, unknown> {
  const out: Record<string, unknown> = { name: '$trim(name)', phone: '$cnMobile(mobile)' };
  for (let i = 3; i < n; i++)
    out[`input_${1700000000000 + i}`] = i % 3 === 0 ? { from: `f${i}`, required: true } : `f${i}`;
  return out;
}

/** The CRM body the adapter sends for a payload mapped with `fields(n)`: what the floors forward (and store). */
export function crmBodyFor(sent: Record<string, string>): string {
  return JSON.stringify({
    mid: MODULE_ID,
    id: CUSTOMER_ID,
    name: '吴九',
    phone: '13900139000',
    ...Object.fromEntries(
      Object.entries(sent)
        .slice(3)
        .map(([_k, v], i) => [`input_${1700000000003 + i}`, v]),
    ),
  });
}
