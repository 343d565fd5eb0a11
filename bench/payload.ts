/** The benchmark's payloads and endpoint configurations: small (5 fields), typical (20) and large (200 fields, ~100 KiB). */
export const MODULE_ID = '347772778973233152';
export const CUSTOMER_ID = '688346218203447296';

/** A payload with `n` mapped fields (plus the customer id), padded to about `bytes` when given. */
export function payload(n: number, bytes = 0): Record<string, string> {
  const out: Record<string, string> = { crm_id: CUSTOMER_ID, name: ' 吴九 ', mobile: '+86 139-0013-9000' };
  for (let i = 3; i < n; i++) out[`f${i}`] = `value ${i} 想了解价格`;
  if (bytes > 0) {
    const size = JSON.stringify(out).length;
    const pad = Math.max(0, Math.floor((bytes - size) / Math.max(1, n - 3)));
    for (let i = 3; i < n; i++) out[`f${i}`] = `value ${i} ${'x'.repeat(pad)}`;
  }
  return out;
}

/** The field mapping for a payload of `n` fields: name, phone, and one custom field per other value. */
export function fields(n: number): Record<string, unknown> {
  const out: Record<string, unknown> = { name: '$trim(name)', phone: '$cnMobile(mobile)' };
  for (let i = 3; i < n; i++) out[`input_${1700000000000 + i}`] = i % 3 === 0 ? { from: `f${i}`, required: true } : `f${i}`;
  return out;
}
