/** The cron's own small state (the `watch_state` table's SQL): a JSON value per key, written only when it changes. */
export async function readStates<T>(db: D1Database, prefix: string): Promise<Map<string, T>> {
  const { results } = await db
    .prepare("SELECT key, value FROM watch_state WHERE key >= ? AND key < ? || '~'")
    .bind(prefix, prefix)
    .all<{ key: string; value: string }>();
  return new Map(results.map((r) => [r.key, JSON.parse(r.value) as T]));
}

export function writeStateStatement(db: D1Database, key: string, value: unknown, now: number): D1PreparedStatement {
  return db
    .prepare('INSERT OR REPLACE INTO watch_state (key, value, updated_at) VALUES (?, ?, ?)')
    .bind(key, JSON.stringify(value), now);
}
