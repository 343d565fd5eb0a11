/** Functions every CRM mapping needs, bound in each JSONata expression as `$digits` and `$cnMobile`. */

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
}

/** Only the digits of a value: `$digits("+86 138-0013-8000")` is "8613800138000". Nothing for nothing. */
export function digits(value: unknown): string | undefined {
  const s = text(value);
  if (s === undefined) return undefined;
  const d = s.replace(/\D/g, '');
  return d === '' ? undefined : d;
}

/**
 * A mainland-China mobile number as the CRM stores it: 11 digits from 13x to 19x, a leading
 * 86 / 0086 / +86 dropped; anything else yields nothing, so a landline never overwrites a mobile.
 * `$cnMobile("+86 139-0013-9000")` is "13900139000".
 */
export function cnMobile(value: unknown): string | undefined {
  // An explicit international prefix other than 86 is a foreign number, whatever its digits look like.
  const raw = text(value)?.trim();
  if (raw && /^(\+|00)/.test(raw) && !/^(\+|00)[\s-]*86/.test(raw)) return undefined;
  let d = digits(value);
  if (d === undefined) return undefined;
  if (d.length === 15 && d.startsWith('0086')) d = d.slice(4);
  else if (d.length === 13 && d.startsWith('86')) d = d.slice(2);
  // Mainland mobile numbers are 11 digits from 13x to 19x; "1" + 10 digits alone would also match +1 numbers.
  return /^1[3-9]\d{9}$/.test(d) ? d : undefined;
}
