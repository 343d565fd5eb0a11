/**
 * The audit log (the `audit` table's SQL): one row per change, with who, when, what and what it touched. Written by
 * the console's and the admin API's audit step (after a change succeeded) and by the sign-in; never a secret's value.
 */
import { newDeliveryId } from '../deliveries/id';

export type AuditEntry = {
  actor: string;
  via: 'console' | 'api';
  action: string;
  targetKind?: string;
  targetId?: string;
  detail?: Record<string, unknown>;
};
export type AuditRow = AuditEntry & { id: string; at: number };

/** Kept this long unless AUDIT_RETENTION_DAYS says otherwise. */
export const AUDIT_RETENTION_DAYS = 365;

export async function recordAudit(db: D1Database, e: AuditEntry, now = Date.now()): Promise<void> {
  await db
    .prepare(
      'INSERT INTO audit (id, at, actor, via, action, target_kind, target_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    )
    .bind(
      newDeliveryId(now),
      now,
      e.actor,
      e.via,
      e.action,
      e.targetKind ?? null,
      e.targetId ?? null,
      e.detail ? JSON.stringify(e.detail) : null,
    )
    .run();
}

export type AuditFilter = {
  actor?: string;
  action?: string;
  targetKind?: string;
  targetId?: string;
  cursor?: string;
  limit: number;
};

/** Newest first; `nextCursor` is the id to pass as `cursor` for the next page. */
export async function listAudit(
  db: D1Database,
  f: AuditFilter,
): Promise<{ entries: AuditRow[]; nextCursor: string | null }> {
  const { results } = await db
    .prepare(
      `SELECT * FROM audit WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR action = ?2 OR action LIKE ?2 || '.%')
       AND (?3 IS NULL OR target_kind = ?3) AND (?4 IS NULL OR target_id = ?4) AND (?5 IS NULL OR id < ?5)
       ORDER BY id DESC LIMIT ?6`,
    )
    .bind(f.actor ?? null, f.action ?? null, f.targetKind ?? null, f.targetId ?? null, f.cursor ?? null, f.limit + 1)
    .all<{
      id: string;
      at: number;
      actor: string;
      via: 'console' | 'api';
      action: string;
      target_kind: string | null;
      target_id: string | null;
      detail: string | null;
    }>();
  const page = results.slice(0, f.limit).map((r) => ({
    id: r.id,
    at: r.at,
    actor: r.actor,
    via: r.via,
    action: r.action,
    targetKind: r.target_kind ?? undefined,
    targetId: r.target_id ?? undefined,
    detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : undefined,
  }));
  return { entries: page, nextCursor: results.length > f.limit ? page[page.length - 1]!.id : null };
}

export async function pruneAudit(db: D1Database, before: number): Promise<void> {
  await db.prepare('DELETE FROM audit WHERE at < ?').bind(before).run();
}
