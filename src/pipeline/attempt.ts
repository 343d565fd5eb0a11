/**
 * One attempt at a stored delivery: what the queue consumer runs for each message. It takes a lease
 * on the delivery (so a re-driven or repeated message never makes a second concurrent CRM call),
 * maps the stored body with the endpoint's *current* configuration, calls the CRM, and records the
 * attempt and the delivery's new state in one D1 batch.
 */
import { type CrmResult, type CrmSettings, crmRequestJson } from '../crm/client';
import { type Delivered, deliverToCrm } from './deliver';
import { attemptFromCrm, insertAttemptStatement, type Attempt, type AttemptOutcome } from '../deliveries/attempts';
import { LEASE_MARGIN_MS } from '../deliveries/idempotency';
import { type DeliveryRow, type DeliveryStatus, IN_FLIGHT, IN_FLIGHT_SQL } from '../deliveries/store';
import type { EndpointConfig, StoredEndpoint } from '../endpoints/schema';
import { getEndpoint } from '../endpoints/store';
import { compiledMappingFor, type CompiledMapping } from '../mapping/compile';
import { notifyTarget, recordDead, sendAlert } from '../notify';
import { crmFacts, isRetryable, isUnmatched, type Prepared, prepare, scrubbedResult, targetOf, warningsOf } from './core';
import { decodeSignature, utf8 } from '../verify/crypto';
import { maxAttempts, retryDelaySeconds } from '../deliveries/retry';
import { parseJsonOr } from '../shared/json';

export type AttemptDeps = {
  db: D1Database;
  endpoints: KVNamespace;
  crm: CrmSettings;
  fetch: typeof fetch;
  now: () => number;
  notify: { NOTIFY_URL?: string; NOTIFY_FORMAT?: string };
  /** The adapter's own secret values: scrubbed from what an attempt records. */
  knownSecrets: string[];
};

/** What to do with the queue message. */
export type MessageAction = { action: 'ack' } | { action: 'retry'; delaySeconds: number };

// An attempt holds the delivery for the CRM timeout plus this margin.

/** The body a delivery was received with (secrets scrubbed), or null once retention removed it. */
export function storedBody(row: Pick<DeliveryRow, 'raw_body' | 'raw_base64' | 'payload'>): Uint8Array | null {
  if (row.raw_body !== null) return row.raw_base64 ? decodeSignature(row.raw_body, 'base64') : utf8(row.raw_body);
  return row.payload === null ? null : utf8(row.payload);
}

/** Takes the lease on a due delivery (one CRM call at a time, whatever the queue sends twice): the row, or what to do with the message. */
async function lease(deps: AttemptDeps, deliveryId: string, now: number): Promise<{ row: DeliveryRow } | MessageAction> {
  const row = await deps.db
    .prepare(
      `UPDATE deliveries SET attempts = attempts + 1, run_attempts = run_attempts + 1, lease_until = ?1
       WHERE id = ?2 AND status IN ${IN_FLIGHT_SQL} AND (lease_until IS NULL OR lease_until < ?3) RETURNING *`,
    )
    .bind(now + deps.crm.timeoutMs + LEASE_MARGIN_MS, deliveryId, now)
    .first<DeliveryRow>();
  if (row) return { row };
  const current = await deps.db.prepare('SELECT status, lease_until FROM deliveries WHERE id = ?').bind(deliveryId).first<{ status: DeliveryStatus; lease_until: number | null }>();
  // another attempt holds it (a re-driven duplicate message): look again once its lease is over
  if (current && IN_FLIGHT.includes(current.status) && current.lease_until !== null) {
    return { action: 'retry', delaySeconds: Math.max(1, Math.ceil((current.lease_until - now) / 1000)) };
  }
  return { action: 'ack' }; // delivered, dead, replaced... or unknown: nothing to do
}

type End = (
  outcome: AttemptOutcome,
  status: DeliveryStatus,
  reason: string | null,
  message: string | null,
  crm?: CrmResult | null,
  extra?: Partial<DeliveryRow>,
  delaySeconds?: number,
  after?: D1PreparedStatement[],
) => Promise<MessageAction>;

/** One attempt at a stored delivery (the queue consumer's work for one message). */
export async function attemptDelivery(deps: AttemptDeps, deliveryId: string): Promise<MessageAction> {
  const now = deps.now();
  const leased = await lease(deps, deliveryId, now);
  if (!('row' in leased)) return leased;
  const { row } = leased;
  // what this attempt noticed (as the sync path records it), added to what the row already says
  const warnings: string[] = [];
  const end: End = (outcome, status, reason, message, crm, extra = {}, delaySeconds, after = []) =>
    finishAttempt(deps, row, now, { outcome, status, reason, message, crm: crm ?? undefined, extra: { ...extra, ...mergedWarnings(row.warnings, warnings) }, after }, delaySeconds);

  let endpoint: StoredEndpoint | null;
  try {
    endpoint = await getEndpoint(deps.endpoints, row.endpoint_id);
  } catch (err) {
    return end('retry', 'retrying', 'endpoint_misconfigured', `stored configuration is invalid: ${(err as Error).message.slice(0, 300)}`);
  }
  if (!endpoint) return end('failed', 'failed', 'endpoint_missing', `endpoint ${row.endpoint_id} no longer exists`);
  if (!endpoint.config.enabled) return holdRow(deps, row);
  const bytes = storedBody(row);
  if (!bytes) return end('failed', 'failed', 'payload_purged', 'the stored body was removed by retention');
  let mapping: CompiledMapping;
  try {
    mapping = compiledMappingFor(`${endpoint.id}:${endpoint.revision}`, endpoint.config);
  } catch (err) {
    return end('retry', 'retrying', 'endpoint_misconfigured', (err as Error).message);
  }
  const request = {
    bytes,
    contentType: row.content_type,
    headers: parseJsonOr<Record<string, string>>(row.request_headers, {}),
    query: parseJsonOr<Record<string, string>>(row.request_query, {}),
  };
  const prepared = await prepare(endpoint.config, mapping, request);
  warnings.push(...prepared.warnings);
  if (!prepared.ok) return endUnmapped(end, prepared, endpoint.config.skipWhen);
  const delivered = scrubbedResult(await deliverToCrm(deps, targetOf(endpoint.config), mapping, prepared.mapped), deps.knownSecrets);
  warnings.push(...warningsOf(delivered));
  return endDelivered(end, delivered, row, endpoint.config, prepared.value, now);
}

/** The endpoint was disabled while this delivery waited: it is held (no CRM call made), and released when the endpoint is enabled. */
async function holdRow(deps: AttemptDeps, row: DeliveryRow): Promise<MessageAction> {
  await deps.db
    .prepare(
      `UPDATE deliveries SET status = 'held', reason = 'endpoint_disabled', message = 'the endpoint is disabled: held until it is enabled again',
         attempts = attempts - 1, run_attempts = run_attempts - 1, lease_until = NULL, next_attempt_at = NULL WHERE id = ?`,
    )
    .bind(row.id)
    .run();
  return { action: 'ack' };
}

/** The end of an attempt whose stored body was not delivered: unreadable, skipped, or refused by the mapping. */
function endUnmapped(end: End, prepared: Exclude<Prepared, { ok: true }>, skipWhen: string | undefined): Promise<MessageAction> {
  if (prepared.step === 'parse') return end('invalid', 'invalid', prepared.failure.reason, prepared.failure.message);
  if (prepared.step === 'skip') return end('skipped', 'skipped', 'skip_when', `skipWhen matched: ${skipWhen}`);
  const status = isUnmatched(prepared.failure) ? 'unmatched' : 'invalid';
  return end(status, status, prepared.failure.reason, prepared.failure.message);
}

/** The end of an attempt that reached the deliver step: delivered, unchanged, nobody to update, or a failure to retry or give up on. */
function endDelivered(end: End, delivered: Delivered, row: DeliveryRow, config: EndpointConfig, value: unknown, now: number): Promise<MessageAction> {
  if (delivered.kind === 'unmatched') return end('unmatched', 'unmatched', 'customer_unresolved', delivered.message);
  if (delivered.kind === 'conflict') return end('conflict', 'conflict', 'customer_conflict', delivered.message);
  const facts = crmFacts(delivered.result, value, config.redact);
  const extra: Partial<DeliveryRow> = { ...facts, customer_id: delivered.customerId, crm_request: facts.crm_request === null ? null : crmRequestJson(facts.crm_request) };
  if (delivered.kind === 'unchanged') return end('unchanged', 'unchanged', 'unchanged', delivered.message, null, extra);
  if (delivered.kind === 'delivered') return end('delivered', 'delivered', null, null, delivered.result, extra, undefined, delivered.after);
  const result = delivered.result;
  if (!isRetryable(result, config.delivery)) return end('failed', 'failed', result.error, result.message, result, extra);
  if (row.run_attempts >= maxAttempts(config.delivery)) return end('dead', 'dead', result.error, `gave up after ${row.run_attempts} attempts: ${result.message}`, result, extra);
  const delay = retryDelaySeconds(config.delivery, row.run_attempts, 'retryAfterSeconds' in result ? result.retryAfterSeconds : undefined);
  return end('retry', 'retrying', result.error, result.message, result, { ...extra, next_attempt_at: now + delay * 1000 }, delay);
}

/** The row's warnings with this attempt's added (each once); nothing to write when the attempt added none. */
function mergedWarnings(stored: string | null, added: string[]): Partial<DeliveryRow> {
  if (added.length === 0) return {};
  const all = [...new Set([...parseJsonOr<string[]>(stored, []), ...added])];
  return { warnings: JSON.stringify(all) };
}

type Ending = {
  outcome: AttemptOutcome;
  status: DeliveryStatus;
  reason: string | null;
  message: string | null;
  crm?: CrmResult;
  extra: Partial<DeliveryRow>;
  after: D1PreparedStatement[];
};

async function finishAttempt(deps: AttemptDeps, row: DeliveryRow, startedAt: number, e: Ending, delaySeconds?: number): Promise<MessageAction> {
  const now = deps.now();
  const retry = e.status === 'retrying';
  const nextAttemptAt = retry ? (e.extra.next_attempt_at ?? now + (delaySeconds ?? 60) * 1000) : null;
  const delay = retry ? (delaySeconds ?? 60) : undefined;
  const attempt: Attempt = e.crm
    ? attemptFromCrm(row.id, row.attempts, startedAt, e.crm, e.outcome, nextAttemptAt)
    : {
        delivery_id: row.id,
        n: row.attempts,
        started_at: startedAt,
        duration_ms: now - startedAt,
        http_status: null,
        crm_code: null,
        crm_message: null,
        error: e.reason,
        outcome: e.outcome,
        next_attempt_at: nextAttemptAt,
      };
  const set: Record<string, unknown> = {
    ...e.extra,
    status: e.status,
    reason: e.reason,
    message: e.message,
    next_attempt_at: nextAttemptAt,
    lease_until: null,
    finished_at: retry ? null : now,
    duration_ms: retry ? row.duration_ms : now - row.received_at,
  };
  const columns = Object.keys(set);
  // the first attempt, when it delivered, is told by the delivery row itself (its CRM facts): no attempt row
  const firstTryDelivered = attempt.n === 1 && e.outcome === 'delivered';
  await deps.db.batch([
    deps.db.prepare(`UPDATE deliveries SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`).bind(...columns.map((c) => set[c] ?? null), row.id),
    ...(firstTryDelivered ? [] : [insertAttemptStatement(deps.db, attempt)]),
    ...e.after,
  ]);
  if (e.status === 'dead' || e.status === 'unmatched') await alertDead(deps, row.endpoint_id, row.id, e.reason, now);
  return retry ? { action: 'retry', delaySeconds: delay! } : { action: 'ack' };
}

/** Counts a dead delivery for its endpoint's alert and sends one if the endpoint's 10 minutes are up. */
export async function alertDead(
  deps: Pick<AttemptDeps, 'db' | 'endpoints' | 'fetch' | 'notify'>,
  endpointId: string,
  deliveryId: string,
  reason: string | null,
  now: number,
): Promise<void> {
  const alert = await recordDead(deps.db, endpointId, deliveryId, reason, now);
  if (!alert) return;
  let endpoint: StoredEndpoint | null = null;
  try {
    endpoint = await getEndpoint(deps.endpoints, endpointId);
  } catch {
    endpoint = null;
  }
  const target = notifyTarget(endpoint?.config.notify, deps.notify);
  if (target) await sendAlert(deps.fetch, target, alert);
}
