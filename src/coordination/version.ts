/**
 * A sender's version of a record (金数据 `entry.updated_at`, 简道云 `data.updateTime`, a revision number) compared
 * with another: numbers as numbers (any length of digits), times as times, anything else as text. Two versions of
 * different kinds cannot be compared (`null`): the adapter's receipt order decides then.
 */
const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

/** A version as the row and the customer sequence keep it: a trimmed string, or null when the payload has none. */
export function versionText(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'string') return null;
  const text = value.trim();
  return text === '' ? null : text.slice(0, 128);
}

/** Negative when `a` is older than `b`, 0 when equal, positive when newer; null when the two cannot be compared. */
export function compareVersions(a: string, b: string): number | null {
  if (INTEGER.test(a) && INTEGER.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (DECIMAL.test(a) && DECIMAL.test(b)) return Math.sign(Number(a) - Number(b));
  if (DECIMAL.test(a) !== DECIMAL.test(b)) return null;
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (!Number.isNaN(ta) && !Number.isNaN(tb)) return Math.sign(ta - tb);
  if (Number.isNaN(ta) !== Number.isNaN(tb)) return null;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Whether a delivery's version is older than the one last applied from its endpoint. Only the sender's version can
 * say so: without one (or when the two do not compare), nothing is superseded and the customer's deliveries are
 * applied in the order they reached the sequence, since two webhooks of one form may carry different fields.
 */
export function isOlder(candidate: string | null, applied: string | null): boolean {
  if (candidate === null || applied === null) return false;
  const order = compareVersions(candidate, applied);
  return order !== null && order < 0;
}
