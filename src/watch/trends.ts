/**
 * Trends per endpoint: webhooks per hour by outcome, the share refused, and the CRM's answer time (p50, p95 from a
 * histogram), kept by the cron in the `trends` table (this module holds its SQL). Each run recomputes the last
 * RECOMPUTE_HOURS hours from the log and writes only the rows that changed; an hour is final once it is that old
 * (a replay days later is not counted back into it). Nothing is written per webhook.
 */
import { GROUP_OF, type StatusGroup } from '../deliveries/stats';
import { hourlyCountsSince, TREND_EDGES_MS } from '../deliveries/store';
import { idFloor } from '../deliveries/id';
import { localTime } from '../shared/hours';

const HOUR = 3_600_000;
export const RECOMPUTE_HOURS = 3;

export type TrendRow = {
  endpointId: string;
  hour: number;
  ok: number;
  failed: number;
  pending: number;
  other: number;
  refused: number;
  crmMs: number[];
};

const emptyRow = (endpointId: string, hour: number): TrendRow => ({
  endpointId,
  hour,
  ok: 0,
  failed: 0,
  pending: 0,
  other: 0,
  refused: 0,
  crmMs: Array(TREND_EDGES_MS.length + 1).fill(0),
});

type Stored = {
  endpoint_id: string;
  hour: number;
  ok: number;
  failed: number;
  pending: number;
  other: number;
  refused: number;
  crm_ms: string;
};
const fromStored = (r: Stored): TrendRow => ({
  endpointId: r.endpoint_id,
  hour: r.hour,
  ok: r.ok,
  failed: r.failed,
  pending: r.pending,
  other: r.other,
  refused: r.refused,
  crmMs: JSON.parse(r.crm_ms),
});
const same = (a: TrendRow, b: TrendRow) => JSON.stringify(a) === JSON.stringify(b);

/** The cron's part: the last hours recomputed from the log, the changed rows written. Returns how many were written. */
export async function sweepTrends(db: D1Database, now: number): Promise<number> {
  const from = Math.floor(now / HOUR) * HOUR - (RECOMPUTE_HOURS - 1) * HOUR;
  const counts = await hourlyCountsSince(db, idFloor(from));
  const rows = new Map<string, TrendRow>();
  for (const c of counts) {
    const key = `${c.endpoint_id}|${c.hour}`;
    const row = rows.get(key) ?? emptyRow(c.endpoint_id, c.hour);
    const group: StatusGroup = GROUP_OF[c.status] ?? 'other';
    row[group] += c.n;
    if (c.status === 'rejected') row.refused += c.n;
    if (c.bucket >= 0) row.crmMs[c.bucket]! += c.n;
    rows.set(key, row);
  }
  const { results } = await db.prepare('SELECT * FROM trends WHERE hour >= ?').bind(from).all<Stored>();
  const stored = new Map(results.map((r) => [`${r.endpoint_id}|${r.hour}`, fromStored(r)]));
  const writes = [...rows.entries()]
    .filter(([key, row]) => !stored.has(key) || !same(stored.get(key)!, row))
    .map(([, r]) =>
      db
        .prepare(
          `INSERT OR REPLACE INTO trends (endpoint_id, hour, ok, failed, pending, other, refused, crm_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .bind(r.endpointId, r.hour, r.ok, r.failed, r.pending, r.other, r.refused, JSON.stringify(r.crmMs)),
    );
  if (writes.length) await db.batch(writes);
  return writes.length;
}

/** Trends older than the log's retention go with it. */
export async function pruneTrends(db: D1Database, before: number): Promise<void> {
  await db.prepare('DELETE FROM trends WHERE hour < ?').bind(before).run();
}

export type TrendBucket = {
  start: number;
  label: string;
  counts: Record<StatusGroup, number>;
  refused: number;
  p50: number | null;
  p95: number | null;
  calls: number;
};

/** The answer time under which `share` of the calls fell: the upper bound of that histogram bucket (null: no call). */
export function percentile(histogram: number[], share: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (const [i, n] of histogram.entries()) {
    seen += n;
    if (seen >= share * total) return TREND_EDGES_MS[i] ?? Number.POSITIVE_INFINITY;
  }
  return Number.POSITIVE_INFINITY;
}

function bucketOf(start: number, label: string, rows: TrendRow[]): TrendBucket {
  const counts: Record<StatusGroup, number> = { ok: 0, failed: 0, pending: 0, other: 0 };
  const histogram: number[] = Array(TREND_EDGES_MS.length + 1).fill(0);
  let refused = 0;
  for (const r of rows) {
    counts.ok += r.ok;
    counts.failed += r.failed;
    counts.pending += r.pending;
    counts.other += r.other;
    refused += r.refused;
    r.crmMs.forEach((n, i) => {
      histogram[i]! += n;
    });
  }
  return {
    start,
    label,
    counts,
    refused,
    p50: percentile(histogram, 0.5),
    p95: percentile(histogram, 0.95),
    calls: histogram.reduce((a, b) => a + b, 0),
  };
}

export type TrendRange = '24h' | '7d' | '30d';

/**
 * An endpoint's trend over a range: per hour for 24 h, per day (in `zone`) for 7 and 30 days, oldest first, empty
 * buckets included. One D1 read of at most 720 rows (its primary key).
 */
export async function endpointTrend(
  db: D1Database,
  endpointId: string,
  range: TrendRange,
  now: number,
  zone: string,
): Promise<TrendBucket[]> {
  const hours = range === '24h' ? 24 : range === '7d' ? 7 * 24 : 30 * 24;
  const thisHour = Math.floor(now / HOUR) * HOUR;
  const from = thisHour - (hours - 1) * HOUR;
  const { results } = await db
    .prepare('SELECT * FROM trends WHERE endpoint_id = ? AND hour >= ? ORDER BY hour')
    .bind(endpointId, from)
    .all<Stored>();
  const rows = results.map(fromStored);
  const label = (ms: number) => {
    const l = localTime(ms, zone);
    return range === '24h' ? `${l.date.slice(5)} ${String(Math.floor(l.minute / 60)).padStart(2, '0')}:00` : l.date;
  };
  const groups = new Map<string, { start: number; rows: TrendRow[] }>();
  for (let h = from; h <= thisHour; h += HOUR) {
    const key = label(h);
    if (!groups.has(key)) groups.set(key, { start: h, rows: [] });
  }
  for (const r of rows) groups.get(label(r.hour))?.rows.push(r);
  return [...groups.entries()].map(([key, g]) => bucketOf(g.start, key, g.rows));
}
