import { type DeliveryMessage, enqueue } from './core';
import { IN_FLIGHT_SQL } from '../deliveries/store';

const BATCH = 100; // sendBatch takes at most 100 messages

/**
 * Re-drives deliveries whose message was lost (a failed send after the row was written, a message
 * expired in the queue): still queued or retrying, and due for longer than `marginMs`. A delivery
 * waiting in backoff has its next attempt in the future and is never touched. Each one re-driven
 * is due again from now, so it is re-driven again only if this message is lost too.
 */
export async function redrive(db: D1Database, queue: Queue<DeliveryMessage>, now: number, marginMs: number, limit = 500): Promise<number> {
  const { results } = await db
    .prepare(
      `UPDATE deliveries SET next_attempt_at = ?1 WHERE id IN (
         SELECT id FROM deliveries WHERE next_attempt_at IS NOT NULL AND next_attempt_at < ?2
         AND status IN ${IN_FLIGHT_SQL} AND (lease_until IS NULL OR lease_until < ?1)
         ORDER BY next_attempt_at LIMIT ?3)
       RETURNING id`,
    )
    .bind(now, now - marginMs, limit)
    .all<{ id: string }>();
  for (let i = 0; i < results.length; i += BATCH) {
    const chunk = results.slice(i, i + BATCH);
    try {
      await queue.sendBatch(chunk.map((r) => ({ body: { id: r.id } })));
    } catch (err) {
      console.error('re-drive send failed; the next run tries again', err);
      for (const r of chunk) await enqueue(queue, r.id);
    }
  }
  return results.length;
}
