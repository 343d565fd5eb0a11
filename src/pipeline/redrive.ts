import { type DeliveryMessage, enqueue } from './core';
import { takeOverdue } from '../deliveries/lifecycle';

const BATCH = 100; // sendBatch takes at most 100 messages

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
  for (let i = 0; i < ids.length; i += BATCH) {
    const chunk = ids.slice(i, i + BATCH);
    try {
      await queue.sendBatch(chunk.map((id) => ({ body: { id } })));
    } catch (err) {
      console.error('re-drive send failed; the next run tries again', err);
      for (const id of chunk) await enqueue(queue, id);
    }
  }
  return ids.length;
}
