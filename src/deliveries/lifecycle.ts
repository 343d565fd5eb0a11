/**
 * A delivery's life, every change of its status in one place (README "Statuses"): received -> queued / held ->
 * leased for an attempt -> waiting its customer's turn or the CRM's slot -> retrying -> delivered, unchanged,
 * superseded, failed, dead... Each function is one statement (or one batch) on `deliveries`; the pipeline decides
 * when, this module says how.
 */
import type { ErrorCode } from '../http/errors';
import type { BodyFailure } from '../receive/body';
import type { Where } from '../shared/sql';
import type { VerifyFailureReason } from '../verify';
import {
  ATTENTION_SQL,
  CREDENTIAL_REASONS,
  type DeliveryRow,
  type DeliveryStatus,
  IN_FLIGHT,
  IN_FLIGHT_SQL,
} from './store';

/** Why a delivery on its way is not being attempted right now (the row's `reason` while `queued` or `retrying`). */
export type WaitReason =
  /** An earlier delivery of the same customer is not finished. */
  | 'sequence_wait'
  /** Every CRM call is paused (the CRM kept failing, or asked to wait). */
  | 'crm_paused'
  /** The CRM's limits (calls in flight, calls per second) are reached for now. */
  | 'crm_busy'
  /** A new customer: created through the queue, in its first lookup key's line (one create per person). */
  | 'create_queued';

/**
 * Every reason a delivery row can carry, from each step's own types where it has them. The console's catalogue
 * (src/console/i18n) is a `Record<DeliveryReason, …>`, so a reason without its sentences fails the build.
 */
export type DeliveryReason =
  | ErrorCode
  | VerifyFailureReason
  | BodyFailure['reason']
  | WaitReason
  | 'turnstile_missing'
  | 'turnstile_rejected'
  | 'turnstile_misconfigured'
  | 'secret_missing'
  | 'skip_when'
  | 'honeypot'
  | 'duplicate'
  | 'unchanged'
  | 'superseded'
  | 'endpoint_disabled'
  | 'endpoint_deleted'
  | 'endpoint_missing'
  | 'payload_purged'
  | 'customer_conflict'
  /** Delivered by creating the customer (`onUnmatched: "create"`). */
  | 'customer_created'
  /** A create call whose outcome is unknown: a person checks the CRM and answers in the console. */
  | 'create_unconfirmed';

/**
 * Takes the lease on a due delivery for one attempt (one CRM call at a time, whatever the queue sends twice): the row,
 * or, when another attempt holds it, until when.
 */
export async function leaseForAttempt(
  db: D1Database,
  id: string,
  now: number,
  leaseUntil: number,
): Promise<{ row: DeliveryRow } | { heldUntil: number } | { gone: true }> {
  const row = await db
    .prepare(
      `UPDATE deliveries SET attempts = attempts + 1, run_attempts = run_attempts + 1, lease_until = ?1
       WHERE id = ?2 AND status IN ${IN_FLIGHT_SQL} AND (lease_until IS NULL OR lease_until < ?3) RETURNING *`,
    )
    .bind(leaseUntil, id, now)
    .first<DeliveryRow>();
  if (row) return { row };
  const current = await statusOf(db, id);
  if (current && IN_FLIGHT.includes(current.status) && current.lease_until !== null)
    return { heldUntil: current.lease_until };
  return { gone: true }; // delivered, dead, replaced... or unknown: nothing to do
}

/** Where a delivery stands, in a few columns (null when there is no such delivery). */
export function statusOf(
  db: D1Database,
  id: string,
): Promise<Pick<
  DeliveryRow,
  'status' | 'reason' | 'lease_until' | 'next_attempt_at' | 'version' | 'endpoint_id' | 'replays'
> | null> {
  return db
    .prepare(
      'SELECT status, reason, lease_until, next_attempt_at, version, endpoint_id, replays FROM deliveries WHERE id = ?',
    )
    .bind(id)
    .first();
}

/**
 * An attempt that did not call the CRM (its customer's turn has not come, or the CRM's calls are paused): the lease
 * and the attempt are given back, the row says why it waits and when it is tried again.
 */
export async function waitAgain(
  db: D1Database,
  id: string,
  reason: WaitReason,
  message: string,
  nextAttemptAt: number,
): Promise<void> {
  await db
    .prepare(
      `UPDATE deliveries
       SET reason = ?1, message = ?2, next_attempt_at = ?3, lease_until = NULL,
         attempts = MAX(attempts - 1, 0), run_attempts = MAX(run_attempts - 1, 0)
       WHERE id = ?4 AND status IN ${IN_FLIGHT_SQL}`,
    )
    .bind(reason, message, nextAttemptAt, id)
    .run();
}

/** The endpoint was disabled while this delivery waited: held again (no CRM call made), released when it is enabled. */
export async function holdAgain(db: D1Database, id: string): Promise<void> {
  await db
    .prepare(
      `UPDATE deliveries
       SET status = 'held', reason = 'endpoint_disabled',
         message = 'the endpoint is disabled: held until it is enabled again',
         attempts = attempts - 1, run_attempts = run_attempts - 1, lease_until = NULL, next_attempt_at = NULL
       WHERE id = ?`,
    )
    .bind(id)
    .run();
}

/** The columns an attempt's end sets, as one statement (in the attempt's batch). */
export function endAttemptStatement(db: D1Database, id: string, set: Record<string, unknown>): D1PreparedStatement {
  const columns = Object.keys(set);
  return db
    .prepare(`UPDATE deliveries SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`)
    .bind(...columns.map((c) => set[c] ?? null), id);
}

/** A message the queue gave up on: its delivery, if still in flight, is dead. Returns what the alert needs. */
export function markDeadLettered(db: D1Database, id: string, now: number) {
  return db
    .prepare(
      `UPDATE deliveries SET status = 'dead', reason = COALESCE(reason, 'dead_letter'),
       message = 'the queue gave up on this delivery (dead-letter queue)' || COALESCE(': ' || message, ''),
       next_attempt_at = NULL, lease_until = NULL, finished_at = ?1, duration_ms = ?1 - received_at
       WHERE id = ?2 AND status IN ${IN_FLIGHT_SQL} RETURNING endpoint_id, reason, sequence_key, version, replays`,
    )
    .bind(now, id)
    .first<{
      endpoint_id: string;
      reason: string | null;
      sequence_key: string | null;
      version: string | null;
      replays: number;
    }>();
}

// ?1 is the time; later anonymous parameters number on from 2.
const RESTART = `UPDATE deliveries
  SET status = 'queued', mode = 'queue', reason = NULL, message = NULL, finished_at = NULL,
    run_attempts = 0, next_attempt_at = ?1, lease_until = NULL, replays = replays + 1`;

/**
 * The one replay rule: a verified delivery whose body is still stored, not in flight, not a duplicate (replay its
 * first instead), not held. As SQL for the replay queries; `isReplayable` in store.ts for a row already read.
 */
export const REPLAYABLE_SQL = `verified = 1 AND (raw_body IS NOT NULL OR payload IS NOT NULL)
  AND status NOT IN ('queued', 'retrying', 'duplicate', 'held')`;

/** Restarts one replayable delivery (a new run of attempts, as the same delivery); false when it is not replayable. */
export async function restartOne(db: D1Database, id: string, now: number): Promise<boolean> {
  const updated = await db
    .prepare(`${RESTART} WHERE id = ?2 AND ${REPLAYABLE_SQL} RETURNING id`)
    .bind(now, id)
    .first<{ id: string }>();
  return updated !== null;
}

/** The one review rule (`isReviewable` in store.ts) as SQL: refused for its credential, its body kept, not accepted. */
export const REVIEWABLE_SQL = `status = 'rejected' AND verified = 0 AND accepted_at IS NULL
  AND (raw_body IS NOT NULL OR payload IS NOT NULL)
  AND reason IN (${CREDENTIAL_REASONS.map((r) => `'${r}'`).join(', ')})`;

/**
 * Accepts a webhook refused for its credential: from now on it counts as verified (who accepted it, and when, on the
 * row) and runs like a replay. False when it is not reviewable (already accepted, verified, or its body removed).
 */
export async function acceptRefused(db: D1Database, id: string, by: string, now: number): Promise<boolean> {
  const updated = await db
    .prepare(
      `${RESTART}, verified = 1, accepted_by = ?3, accepted_at = ?1 WHERE id = ?2 AND ${REVIEWABLE_SQL} RETURNING id`,
    )
    .bind(now, id, by)
    .first<{ id: string }>();
  return updated !== null;
}

/**
 * Records, before the create call, that this delivery is creating its customer: a later try never creates again on its
 * own.
 */
export async function markCreateStarted(db: D1Database, id: string): Promise<void> {
  await db.prepare("UPDATE deliveries SET create_state = 'started' WHERE id = ?").bind(id).run();
}

/**
 * A person's answer for a create whose outcome was unknown (it must be `unconfirmed`): "it was not created"
 * (`absent`: the replay creates it) or "it was created" (its keys are learned first, the replay then updates it).
 * Restarts it like a replay; false when it is not waiting for that answer.
 */
export async function answerUnconfirmed(
  db: D1Database,
  id: string,
  state: 'absent' | 'created',
  now: number,
): Promise<boolean> {
  const updated = await db
    .prepare(
      `${RESTART}, create_state = ?3
       WHERE id = ?2 AND status = 'failed' AND create_state = 'unconfirmed' AND ${REPLAYABLE_SQL}
       RETURNING id`,
    )
    .bind(now, id, state)
    .first<{ id: string }>();
  return updated !== null;
}

/** Why a delivery could not be restarted. */
export function replayFacts(db: D1Database, id: string) {
  return db
    .prepare(
      `SELECT status, reason, verified, accepted_by, payload IS NULL AND raw_body IS NULL AS purged FROM deliveries
       WHERE id = ?`,
    )
    .bind(id)
    .first<{
      status: DeliveryStatus;
      reason: string | null;
      verified: number;
      accepted_by: string | null;
      purged: number;
    }>();
}

/** Counts, or restarts, the replayable deliveries a filter selects (newest first, at most `limit`). */
export async function restartMatching(
  db: D1Database,
  where: Where,
  limit: number,
  now: number,
  dryRun: boolean,
): Promise<string[] | number> {
  where.and(REPLAYABLE_SQL);
  const select = `SELECT id FROM deliveries ${where.sql} ORDER BY id DESC LIMIT ${limit}`;
  if (dryRun) {
    const count = await db
      .prepare(`SELECT COUNT(*) AS n FROM (SELECT id FROM deliveries ${where.sql} LIMIT ${limit})`)
      .bind(...where.params)
      .first<{ n: number }>();
    return count?.n ?? 0;
  }
  const { results } = await db
    .prepare(`${RESTART} WHERE id IN (${select}) RETURNING id`)
    .bind(now, ...where.params)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/**
 * Queues every delivery an endpoint held while it was disabled; oldest first, each with its customer sequence (if
 * known).
 */
export async function unholdAll(
  db: D1Database,
  endpointId: string,
  now: number,
): Promise<Pick<DeliveryRow, 'id' | 'sequence_key' | 'version' | 'replays'>[]> {
  const { results } = await db
    .prepare(
      `UPDATE deliveries
       SET status = 'queued', mode = 'queue', reason = NULL, message = NULL, finished_at = NULL,
         next_attempt_at = ?1, lease_until = NULL
       WHERE endpoint_id = ?2 AND status = 'held' AND ${ATTENTION_SQL}
       RETURNING id, sequence_key, version, replays`,
    )
    .bind(now, endpointId)
    .all<Pick<DeliveryRow, 'id' | 'sequence_key' | 'version' | 'replays'>>();
  return results.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/**
 * An endpoint was deleted: what it held (and what waits in the queue for it) ends `cancelled`, so that an endpoint
 * created later under the same id never receives it. Returns how many.
 */
export async function cancelForDeletedEndpoint(db: D1Database, endpointId: string, now: number): Promise<number> {
  const held = await db
    .prepare(
      `UPDATE deliveries
       SET status = 'cancelled', reason = 'endpoint_deleted',
         message = 'its endpoint was deleted before it was delivered',
         finished_at = ?1, duration_ms = ?1 - received_at, next_attempt_at = NULL
       WHERE endpoint_id = ?2
         AND ((status = 'held' AND ${ATTENTION_SQL})
           OR (status IN ${IN_FLIGHT_SQL} AND (lease_until IS NULL OR lease_until < ?1)))`,
    )
    .bind(now, endpointId)
    .run();
  return held.meta.changes ?? 0;
}

/** How many deliveries each endpoint holds while disabled. */
export async function heldCounts(db: D1Database): Promise<Map<string, number>> {
  const { results } = await db
    .prepare(
      `SELECT endpoint_id, COUNT(*) AS n FROM deliveries WHERE status = 'held' AND ${ATTENTION_SQL}
       GROUP BY endpoint_id`,
    )
    .all<{ endpoint_id: string; n: number }>();
  return new Map(results.map((r) => [r.endpoint_id, r.n]));
}

/**
 * Deliveries whose message was lost (still queued or retrying, due for longer than `marginMs`, no lease): due again
 * from now, so each is re-driven again only if this message is lost too. Their ids.
 */
export async function takeOverdue(db: D1Database, now: number, marginMs: number, limit: number): Promise<string[]> {
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
  return results.map((r) => r.id);
}
