import * as z from '../shared/zod';
import { DELIVERY_STATUSES, statusSql } from '../deliveries/store';
import {
  acceptRefused,
  cancelForDeletedEndpoint,
  heldCounts,
  replayFacts,
  restartMatching,
  restartOne,
  unholdAll,
} from '../deliveries/lifecycle';
import { EndpointId } from '../endpoints/schema';
import { getEndpoint } from '../endpoints/store';
import { type DeliveryMessage, enqueue, enqueueMany } from './core';
import { Where } from '../shared/sql';
import { type Coordination, join, productLineOf } from '../coordination';
import { idFloor } from '../deliveries/id';

export { heldCounts };

/**
 * Replay: a delivery runs again against the endpoint's current configuration, through the queue,
 * as the same delivery (new attempt rows, a new run of maxAttempts). Only verified deliveries
 * whose body is still stored can be replayed; one in flight is left alone. A replayed delivery keeps its place in its
 * customer's sequence by its receipt time, and is superseded if a newer one of its endpoint was applied meanwhile,
 * unless it was superseded before: replaying a superseded delivery by hand sends it all the same.
 */
export type ReplayOne =
  | { ok: true }
  | { ok: false; why: 'not_found' | 'in_flight' | 'not_replayable'; message: string };

export async function replayOne(
  db: D1Database,
  queue: Queue<DeliveryMessage>,
  id: string,
  now: number,
): Promise<ReplayOne> {
  if (!(await restartOne(db, id, now))) {
    const row = await replayFacts(db, id);
    if (!row) return { ok: false, why: 'not_found', message: 'No such delivery' };
    if (row.status === 'queued' || row.status === 'retrying')
      return { ok: false, why: 'in_flight', message: `The delivery is ${row.status} already` };
    if (row.status === 'held')
      return { ok: false, why: 'in_flight', message: 'The delivery is held until its endpoint is enabled' };
    if (row.verified !== 1)
      return {
        ok: false,
        why: 'not_replayable',
        message: 'The request was never verified (or was a handshake): it cannot be replayed',
      };
    if (row.status === 'duplicate')
      return { ok: false, why: 'not_replayable', message: 'A duplicate is not replayed: replay the first delivery' };
    return { ok: false, why: 'not_replayable', message: 'The stored body was removed by retention' };
  }
  await enqueue(queue, id);
  return { ok: true };
}

/** Accepting a refused webhook: why it could not be accepted. */
export type AcceptOne = { ok: true } | { ok: false; why: 'not_found' | 'not_reviewable'; message: string };

/**
 * Accepts a webhook refused for its credential (never automatic: an admin reviewed it): it counts as verified from
 * now on, `by` and the time are recorded on the row, and it is delivered through the queue like a replay.
 */
export async function acceptOne(
  db: D1Database,
  queue: Queue<DeliveryMessage>,
  id: string,
  by: string,
  now: number,
): Promise<AcceptOne> {
  if (!(await acceptRefused(db, id, by, now))) {
    const row = await replayFacts(db, id);
    if (!row) return { ok: false, why: 'not_found', message: 'No such delivery' };
    if (row.accepted_by)
      return { ok: false, why: 'not_reviewable', message: `It was accepted already (by ${row.accepted_by})` };
    if (row.purged) return { ok: false, why: 'not_reviewable', message: 'The stored body was removed by retention' };
    return {
      ok: false,
      why: 'not_reviewable',
      message: 'Only a webhook refused for its token or signature can be accepted; replay the others',
    };
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
export async function replayMany(
  db: D1Database,
  queue: Queue<DeliveryMessage>,
  filter: ReplayFilter,
  now: number,
): Promise<{ matched: number; queued: number; ids: string[] }> {
  const where = new Where().and(statusSql(filter.status), filter.status);
  if (filter.endpoint) where.and('endpoint_id = ?', filter.endpoint);
  if (filter.since) where.and('id >= ?', idFloor(Date.parse(filter.since)));
  if (filter.until) where.and('id < ?', idFloor(Date.parse(filter.until)));
  const restarted = await restartMatching(db, where, filter.limit, now, filter.dryRun);
  if (typeof restarted === 'number') return { matched: restarted, queued: 0, ids: [] };
  // oldest first: each customer's deliveries reach their sequence in receipt order
  const ids = restarted.sort();
  await enqueueMany(queue, ids);
  return { matched: ids.length, queued: ids.length, ids: ids.reverse() };
}

/**
 * Queues every delivery an endpoint held while it was disabled, oldest first (arrival order). Run whenever an
 * enabled configuration is saved, and by the cron for every endpoint that is enabled and still holds some (an
 * isolate with a stale cache may have held webhooks after the endpoint was enabled). Returns how many.
 */
export async function releaseHeld(
  db: D1Database,
  queue: Queue<DeliveryMessage>,
  coordination: Coordination,
  endpointId: string,
  now: number,
): Promise<number> {
  const rows = await unholdAll(db, endpointId, now);
  // every one takes its place in its customer's line before any is sent: the consumer, which runs batches at once,
  // then applies each customer's in the order they were received
  const places = rows.flatMap((row) =>
    row.sequence_key
      ? [
          {
            key: row.sequence_key,
            ticket: { deliveryId: row.id, endpointId, version: row.version, round: row.replays },
          },
        ]
      : [],
  );
  const byProductLine = new Map<string, typeof places>();
  for (const place of places)
    byProductLine.set(productLineOf(place.key), [...(byProductLine.get(productLineOf(place.key)) ?? []), place]);
  // one request per coordinator, in receipt order (500 at a time: a request stays small)
  for (const [productLineId, line] of byProductLine)
    for (let i = 0; i < line.length; i += 500) await join(coordination, productLineId, line.slice(i, i + 500));
  await enqueueMany(
    queue,
    rows.map((r) => r.id),
  );
  return rows.length;
}

/** Releases what enabled endpoints still hold (the cron's safety net). Returns how many were released. */
export async function releaseHeldOfEnabled(
  db: D1Database,
  kv: KVNamespace,
  queue: Queue<DeliveryMessage>,
  coordination: Coordination,
  now: number,
): Promise<number> {
  let released = 0;
  for (const endpointId of (await heldCounts(db)).keys()) {
    const endpoint = await getEndpoint(kv, endpointId).catch(() => null);
    if (endpoint?.config.enabled) released += await releaseHeld(db, queue, coordination, endpointId, now);
  }
  return released;
}

/**
 * An endpoint was deleted: what it held or still had on its way ends `cancelled`, never delivered to a later endpoint
 * of the same id.
 */
export function cancelDeleted(db: D1Database, endpointId: string, now: number): Promise<number> {
  return cancelForDeletedEndpoint(db, endpointId, now);
}
