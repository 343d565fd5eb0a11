import { idFloor } from './id';
import { ATTENTION_SQL, type DeliveryStatus } from './store';

/**
 * How the console groups statuses: what reached the CRM (or needed nothing), what did not, what is still on its way.
 */
export type StatusGroup = 'ok' | 'failed' | 'pending' | 'other';
export const GROUP_OF: Record<DeliveryStatus, StatusGroup> = {
  delivered: 'ok',
  unchanged: 'ok',
  skipped: 'ok',
  // a newer delivery of the same customer reached the CRM: nothing was lost
  superseded: 'ok',
  failed: 'failed',
  rejected: 'failed',
  invalid: 'failed',
  unmatched: 'failed',
  conflict: 'failed',
  dead: 'failed',
  queued: 'pending',
  retrying: 'pending',
  held: 'pending',
  cancelled: 'other',
  handshake: 'other',
  spam: 'other',
  duplicate: 'other',
};
const FAILED = (Object.keys(GROUP_OF) as DeliveryStatus[]).filter((s) => GROUP_OF[s] === 'failed');
const IN = `(${FAILED.map((s) => `'${s}'`).join(', ')})`;

export type Bucket = { start: number; counts: Record<StatusGroup, number> };
export type EndpointHealth = { endpointId: string; total: number; ok: number; failed: number; rate: number | null };
export type Failure = {
  id: string;
  endpointId: string;
  status: DeliveryStatus;
  reason: string | null;
  message: string | null;
  receivedAt: number;
  customerId: string | null;
};

const HOUR = 3_600_000;
const empty = (): Record<StatusGroup, number> => ({ ok: 0, failed: 0, pending: 0, other: 0 });

/**
 * What the console's overview shows, in four D1 queries: deliveries per status group for each of the
 * last 24 hours and each of the last 7 days (rolling 24-hour windows ending now), every endpoint's
 * last-24h success rate, the newest failures, and the endpoints whose latest outcome is a failure.
 */
/** `endpoints`: the ids that exist now; a deleted endpoint is not "failing now". */
export async function overview(db: D1Database, now: number, endpoints: ReadonlySet<string>) {
  const thisHour = Math.floor(now / HOUR);
  const since7d = (thisHour - 167) * HOUR;
  const since24h = (thisHour - 23) * HOUR;
  const [perHour, perEndpoint, newest, latest] = await db.batch([
    db
      .prepare(
        `SELECT received_at / 3600000 AS hour, status, COUNT(*) AS n FROM deliveries WHERE id >= ?
         GROUP BY hour, status`,
      )
      .bind(idFloor(since7d)),
    healthStatement(db, since24h),
    db.prepare(
      `SELECT id, endpoint_id, status, reason, message, received_at, customer_id FROM deliveries
       WHERE status IN ${IN} AND ${ATTENTION_SQL} ORDER BY id DESC LIMIT 10`,
    ),
    // SQLite: the bare columns come from the row holding MAX(id), i.e. each endpoint's newest finished delivery
    db
      .prepare(
        `SELECT endpoint_id, status, reason, message, MAX(id) AS id, received_at, customer_id FROM deliveries
       WHERE id >= ? AND status NOT IN ('queued', 'retrying', 'handshake', 'duplicate', 'spam') GROUP BY endpoint_id`,
      )
      .bind(idFloor(since24h)),
  ]);

  const hours: Bucket[] = Array.from({ length: 24 }, (_, i) => ({
    start: (thisHour - 23 + i) * HOUR,
    counts: empty(),
  }));
  const days: Bucket[] = Array.from({ length: 7 }, (_, i) => ({
    start: (thisHour - 167 + i * 24) * HOUR,
    counts: empty(),
  }));
  for (const r of perHour!.results as { hour: number; status: DeliveryStatus; n: number }[]) {
    const group = GROUP_OF[r.status] ?? 'other';
    const h = r.hour - (thisHour - 23);
    if (h >= 0 && h < 24) hours[h]!.counts[group] += r.n;
    const d = Math.floor((r.hour - (thisHour - 167)) / 24);
    if (d >= 0 && d < 7) days[d]!.counts[group] += r.n;
  }

  const health = healthOf(perEndpoint!.results);

  const failure = (r: Record<string, unknown>): Failure => ({
    id: r.id as string,
    endpointId: r.endpoint_id as string,
    status: r.status as DeliveryStatus,
    reason: r.reason as string | null,
    message: r.message as string | null,
    receivedAt: r.received_at as number,
    customerId: r.customer_id as string | null,
  });
  const failingNow = (latest!.results as Record<string, unknown>[])
    .filter((r) => GROUP_OF[r.status as DeliveryStatus] === 'failed' && endpoints.has(String(r.endpoint_id)))
    .map(failure);
  return {
    hours,
    days,
    health,
    newestFailures: (newest!.results as Record<string, unknown>[]).map(failure),
    failingNow,
  };
}

/** Deliveries per endpoint and status since a time (for the success rate). */
export function healthStatement(db: D1Database, since: number): D1PreparedStatement {
  return db
    .prepare('SELECT endpoint_id, status, COUNT(*) AS n FROM deliveries WHERE id >= ? GROUP BY endpoint_id, status')
    .bind(idFloor(since));
}

/** Each endpoint's success rate: what reached the CRM (or needed nothing) over that and what failed. */
export function healthOf(results: unknown[]): Map<string, EndpointHealth> {
  const health = new Map<string, EndpointHealth>();
  for (const r of results as { endpoint_id: string; status: DeliveryStatus; n: number }[]) {
    const h = health.get(r.endpoint_id) ?? { endpointId: r.endpoint_id, total: 0, ok: 0, failed: 0, rate: null };
    h.total += r.n;
    if (GROUP_OF[r.status] === 'ok') h.ok += r.n;
    if (GROUP_OF[r.status] === 'failed') h.failed += r.n;
    h.rate = h.ok + h.failed > 0 ? h.ok / (h.ok + h.failed) : null;
    health.set(r.endpoint_id, h);
  }
  return health;
}
