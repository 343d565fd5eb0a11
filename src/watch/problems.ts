/**
 * Problems: deliveries that ended the same way on one endpoint (status and reason), grouped by the cron from the
 * deliveries log (no row per webhook). A problem is notified once when it opens, again when its count grows past
 * GROWTH times what the last message said (unless acknowledged), and again when it reopens after being resolved.
 * This module holds the `problems` table's SQL.
 */
import { countFailures, failureGroupsSince, type FailureGroup } from '../deliveries/store';
import { idFloor } from '../deliveries/id';

export const PROBLEM_STATES = ['open', 'acknowledged', 'resolved'] as const;
export type ProblemState = (typeof PROBLEM_STATES)[number];
/** Notified again when the count reaches this many times the count the last message said. */
export const GROWTH = 10;
/**
 * How far back the cron looks for deliveries that ended as a problem (a queued delivery can fail hours after it
 * arrived).
 */
export const LOOKBACK_MS = 6 * 3_600_000;

export type Problem = {
  id: string;
  endpointId: string;
  status: string;
  reason: string;
  state: ProblemState;
  sinceId: string;
  firstSeen: number;
  lastSeen: number;
  lastDeliveryId: string;
  count: number;
  baseCount: number;
  baseUntil: string;
  notifiedCount: number;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  resolvedBy: string | null;
  resolvedAt: number | null;
};

type Row = {
  id: string;
  endpoint_id: string;
  status: string;
  reason: string;
  state: ProblemState;
  since_id: string;
  first_seen: number;
  last_seen: number;
  last_delivery_id: string;
  count: number;
  base_count: number;
  base_until: string;
  notified_count: number;
  acknowledged_by: string | null;
  acknowledged_at: number | null;
  resolved_by: string | null;
  resolved_at: number | null;
};

const fromRow = (r: Row): Problem => ({
  id: r.id,
  endpointId: r.endpoint_id,
  status: r.status,
  reason: r.reason,
  state: r.state,
  sinceId: r.since_id,
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  lastDeliveryId: r.last_delivery_id,
  count: r.count,
  baseCount: r.base_count,
  baseUntil: r.base_until,
  notifiedCount: r.notified_count,
  acknowledgedBy: r.acknowledged_by,
  acknowledgedAt: r.acknowledged_at,
  resolvedBy: r.resolved_by,
  resolvedAt: r.resolved_at,
});

export const problemId = (endpointId: string, status: string, reason: string) => `${endpointId}|${status}|${reason}`;

export async function getProblem(db: D1Database, id: string): Promise<Problem | null> {
  const row = await db.prepare('SELECT * FROM problems WHERE id = ?').bind(id).first<Row>();
  return row ? fromRow(row) : null;
}

/** Problems, the open ones first (then acknowledged, then resolved), newest first within each. */
export async function listProblems(
  db: D1Database,
  filter: { state?: ProblemState; endpoint?: string; limit: number },
): Promise<Problem[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM problems WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR endpoint_id = ?2)
       ORDER BY CASE state WHEN 'open' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END, last_seen DESC LIMIT ?3`,
    )
    .bind(filter.state ?? null, filter.endpoint ?? null, filter.limit)
    .all<Row>();
  return results.map(fromRow);
}

const COLUMNS = [
  'id',
  'endpoint_id',
  'status',
  'reason',
  'state',
  'since_id',
  'first_seen',
  'last_seen',
  'last_delivery_id',
  'count',
  'base_count',
  'base_until',
  'notified_count',
  'acknowledged_by',
  'acknowledged_at',
  'resolved_by',
  'resolved_at',
];
const valuesOf = (p: Problem) => [
  p.id,
  p.endpointId,
  p.status,
  p.reason,
  p.state,
  p.sinceId,
  p.firstSeen,
  p.lastSeen,
  p.lastDeliveryId,
  p.count,
  p.baseCount,
  p.baseUntil,
  p.notifiedCount,
  p.acknowledgedBy,
  p.acknowledgedAt,
  p.resolvedBy,
  p.resolvedAt,
];

// Each write of the sweep takes only if the row is still as the sweep read it, and says so (RETURNING): two cron runs
// that overlap say each change once, and a person's acknowledgement in between is never written over.

/** A new problem, unless another run opened it first. */
function openStatement(db: D1Database, p: Problem): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO problems (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (id) DO NOTHING RETURNING id`,
    )
    .bind(...valuesOf(p));
}

/** A resolved problem opened again, unless it changed since it was read (another run, or a person). */
function reopenStatement(db: D1Database, p: Problem, resolvedAt: number): D1PreparedStatement {
  const set = COLUMNS.filter((c) => c !== 'id')
    .map((c) => `${c} = ?`)
    .join(', ');
  return db
    .prepare(`UPDATE problems SET ${set} WHERE id = ? AND state = 'resolved' AND resolved_at = ? RETURNING id`)
    .bind(...valuesOf(p).slice(1), p.id, resolvedAt);
}

/** The counting columns only (never the state a person set), unless another run counted it since it was read. */
function recountStatement(
  db: D1Database,
  p: Problem,
  readNotified: number,
  readBaseUntil: string,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE problems
       SET count = ?, base_count = ?, base_until = ?, last_seen = ?, last_delivery_id = ?, notified_count = ?
       WHERE id = ? AND notified_count = ? AND base_until = ? RETURNING id`,
    )
    .bind(
      p.count,
      p.baseCount,
      p.baseUntil,
      p.lastSeen,
      p.lastDeliveryId,
      p.notifiedCount,
      p.id,
      readNotified,
      readBaseUntil,
    );
}

/** What changed for a problem in one sweep, to be said to the team. */
export type ProblemEvent = { kind: 'opened' | 'grew' | 'reopened'; problem: Problem };

/** The later of two delivery ids (ids sort by time). */
const laterId = (a: string, b: string) => [a, b].sort()[1]!;

/** A problem's count since it opened: the part older than the look-back counted once (base), the rest counted now. */
async function recount(db: D1Database, p: Problem, windowId: string): Promise<Problem> {
  const kind = { endpointId: p.endpointId, status: p.status, reason: p.reason };
  const next = { ...p };
  if (next.baseUntil < windowId) {
    const older = await countFailures(db, kind, laterId(next.baseUntil, next.sinceId), windowId);
    next.baseCount += older.n;
    next.baseUntil = windowId;
  }
  const recent = await countFailures(db, kind, laterId(next.baseUntil, next.sinceId));
  next.count = next.baseCount + recent.n;
  if (recent.last_id && recent.last_at !== null && recent.last_id > next.lastDeliveryId) {
    next.lastDeliveryId = recent.last_id;
    next.lastSeen = recent.last_at;
  }
  return next;
}

/** A problem opened (or reopened) from the deliveries counted since `sinceId`. */
function opened(
  g: FailureGroup,
  sinceId: string,
  counted: { n: number; first_at: number | null; first_id: string | null },
): Problem {
  return {
    id: problemId(g.endpoint_id, g.status, g.reason),
    endpointId: g.endpoint_id,
    status: g.status,
    reason: g.reason,
    state: 'open',
    sinceId,
    firstSeen: counted.first_at ?? g.first_at,
    lastSeen: g.last_at,
    lastDeliveryId: g.last_id,
    count: counted.n,
    baseCount: 0,
    baseUntil: sinceId,
    notifiedCount: counted.n,
    acknowledgedBy: null,
    acknowledgedAt: null,
    resolvedBy: null,
    resolvedAt: null,
  };
}

/**
 * The cron's sweep over the last LOOKBACK_MS of the log: opens, counts and reopens problems. Reads the failures of the
 * look-back (their partial index), two counts per problem that has new failures; writes a row per problem changed.
 */
export async function sweepProblems(db: D1Database, now: number): Promise<ProblemEvent[]> {
  const windowId = idFloor(now - LOOKBACK_MS);
  const groups = await failureGroupsSince(db, windowId);
  const candidates: { event: ProblemEvent | null; write: D1PreparedStatement }[] = [];
  for (const g of groups) {
    const known = await getProblem(db, problemId(g.endpoint_id, g.status, g.reason));
    if (!known) {
      const p = opened(g, g.first_id, { n: g.n, first_at: g.first_at, first_id: g.first_id });
      candidates.push({ event: { kind: 'opened', problem: p }, write: openStatement(db, p) });
      continue;
    }
    if (known.state === 'resolved') {
      if (known.resolvedAt === null || g.last_at <= known.resolvedAt) continue;
      const since = idFloor(known.resolvedAt + 1);
      const counted = await countFailures(db, { endpointId: g.endpoint_id, status: g.status, reason: g.reason }, since);
      if (counted.n === 0) continue;
      const p = opened(g, since, counted);
      candidates.push({ event: { kind: 'reopened', problem: p }, write: reopenStatement(db, p, known.resolvedAt) });
      continue;
    }
    const p = await recount(db, known, windowId);
    let event: ProblemEvent | null = null;
    if (p.state === 'open' && p.count >= p.notifiedCount * GROWTH) {
      p.notifiedCount = p.count;
      event = { kind: 'grew', problem: p };
    }
    const changed =
      p.count !== known.count ||
      p.lastDeliveryId !== known.lastDeliveryId ||
      p.notifiedCount !== known.notifiedCount ||
      p.baseUntil !== known.baseUntil;
    if (changed) candidates.push({ event, write: recountStatement(db, p, known.notifiedCount, known.baseUntil) });
  }
  if (candidates.length === 0) return [];
  const results = await db.batch<{ id: string }>(candidates.map((c) => c.write));
  // an event is said only when its write took
  return candidates.flatMap((c, i) => (c.event && results[i]!.results.length > 0 ? [c.event] : []));
}

export type ProblemChange = { ok: true; problem: Problem } | { ok: false; why: 'not_found' };

/** Acknowledged: someone is on it (no more "it grew" messages; it still counts). */
export async function acknowledgeProblem(db: D1Database, id: string, by: string, now: number): Promise<ProblemChange> {
  const row = await db
    .prepare(
      `UPDATE problems SET state = 'acknowledged', acknowledged_by = ?, acknowledged_at = ?
       WHERE id = ? AND state <> 'resolved' RETURNING *`,
    )
    .bind(by, now, id)
    .first<Row>();
  if (row) return { ok: true, problem: fromRow(row) };
  const p = await getProblem(db, id);
  return p ? { ok: true, problem: p } : { ok: false, why: 'not_found' };
}

/** Resolved: a failure of the same kind after this reopens it (and says so). */
export async function resolveProblem(db: D1Database, id: string, by: string, now: number): Promise<ProblemChange> {
  const row = await db
    .prepare(`UPDATE problems SET state = 'resolved', resolved_by = ?, resolved_at = ? WHERE id = ? RETURNING *`)
    .bind(by, now, id)
    .first<Row>();
  return row ? { ok: true, problem: fromRow(row) } : { ok: false, why: 'not_found' };
}
