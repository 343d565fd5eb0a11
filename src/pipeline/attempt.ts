/**
 * One attempt at a stored delivery: what the queue consumer runs for each message. It takes a lease
 * on the delivery (so a re-driven or repeated message never makes a second concurrent CRM call),
 * maps the stored body with the endpoint's *current* configuration, calls the CRM, and records the
 * attempt and the delivery's new state in one D1 batch.
 */
import type { CrmResult, CrmSettings } from '../crm/client';
import { deliverToCrm } from './deliver';
import { attemptFromCrm, insertAttemptStatement, type Attempt, type AttemptOutcome } from '../deliveries/attempts';
import { LEASE_MARGIN_MS } from '../deliveries/idempotency';
import type { DeliveryRow, DeliveryStatus } from '../deliveries/store';
import type { StoredEndpoint } from '../endpoints/schema';
import { getEndpoint } from '../endpoints/store';
import { compiledMappingFor, type CompiledMapping } from '../mapping/compile';
import { mapPayload, shouldSkip } from '../mapping/map';
import { viewOf } from '../presets';
import { notifyTarget, recordDead, sendAlert } from '../notify';
import { isRetryable, recordCrmFacts, scrubCrmFacts, targetOf } from './webhook';
import { parseBody } from '../receive/body';
import { decodeSignature, utf8 } from '../verify/crypto';
import { maxAttempts, retryDelaySeconds } from '../deliveries/retry';

export type AttemptDeps = {
  db: D1Database;
  endpoints: KVNamespace;
  crm: CrmSettings;
  fetch: typeof fetch;
  now: () => number;
  notify: { NOTIFY_URL?: string; NOTIFY_FORMAT?: string };
};

/** What to do with the queue message. */
export type MessageAction = { action: 'ack' } | { action: 'retry'; delaySeconds: number };

// An attempt holds the delivery for the CRM timeout plus this margin.

/** The body a delivery was received with (secrets scrubbed), or null once retention removed it. */
export function storedBody(row: Pick<DeliveryRow, 'raw_body' | 'raw_base64' | 'payload'>): Uint8Array | null {
  if (row.raw_body !== null) return row.raw_base64 ? decodeSignature(row.raw_body, 'base64') : utf8(row.raw_body);
  return row.payload === null ? null : utf8(row.payload);
}

export async function attemptDelivery(deps: AttemptDeps, deliveryId: string): Promise<MessageAction> {
  const now = deps.now();
  const row = await deps.db
    .prepare(
      `UPDATE deliveries SET attempts = attempts + 1, run_attempts = run_attempts + 1, lease_until = ?1
       WHERE id = ?2 AND status IN ('queued', 'retrying') AND (lease_until IS NULL OR lease_until < ?3) RETURNING *`,
    )
    .bind(now + deps.crm.timeoutMs + LEASE_MARGIN_MS, deliveryId, now)
    .first<DeliveryRow>();
  if (!row) {
    const current = await deps.db
      .prepare('SELECT status, lease_until FROM deliveries WHERE id = ?')
      .bind(deliveryId)
      .first<{ status: DeliveryStatus; lease_until: number | null }>();
    // Another attempt holds it (a re-driven duplicate message): look again once its lease is over.
    if (current && (current.status === 'queued' || current.status === 'retrying') && current.lease_until !== null) {
      return { action: 'retry', delaySeconds: Math.max(1, Math.ceil((current.lease_until - now) / 1000)) };
    }
    return { action: 'ack' }; // delivered, dead, replaced... or unknown: nothing to do
  }

  // what this attempt noticed (as the sync path records it), added to what the row already says
  const warnings: string[] = [];
  const end = (
    outcome: AttemptOutcome,
    status: DeliveryStatus,
    reason: string | null,
    message: string | null,
    crm?: CrmResult,
    extra: Partial<DeliveryRow> = {},
    delaySeconds?: number,
    after: D1PreparedStatement[] = [],
  ) => finishAttempt(deps, row, now, { outcome, status, reason, message, crm, extra: { ...extra, ...mergedWarnings(row.warnings, warnings) }, after }, delaySeconds);

  let endpoint: StoredEndpoint | null;
  try {
    endpoint = await getEndpoint(deps.endpoints, row.endpoint_id);
  } catch (err) {
    return end('retry', 'retrying', 'endpoint_misconfigured', `stored configuration is invalid: ${(err as Error).message.slice(0, 300)}`);
  }
  if (!endpoint) return end('failed', 'failed', 'endpoint_missing', `endpoint ${row.endpoint_id} no longer exists`);
  if (!endpoint.config.enabled) return end('failed', 'failed', 'endpoint_disabled', `endpoint ${row.endpoint_id} is disabled; replay once it is enabled`);

  const bytes = storedBody(row);
  if (!bytes) return end('failed', 'failed', 'payload_purged', 'the stored body was removed by retention');
  const parsed = await parseBody(bytes, row.content_type);
  if (!parsed.ok) return end('invalid', 'invalid', parsed.reason, parsed.message);
  warnings.push(...parsed.warnings);
  const { config } = endpoint;
  let mapping: CompiledMapping;
  try {
    mapping = compiledMappingFor(`${endpoint.id}:${endpoint.revision}`, config);
  } catch (err) {
    return end('retry', 'retrying', 'endpoint_misconfigured', (err as Error).message);
  }
  const input = {
    body: viewOf(config.preset, parsed.value),
    headers: parseObject<Record<string, string>>(row.request_headers),
    query: parseObject<Record<string, string>>(row.request_query),
  };
  const skip = await shouldSkip(mapping, input);
  if (skip.warning) warnings.push(skip.warning);
  if (skip.skip) return end('skipped', 'skipped', 'skip_when', `skipWhen matched: ${config.skipWhen}`);
  const mapped = await mapPayload(mapping, input);
  warnings.push(...mapped.warnings);
  if (!mapped.ok) {
    const missing = mapped.reason === 'customer_unresolved' && mapped.kind === 'missing';
    return end(missing ? 'unmatched' : 'invalid', missing ? 'unmatched' : 'invalid', mapped.reason, mapped.message);
  }

  const delivered = await deliverToCrm(deps, targetOf(config), mapping, mapped);
  if (delivered.kind === 'unmatched') return end('unmatched', 'unmatched', 'customer_unresolved', delivered.message);
  if (delivered.kind === 'conflict') return end('conflict', 'conflict', 'customer_conflict', delivered.message);
  const facts: Parameters<typeof recordCrmFacts>[0] = { crm_request: null, crm_http_status: null, crm_code: null, crm_message: null, crm_response: null, crm_duration_ms: null };
  if (delivered.result) recordCrmFacts(facts, delivered.result);
  if (config.redact?.length) scrubCrmFacts(facts, parsed.value, config.redact);
  const crmExtra: Partial<DeliveryRow> = {
    customer_id: delivered.customerId,
    crm_request: facts.crm_request === null ? null : JSON.stringify(facts.crm_request),
    crm_http_status: facts.crm_http_status,
    crm_code: facts.crm_code,
    crm_message: facts.crm_message,
    crm_response: facts.crm_response,
    crm_duration_ms: facts.crm_duration_ms,
  };
  if (delivered.kind === 'unchanged') return end('unchanged', 'unchanged', 'unchanged', delivered.message, undefined, crmExtra);
  if (delivered.kind === 'delivered') for (const name of delivered.skipped) warnings.push(`fields.${name}: left out, the CRM already has a value`);
  if (delivered.kind === 'delivered') return end('delivered', 'delivered', null, null, delivered.result, crmExtra, undefined, delivered.after);
  const result = delivered.result;
  if (!isRetryable(result, config.delivery)) return end('failed', 'failed', result.error, result.message, result, crmExtra);
  if (row.run_attempts >= maxAttempts(config.delivery)) {
    return end('dead', 'dead', result.error, `gave up after ${row.run_attempts} attempts: ${result.message}`, result, crmExtra);
  }
  const delay = retryDelaySeconds(config.delivery, row.run_attempts, 'retryAfterSeconds' in result ? result.retryAfterSeconds : undefined);
  return end('retry', 'retrying', result.error, result.message, result, { ...crmExtra, next_attempt_at: now + delay * 1000 }, delay);
}

/** The row's warnings with this attempt's added (each once); nothing to write when the attempt added none. */
function mergedWarnings(stored: string | null, added: string[]): Partial<DeliveryRow> {
  if (added.length === 0) return {};
  const all = [...new Set([...parseObject<string[]>(stored, []), ...added])];
  return { warnings: JSON.stringify(all) };
}

function parseObject<T>(text: string | null, fallback: T = {} as T): T {
  try {
    return (text ? JSON.parse(text) : fallback) as T;
  } catch {
    return fallback;
  }
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
  await deps.db.batch([
    deps.db.prepare(`UPDATE deliveries SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`).bind(...columns.map((c) => set[c] ?? null), row.id),
    insertAttemptStatement(deps.db, attempt),
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
