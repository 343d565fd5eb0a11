import * as z from '../shared/zod';
import type { VerifyInput } from './types';

const HeaderName = z.pipe(
  z.string().check(z.regex(/^[A-Za-z0-9-]+$/, 'a header name')),
  z.transform((h) => h.toLowerCase()),
);

/** Where a value travels: `{ "header": "x-signature" }` or `{ "query": "sig" }`. */
export const Location = z.union([
  z.strictObject({ header: HeaderName }),
  z.strictObject({ query: z.string().check(z.minLength(1)) }),
]);
export type Location = z.infer<typeof Location>;

/** Reads a value from its location; `null` when absent or empty. */
export function readLocation(location: Location, input: VerifyInput): string | null {
  const value = 'header' in location ? input.headers.get(location.header) : input.url.searchParams.get(location.query);
  return value === null || value === '' ? null : value;
}

export function describeLocation(location: Location): string {
  return 'header' in location ? `header ${location.header}` : `query parameter ${location.query}`;
}

/** The named timestamp's distance from now, checked against a tolerance (replay protection). */
export function checkTimestamp(
  raw: string | null,
  unit: 's' | 'ms',
  toleranceSeconds: number,
  now: number,
):
  | { ok: true }
  | { ok: false; reason: 'missing_credential' | 'malformed_timestamp' | 'stale_timestamp'; detail: string } {
  if (raw === null) return { ok: false, reason: 'missing_credential', detail: 'no timestamp' };
  if (!/^\d{1,16}$/.test(raw.trim()))
    return {
      ok: false,
      reason: 'malformed_timestamp',
      detail: `timestamp ${JSON.stringify(raw.slice(0, 32))} is not a number`,
    };
  const ms = Number(raw.trim()) * (unit === 's' ? 1000 : 1);
  const skew = Math.abs(now - ms) / 1000;
  if (skew > toleranceSeconds)
    return {
      ok: false,
      reason: 'stale_timestamp',
      detail: `timestamp is ${Math.round(skew)} s away from now (tolerance ${toleranceSeconds} s)`,
    };
  return { ok: true };
}
