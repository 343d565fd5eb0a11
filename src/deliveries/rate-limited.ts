/**
 * Counts of rate-limited requests per endpoint and minute. Each isolate adds up its refusals in
 * memory and writes them at most once every FLUSH_MS per endpoint, so a flood costs a handful of
 * D1 writes, not one per request. Counts still in memory when an isolate is evicted are lost:
 * the figure is a lower bound (the Worker's logs carry one line per refusal).
 */
const FLUSH_MS = 10_000;
const MINUTE = 60_000;

const pending = new Map<string, { count: number; lastFlush: number }>();

/** Counts one refusal; returns the D1 write to wait for when it is time to flush, else `null`. */
export function countRateLimited(db: D1Database, endpointId: string, now: number): Promise<unknown> | null {
  const entry = pending.get(endpointId) ?? { count: 0, lastFlush: 0 };
  entry.count += 1;
  pending.set(endpointId, entry);
  if (now - entry.lastFlush < FLUSH_MS) return null;
  const count = entry.count;
  entry.count = 0;
  entry.lastFlush = now;
  return db
    .prepare(
      `INSERT INTO rate_limited (endpoint_id, minute, count) VALUES (?1, ?2, ?3)
       ON CONFLICT (endpoint_id, minute) DO UPDATE SET count = count + excluded.count`,
    )
    .bind(endpointId, Math.floor(now / MINUTE) * MINUTE, count)
    .run();
}

/**
 * Counts one failed or throttled authentication (`_auth-console`, `_auth-admin`) as it happens: one upsert of its
 * minute's row, so `GET /admin/auth-failures` never waits for a later failure to see a burst, and the attempts
 * refused while the client is throttled are counted too. A failed attempt costs one row written, like a refused
 * webhook.
 */
export function countAuthFailure(db: D1Database, kind: 'console' | 'admin', now: number): Promise<unknown> {
  return db
    .prepare(
      `INSERT INTO rate_limited (endpoint_id, minute, count) VALUES (?1, ?2, 1)
       ON CONFLICT (endpoint_id, minute) DO UPDATE SET count = count + 1`,
    )
    .bind(`_auth-${kind}`, Math.floor(now / MINUTE) * MINUTE)
    .run();
}

/** Refusals per minute for one endpoint since `since` (ms), newest first, with their total. */
export async function rateLimitedSince(
  db: D1Database,
  endpointId: string,
  since: number,
): Promise<{ total: number; minutes: { minute: string; count: number }[] }> {
  const { results } = await db
    .prepare(
      'SELECT minute, count FROM rate_limited WHERE endpoint_id = ?1 AND minute >= ?2 ORDER BY minute DESC LIMIT 1440',
    )
    .bind(endpointId, since)
    .all<{ minute: number; count: number }>();
  return {
    total: results.reduce((n, r) => n + r.count, 0),
    minutes: results.map((r) => ({ minute: new Date(r.minute).toISOString(), count: r.count })),
  };
}
