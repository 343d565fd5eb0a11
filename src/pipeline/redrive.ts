import { type DeliveryMessage, enqueueMany } from './core';
import { takeOverdue } from '../deliveries/lifecycle';

/**
 * Re-drives deliveries whose message was lost (a failed send after the row was written, a message
 * expired in the queue): still queued or retrying, and due for longer than `marginMs`. A delivery
 * waiting in backoff has its next attempt in the future and is never touched.
 */
export async function redrive(
  db: D1Database,
  queue: Queue<DeliveryMessage>,
  now: number,
  marginMs: number,
  limit = 500,
): Promise<number> {
  const ids = (await takeOverdue(db, now, marginMs, limit)).sort();
  await enqueueMany(queue, ids);
  return ids.length;
}
