/**
 * Idempotency: at most one delivery per endpoint and key within the window. The primary key on
 * (endpoint_id, key) decides concurrent repeats inside D1, never a read-then-write: the upsert only
 * takes over a claim that has expired, and the SELECT that follows in the same batch tells who owns it.
 */

export const MAX_KEY_LENGTH = 256;

export type Claim = { endpointId: string; key: string; deliveryId: string; now: number; windowMs: number };

/** The two statements of a claim: take the key (or an expired claim on it), then read its owner and the owner's status. */
export function claimStatements(db: D1Database, c: Claim): [D1PreparedStatement, D1PreparedStatement] {
  return [
    db
      .prepare(
        `INSERT INTO idempotency (endpoint_id, key, delivery_id, expires_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (endpoint_id, key) DO UPDATE SET delivery_id = excluded.delivery_id, expires_at = excluded.expires_at
         WHERE idempotency.expires_at <= ?5`,
      )
      .bind(c.endpointId, c.key, c.deliveryId, c.now + c.windowMs, c.now),
    db
      .prepare('SELECT i.delivery_id AS owner, d.status AS status FROM idempotency i LEFT JOIN deliveries d ON d.id = i.delivery_id WHERE i.endpoint_id = ?1 AND i.key = ?2')
      .bind(c.endpointId, c.key),
  ];
}

export type ClaimResult = { claimed: true } | { claimed: false; firstId: string; firstStatus: string };

/** Reads the owner row a claim batch returned. */
export function claimResult(deliveryId: string, owner: { owner: string; status: string | null } | undefined): ClaimResult {
  if (!owner || owner.owner === deliveryId) return { claimed: true };
  // The first delivery's row is written when it ends (sync) or before its 202 (queue): until then it is in progress.
  return { claimed: false, firstId: owner.owner, firstStatus: owner.status ?? 'in_progress' };
}

/** Takes a key on its own (sync mode: before the CRM call). */
export async function claimKey(db: D1Database, c: Claim): Promise<ClaimResult> {
  const [, read] = await db.batch<{ owner: string; status: string | null }>(claimStatements(db, c));
  return claimResult(c.deliveryId, read!.results[0]);
}

/** Gives a key back, so that a sender's retry after a refusal is not taken for a duplicate. */
export function releaseStatement(db: D1Database, endpointId: string, key: string, deliveryId: string): D1PreparedStatement {
  return db.prepare('DELETE FROM idempotency WHERE endpoint_id = ? AND key = ? AND delivery_id = ?').bind(endpointId, key, deliveryId);
}
