/**
 * Idempotency: at most one delivery per endpoint and key within the window. The primary key on
 * (endpoint_id, key) decides concurrent repeats inside D1, never a read-then-write: the upsert only
 * takes over a claim that has expired, and the SELECT that follows in the same batch tells who owns it.
 */

export const MAX_KEY_LENGTH = 256;

export type Claim = { endpointId: string; key: string; deliveryId: string; now: number; windowMs: number };

/** How long past the CRM timeout an attempt in progress holds its delivery (sync call or queued attempt). */
export const LEASE_MARGIN_MS = 30_000;

/**
 * The statements of a claim, for one batch (one transaction):
 * - `before`: a claim whose owner is a sync delivery that never finished (the Worker stopped mid-call: its
 *   in-flight row is still `queued`, its lease is over, and the queue has not taken it up) is taken over: that
 *   row becomes a duplicate of this delivery (so the cron re-drive leaves it) and the claim moves here;
 * - `take`: the key, or an expired claim on it;
 * - `read`: the claim's owner and the owner's status, to run last.
 */
export function claimStatements(
  db: D1Database,
  c: Claim,
): { before: D1PreparedStatement[]; take: D1PreparedStatement; read: D1PreparedStatement } {
  return {
    before: [
      db
        .prepare(
          `UPDATE deliveries
           SET status = 'duplicate', reason = 'duplicate', duplicate_of = ?3,
             next_attempt_at = NULL, lease_until = NULL, finished_at = ?4,
             message = 'its sync CRM call never finished (the Worker stopped mid-call); taken over by ' || ?3
           WHERE id = (SELECT delivery_id FROM idempotency WHERE endpoint_id = ?1 AND key = ?2)
             AND status = 'queued' AND mode = 'sync' AND attempts = 0 AND lease_until < ?4`,
        )
        .bind(c.endpointId, c.key, c.deliveryId, c.now),
      db
        .prepare(
          `UPDATE idempotency SET delivery_id = ?3, expires_at = ?4 WHERE endpoint_id = ?1 AND key = ?2
             AND EXISTS (SELECT 1 FROM deliveries d
               WHERE d.id = idempotency.delivery_id AND d.status = 'duplicate' AND d.duplicate_of = ?3)`,
        )
        .bind(c.endpointId, c.key, c.deliveryId, c.now + c.windowMs),
    ],
    take: db
      .prepare(
        `INSERT INTO idempotency (endpoint_id, key, delivery_id, expires_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (endpoint_id, key) DO UPDATE
         SET delivery_id = excluded.delivery_id, expires_at = excluded.expires_at
         WHERE idempotency.expires_at <= ?5`,
      )
      .bind(c.endpointId, c.key, c.deliveryId, c.now + c.windowMs, c.now),
    read: db
      .prepare(
        `SELECT i.delivery_id AS owner, d.status AS status, d.mode AS mode FROM idempotency i
         LEFT JOIN deliveries d ON d.id = i.delivery_id WHERE i.endpoint_id = ?1 AND i.key = ?2`,
      )
      .bind(c.endpointId, c.key),
  };
}

export type ClaimOwner = { owner: string; status: string | null; mode: string | null };
export type ClaimResult = { claimed: true } | { claimed: false; firstId: string; firstStatus: string };

/** Reads the owner row a claim batch returned. */
export function claimResult(deliveryId: string, owner: ClaimOwner | undefined): ClaimResult {
  if (!owner || owner.owner === deliveryId) return { claimed: true };
  // a sync delivery's row says `queued` while its CRM call is under way: for the sender, it is in progress
  const inFlight = owner.status === null || (owner.status === 'queued' && owner.mode === 'sync');
  return { claimed: false, firstId: owner.owner, firstStatus: inFlight ? 'in_progress' : owner.status! };
}

/** Takes a key together with the delivery's first row (queue mode: the row to deliver; sync: the row in flight). */
export async function claimWithRow(db: D1Database, c: Claim, row: D1PreparedStatement): Promise<ClaimResult> {
  const { before, take, read } = claimStatements(db, c);
  const results = await db.batch<ClaimOwner>([...before, take, row, read]);
  return claimResult(c.deliveryId, results[results.length - 1]!.results[0]);
}

/** Gives a key back, so that a sender's retry after a refusal is not taken for a duplicate. */
export function releaseStatement(
  db: D1Database,
  endpointId: string,
  key: string,
  deliveryId: string,
): D1PreparedStatement {
  return db
    .prepare('DELETE FROM idempotency WHERE endpoint_id = ? AND key = ? AND delivery_id = ?')
    .bind(endpointId, key, deliveryId);
}
