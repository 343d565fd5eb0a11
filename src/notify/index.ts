import * as z from '../shared/zod';

/**
 * Alerts when deliveries end `dead` or `unmatched`: a short message to a group bot or any URL, at most one per
 * endpoint per 10 minutes (the rest are counted into the next one).
 */
export const NOTIFY_INTERVAL_MS = 10 * 60_000;
export const NOTIFY_FORMATS = ['wecom', 'dingtalk', 'feishu', 'json'] as const;
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];

export const NotifyConfig = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  format: z._default(z.enum(NOTIFY_FORMATS), 'json'),
});
export type NotifyConfig = z.infer<typeof NotifyConfig>;

/** The endpoint's target, else the Worker-wide default (`NOTIFY_URL`, `NOTIFY_FORMAT`). */
export function notifyTarget(config: NotifyConfig | undefined, env: { NOTIFY_URL?: string; NOTIFY_FORMAT?: string }): NotifyConfig | null {
  if (config) return config;
  if (!env.NOTIFY_URL) return null;
  const format = (NOTIFY_FORMATS as readonly string[]).includes(env.NOTIFY_FORMAT ?? '') ? (env.NOTIFY_FORMAT as NotifyFormat) : 'json';
  return { url: env.NOTIFY_URL, format };
}

export type Alert = { endpointId: string; count: number; lastDeliveryId: string | null; lastReason: string | null; at: number };

export function alertText(a: Alert): string {
  return (
    `[crm-webhook-adapter] ${a.count} deliver${a.count === 1 ? 'y' : 'ies'} for endpoint "${a.endpointId}" ended dead or unmatched.` +
    (a.lastDeliveryId ? ` Latest: ${a.lastDeliveryId}${a.lastReason ? ` (${a.lastReason})` : ''}.` : '') +
    ' Check GET /admin/deliveries?status=dead (or unmatched), fix the cause or import customer keys, then replay.'
  );
}

/** The request body each group bot expects. */
export function alertBody(format: NotifyFormat, a: Alert): unknown {
  const text = alertText(a);
  switch (format) {
    case 'wecom':
    case 'dingtalk':
      return { msgtype: 'text', text: { content: text } };
    case 'feishu':
      return { msg_type: 'text', content: { text } };
    case 'json':
      return {
        event: 'deliveries.dead',
        endpointId: a.endpointId,
        count: a.count,
        lastDeliveryId: a.lastDeliveryId,
        lastReason: a.lastReason,
        at: new Date(a.at).toISOString(),
        text,
      };
  }
}

/** Counts one dead delivery and, when the endpoint's 10 minutes are up, takes the pending count to send. */
export async function recordDead(db: D1Database, endpointId: string, deliveryId: string, reason: string | null, now: number): Promise<Alert | null> {
  const [, taken] = await db.batch<{ sent_count: number; last_delivery_id: string | null; last_reason: string | null }>([
    db
      .prepare(
        `INSERT INTO notify_state (endpoint_id, pending, last_delivery_id, last_reason) VALUES (?1, 1, ?2, ?3)
         ON CONFLICT (endpoint_id) DO UPDATE SET pending = pending + 1, last_delivery_id = excluded.last_delivery_id, last_reason = excluded.last_reason`,
      )
      .bind(endpointId, deliveryId, reason),
    takeStatement(db, endpointId, now),
  ]);
  const row = taken!.results[0];
  return row ? { endpointId, count: row.sent_count, lastDeliveryId: row.last_delivery_id, lastReason: row.last_reason, at: now } : null;
}

// Takes the pending count if the last message is 10 minutes old (SET reads the old row: sent_count = the pending count).
function takeStatement(db: D1Database, endpointId: string | null, now: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE notify_state SET sent_count = pending, pending = 0, last_sent_at = ?1
       WHERE pending > 0 AND (last_sent_at IS NULL OR last_sent_at <= ?2) AND (?3 IS NULL OR endpoint_id = ?3)
       RETURNING endpoint_id, sent_count, last_delivery_id, last_reason`,
    )
    .bind(now, now - NOTIFY_INTERVAL_MS, endpointId);
}

/** The cron's sweep: every endpoint whose pending alerts have waited out the interval. */
export async function takeDueAlerts(db: D1Database, now: number): Promise<Alert[]> {
  const { results } = await takeStatement(db, null, now).all<{ endpoint_id: string; sent_count: number; last_delivery_id: string | null; last_reason: string | null }>();
  return results.map((r) => ({ endpointId: r.endpoint_id, count: r.sent_count, lastDeliveryId: r.last_delivery_id, lastReason: r.last_reason, at: now }));
}

/** Posts an alert; failures are logged, never thrown (an alert must not fail a delivery). */
export async function sendAlert(fetchFn: typeof fetch, target: NotifyConfig, alert: Alert): Promise<boolean> {
  try {
    const res = await fetchFn(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alertBody(target.format, alert)),
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) console.error(`alert to ${new URL(target.url).host} answered HTTP ${res.status}`);
    return res.ok;
  } catch (err) {
    console.error('alert failed', err);
    return false;
  }
}
