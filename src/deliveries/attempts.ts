import type { CrmResult } from '../crm/client';

/** What one attempt ended as. */
export type AttemptOutcome =
  | 'delivered'
  | 'unchanged'
  | 'retry'
  | 'failed'
  | 'dead'
  | 'invalid'
  | 'unmatched'
  | 'conflict'
  | 'skipped'
  | 'superseded';

/** One CRM call (or a try that ended before the call) made for a delivery. */
export type Attempt = {
  delivery_id: string;
  n: number;
  started_at: number;
  duration_ms: number | null;
  http_status: number | null;
  crm_code: number | null;
  crm_message: string | null;
  error: string | null;
  outcome: AttemptOutcome;
  next_attempt_at: number | null;
};

/** The attempt row for a CRM call's result. */
export function attemptFromCrm(
  deliveryId: string,
  n: number,
  startedAt: number,
  result: CrmResult,
  outcome: AttemptOutcome,
  nextAttemptAt: number | null = null,
): Attempt {
  return {
    delivery_id: deliveryId,
    n,
    started_at: startedAt,
    duration_ms: result.durationMs,
    http_status: result.httpStatus ?? null,
    crm_code: result.code ?? null,
    crm_message: result.message || null,
    error: result.ok ? null : result.error,
    outcome,
    next_attempt_at: nextAttemptAt,
  };
}

export function insertAttemptStatement(db: D1Database, a: Attempt): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO attempts
         (delivery_id, n, started_at, duration_ms, http_status, crm_code, crm_message, error, outcome, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      a.delivery_id,
      a.n,
      a.started_at,
      a.duration_ms,
      a.http_status,
      a.crm_code,
      a.crm_message,
      a.error,
      a.outcome,
      a.next_attempt_at,
    );
}

/** A delivery's attempts, oldest first, as the admin API shows them. */
export async function listAttempts(db: D1Database, deliveryId: string) {
  const { results } = await db
    .prepare('SELECT * FROM attempts WHERE delivery_id = ? ORDER BY n')
    .bind(deliveryId)
    .all<Attempt>();
  return results.map((a) => ({
    n: a.n,
    startedAt: new Date(a.started_at).toISOString(),
    durationMs: a.duration_ms,
    httpStatus: a.http_status,
    crmCode: a.crm_code,
    crmMessage: a.crm_message,
    error: a.error,
    outcome: a.outcome,
    nextAttemptAt: a.next_attempt_at === null ? null : new Date(a.next_attempt_at).toISOString(),
  }));
}
