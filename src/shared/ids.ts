/** The largest id the CRM's int64 columns hold. */
const INT64_MAX = 9223372036854775807n;
const CANONICAL = /^[1-9]\d{0,18}$/;

/**
 * A CRM id in canonical form: a positive decimal, no sign, exponent, spaces or leading zeros, at most 19 digits
 * and within int64. Ids are snowflakes above 2^53, so they travel as strings; `0` is no one.
 */
export function isCanonicalId(text: string): boolean {
  return CANONICAL.test(text) && BigInt(text) <= INT64_MAX;
}
