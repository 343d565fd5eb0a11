import { idFloor } from './id';
import { IN_FLIGHT_SQL } from './store';
/**
 * Retention, run by the cron: stored bodies (payload and raw body) go after `rawDays`, whole rows
 * (with their attempts) after `logDays`, expired idempotency keys and old rate-limit counts too.
 * Each run is bounded so it stays well inside one invocation's limits; a backlog clears over runs.
 */
const DAY = 86_400_000;
const PER_RUN = 2000;

export type RetentionResult = { bodiesRemoved: number; rowsDeleted: number; keysExpired: number };

export async function enforceRetention(
  db: D1Database,
  now: number,
  rawDays: number,
  logDays: number,
): Promise<RetentionResult> {
  const rawBefore = now - rawDays * DAY;
  const logBefore = now - logDays * DAY;
  const [bodies, , rows, keys] = await db.batch([
    db
      .prepare(
        `UPDATE deliveries SET payload = NULL, raw_body = NULL WHERE id IN (
           SELECT id FROM deliveries WHERE id < ?1 AND (payload IS NOT NULL OR raw_body IS NOT NULL)
           AND status NOT IN ${IN_FLIGHT_SQL} LIMIT ?2)`,
      )
      .bind(idFloor(rawBefore), PER_RUN),
    db
      .prepare(
        `DELETE FROM attempts WHERE delivery_id IN
           (SELECT id FROM deliveries WHERE id < ?1 AND status NOT IN ${IN_FLIGHT_SQL} LIMIT ?2)`,
      )
      .bind(idFloor(logBefore), PER_RUN),
    db
      .prepare(
        `DELETE FROM deliveries WHERE id IN
           (SELECT id FROM deliveries WHERE id < ?1 AND status NOT IN ${IN_FLIGHT_SQL} LIMIT ?2)`,
      )
      .bind(idFloor(logBefore), PER_RUN),
    db.prepare('DELETE FROM idempotency WHERE expires_at < ?1').bind(now),
    db.prepare('DELETE FROM rate_limited WHERE minute < ?1').bind(logBefore),
    db.prepare('DELETE FROM revoked_sessions WHERE expires_at < ?1').bind(now),
  ]);
  return { bodiesRemoved: bodies!.meta.changes, rowsDeleted: rows!.meta.changes, keysExpired: keys!.meta.changes };
}
