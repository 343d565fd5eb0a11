/**
 * The cron's own small state (the `watch_state` table's SQL): a JSON value per key. A change is a swap from the value
 * read to the next one, taken only if the row still holds what was read: two cron runs that overlap (or a run that
 * outlives its 5 minutes) make each change, and say it, once.
 */
export type Stored<T> = { value: T; raw: string };

export async function readStates<T>(db: D1Database, prefix: string): Promise<Map<string, Stored<T>>> {
  const { results } = await db
    .prepare("SELECT key, value FROM watch_state WHERE key >= ? AND key < ? || '~'")
    .bind(prefix, prefix)
    .all<{ key: string; value: string }>();
  return new Map(results.map((r) => [r.key, { value: JSON.parse(r.value) as T, raw: r.value }]));
}

/** Sets `key` to `next` if it still holds `before` (its raw text as read; null: no row yet). Whether it took. */
export async function swapState(
  db: D1Database,
  key: string,
  before: string | null,
  next: unknown,
  now: number,
): Promise<boolean> {
  const value = JSON.stringify(next);
  const statement =
    before === null
      ? db
          .prepare(
            `INSERT INTO watch_state (key, value, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (key) DO NOTHING RETURNING key`,
          )
          .bind(key, value, now)
      : db
          .prepare('UPDATE watch_state SET value = ?, updated_at = ? WHERE key = ? AND value = ? RETURNING key')
          .bind(value, now, key, before);
  return (await statement.all()).results.length > 0;
}
