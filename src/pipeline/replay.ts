import * as z from '../shared/zod';
import { DELIVERY_STATUSES } from '../deliveries/store';
import { EndpointId } from '../endpoints/schema';
import { type DeliveryMessage, enqueue } from './core';
import { Where } from '../shared/sql';
import { ATTENTION_SQL, REPLAYABLE_SQL, statusSql } from '../deliveries/store';
import { idFloor } from '../deliveries/id';

/**
 * Replay: a delivery runs again against the endpoint's current configuration, through the queue,
 * as the same delivery (new attempt rows, a new run of maxAttempts). Only verified deliveries
 * whose body is still stored can be replayed; one in flight is left alone.
 */
const REPLAYABLE = REPLAYABLE_SQL;

// ?1 is the time; later anonymous parameters number on from 2.
const RESTART = `UPDATE deliveries SET status = 'queued', mode = 'queue', reason = NULL, message = NULL, finished_at = NULL,
  run_attempts = 0, next_attempt_at = ?1, lease_until = NULL, replays = replays + 1`;

export type ReplayOne = { ok: true } | { ok: false; why: 'not_found' | 'in_flight' | 'not_replayable'; message: string };

export async function replayOne(db: D1Database, queue: Queue<DeliveryMessage>, id: string, now: number): Promise<ReplayOne> {
  const updated = await db.prepare(`${RESTART} WHERE id = ?2 AND ${REPLAYABLE} RETURNING id`).bind(now, id).first<{ id: string }>();
  if (!updated) {
    const row = await db
      .prepare('SELECT status, verified, payload IS NULL AND raw_body IS NULL AS purged FROM deliveries WHERE id = ?')
      .bind(id)
      .first<{ status: string; verified: number; purged: number }>();
    if (!row) return { ok: false, why: 'not_found', message: 'No such delivery' };
    if (row.status === 'queued' || row.status === 'retrying') return { ok: false, why: 'in_flight', message: `The delivery is ${row.status} already` };
    if (row.verified !== 1) return { ok: false, why: 'not_replayable', message: 'The request was never verified (or was a handshake): it cannot be replayed' };
    if (row.status === 'duplicate') return { ok: false, why: 'not_replayable', message: 'A duplicate is not replayed: replay the first delivery' };
    return { ok: false, why: 'not_replayable', message: 'The stored body was removed by retention' };
  }
  await enqueue(queue, id);
  return { ok: true };
}

export const ReplayFilter = z.strictObject({
  endpoint: z.optional(EndpointId),
  status: z.enum(DELIVERY_STATUSES as [string, ...string[]]),
  /** ISO times bounding `receivedAt`. */
  since: z.optional(z.iso.datetime({ offset: true })),
  until: z.optional(z.iso.datetime({ offset: true })),
  /** At most this many (newest first); 500 at most per call. */
  limit: z._default(z.int().check(z.gte(1)).check(z.lte(500)), 100),
  /** Only count what would be replayed. */
  dryRun: z._default(z.boolean(), false),
});
export type ReplayFilter = z.infer<typeof ReplayFilter>;

/** Replays every replayable delivery matching the filter, newest first, bounded by `limit`. */
export async function replayMany(db: D1Database, queue: Queue<DeliveryMessage>, filter: ReplayFilter, now: number): Promise<{ matched: number; queued: number; ids: string[] }> {
  const where = new Where().and(REPLAYABLE).and(statusSql(filter.status), filter.status);
  if (filter.endpoint) where.and('endpoint_id = ?', filter.endpoint);
  if (filter.since) where.and('id >= ?', idFloor(Date.parse(filter.since)));
  if (filter.until) where.and('id < ?', idFloor(Date.parse(filter.until)));
  const params = where.params;
  const select = `SELECT id FROM deliveries ${where.sql} ORDER BY id DESC LIMIT ${filter.limit}`;
  if (filter.dryRun) {
    const count = await db
      .prepare(`SELECT COUNT(*) AS n FROM (SELECT id FROM deliveries ${where.sql} LIMIT ${filter.limit})`)
      .bind(...params)
      .first<{ n: number }>();
    return { matched: count?.n ?? 0, queued: 0, ids: [] };
  }
  const { results } = await db
    .prepare(`${RESTART} WHERE id IN (${select}) RETURNING id`)
    .bind(now, ...params)
    .all<{ id: string }>();
  const ids = results
    .map((r) => r.id)
    .sort()
    .reverse();
  for (let i = 0; i < ids.length; i += 100) {
    try {
      await queue.sendBatch(ids.slice(i, i + 100).map((id) => ({ body: { id } })));
    } catch (err) {
      console.error('replay send failed; the cron re-drive will pick these up', err);
    }
  }
  return { matched: ids.length, queued: ids.length, ids };
}

/**
 * Queues every delivery an endpoint held while it was disabled, oldest first (arrival order). Run whenever an
 * enabled configuration is saved; with nothing held it is one indexed query. Returns how many were released.
 */
export async function releaseHeld(db: D1Database, queue: Queue<DeliveryMessage>, endpointId: string, now: number): Promise<number> {
  const { results } = await db
    .prepare(
      `UPDATE deliveries SET status = 'queued', mode = 'queue', reason = NULL, message = NULL, finished_at = NULL, next_attempt_at = ?1, lease_until = NULL
       WHERE endpoint_id = ?2 AND status = 'held' AND ${ATTENTION_SQL} RETURNING id`,
    )
    .bind(now, endpointId)
    .all<{ id: string }>();
  const ids = results.map((r) => r.id).sort();
  for (let i = 0; i < ids.length; i += 100) {
    try {
      await queue.sendBatch(ids.slice(i, i + 100).map((id) => ({ body: { id } })));
    } catch (err) {
      console.error('release send failed; the cron re-drive picks the rest up', err);
    }
  }
  return ids.length;
}

/** How many deliveries each endpoint holds while disabled. */
export async function heldCounts(db: D1Database): Promise<Map<string, number>> {
  const { results } = await db
    .prepare(`SELECT endpoint_id, COUNT(*) AS n FROM deliveries WHERE status = 'held' AND ${ATTENTION_SQL} GROUP BY endpoint_id`)
    .all<{ endpoint_id: string; n: number }>();
  return new Map(results.map((r) => [r.endpoint_id, r.n]));
}
