/**
 * One attempt at a stored delivery: what the queue consumer runs for each message. It takes a lease
 * on the delivery (so a re-driven or repeated message never makes a second concurrent CRM call),
 * maps the stored body with the endpoint's *current* configuration, waits for its customer's turn
 * (./turn.ts) and a CRM slot, calls the CRM, ends its turn, and records the attempt and the delivery's
 * new state in one D1 batch.
 */
import { type CrmResult, crmRequestJson } from '../crm/client';
import {
  callsFor,
  type Delivered,
  type DeliverDeps,
  deliverToCrm,
  findOrCreate,
  gateOutcomeOf,
  resolveCustomer,
  whyNotCreate,
  withWhyNot,
} from './deliver';
import { type GateOutcome, isLookupSequence, productLineOf } from '../coordination';
import { attemptFromCrm, insertAttemptStatement, type Attempt, type AttemptOutcome } from '../deliveries/attempts';
import { LEASE_MARGIN_MS } from '../deliveries/idempotency';
import { endAttemptStatement, holdAgain, leaseForAttempt, markCreateStarted, waitAgain } from '../deliveries/lifecycle';
import type { DeliveryRow, DeliveryStatus } from '../deliveries/store';
import type { EndpointConfig, StoredEndpoint } from '../endpoints/schema';
import { getEndpoint } from '../endpoints/store';
import { compiledMappingFor, type CompiledMapping } from '../mapping/compile';
import {
  crmFacts,
  enqueue,
  failureOutcome,
  isUnmatched,
  type Prepared,
  prepare,
  scrubbedResult,
  targetOf,
  warningsOf,
} from './core';
import {
  beginTurn,
  endTurn,
  endTurnAt,
  type Place,
  placeOf,
  type TurnDeps,
  turnEndOf,
  waitReasonOf,
  waitSeconds,
} from './turn';
import { decodeSignature, utf8 } from '../verify/crypto';
import { parseJsonOr } from '../shared/json';
import { sentences } from '../shared/text';

export type AttemptDeps = DeliverDeps &
  TurnDeps & {
    endpoints: KVNamespace;
    /** The adapter's own secret values: scrubbed from what an attempt records. */
    knownSecrets: string[];
  };

/** What to do with the queue message. */
/**
 * `next`: the delivery of the same customer whose turn came with this one's end (queued already; may be attempted at
 * once).
 */
export type MessageAction = ({ action: 'ack' } | { action: 'retry'; delaySeconds: number }) & { next?: string };

/** The body a delivery was received with (secrets scrubbed), or null once retention removed it. */
export function storedBody(row: Pick<DeliveryRow, 'raw_body' | 'raw_base64' | 'payload'>): Uint8Array | null {
  if (row.raw_body !== null) return row.raw_base64 ? decodeSignature(row.raw_body, 'base64') : utf8(row.raw_body);
  return row.payload === null ? null : utf8(row.payload);
}

/** A stored delivery as the request the core maps: its kept body, content type, headers and query. */
export function storedRequest(row: DeliveryRow, bytes: Uint8Array) {
  return {
    bytes,
    contentType: row.content_type,
    headers: parseJsonOr<Record<string, string>>(row.request_headers, {}),
    query: parseJsonOr<Record<string, string>>(row.request_query, {}),
  };
}

/**
 * Takes the lease on a due delivery (one CRM call at a time, whatever the queue sends twice): the row, or what to do
 * with the message.
 */
async function lease(
  deps: AttemptDeps,
  deliveryId: string,
  now: number,
): Promise<{ row: DeliveryRow } | MessageAction> {
  const leased = await leaseForAttempt(deps.db, deliveryId, now, now + deps.crm.timeoutMs + LEASE_MARGIN_MS);
  if ('row' in leased) return leased;
  // another attempt holds it (a re-driven duplicate message): look again once its lease is over
  if ('heldUntil' in leased)
    return { action: 'retry', delaySeconds: Math.max(1, Math.ceil((leased.heldUntil - now) / 1000)) };
  return { action: 'ack' };
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
  // the customer sequence this attempt stands in (known once mapped; the one taken at receipt until then)
  let place: Place | null = row.sequence_key
    ? {
        key: row.sequence_key,
        ticket: { deliveryId: row.id, endpointId: row.endpoint_id, version: row.version, round: row.replays },
      }
    : null;
  // the CRM slot this attempt holds, and what the CRM did with it
  let slot: string | null = null;
  let gate: GateOutcome = { kind: 'ok' };
  let productLineId = place ? productLineOf(place.key) : '';
  const end: End = async (outcome, status, reason, message, crm, extra = {}, delaySeconds, after = []) => {
    // the turn ends before the row is written: a Worker that stops in between finds the delivery applied (`done`)
    const next = await endTurn(deps, productLineId, place, turnEndOf(status), slot, gate);
    const cleared = status === 'superseded' ? {} : row.superseded_by !== null ? { superseded_by: null } : {};
    const placed = place ? { sequence_key: place.key, version: place.ticket.version } : {};
    const action = await finishAttempt(
      deps,
      row,
      now,
      {
        outcome,
        status,
        reason,
        message,
        crm: crm ?? undefined,
        extra: { ...cleared, ...placed, ...extra, ...mergedWarnings(row.warnings, warnings) },
        after,
      },
      delaySeconds,
    );
    return next ? { ...action, next } : action;
  };

  let endpoint: StoredEndpoint | null;
  try {
    endpoint = await getEndpoint(deps.endpoints, row.endpoint_id);
  } catch (err) {
    return end(
      'retry',
      'retrying',
      'endpoint_misconfigured',
      `stored configuration is invalid: ${(err as Error).message.slice(0, 300)}`,
    );
  }
  if (!endpoint) return end('failed', 'failed', 'endpoint_missing', `endpoint ${row.endpoint_id} no longer exists`);
  if (!endpoint.config.enabled) return holdRow(deps, row, place);
  const bytes = storedBody(row);
  if (!bytes && row.mode === 'sync' && place) {
    // a sync delivery's in-flight row without its body (a big one is kept with the final row only) whose Worker
    // stopped: the customer's sequence says whether the CRM applied it; if not, its sender (who got no answer) resends
    const turn = await beginTurn(deps, productLineId, place, 0, { heal: true });
    if (turn.kind === 'granted') slot = turn.slot;
    if (turn.kind === 'done')
      return end('delivered', 'delivered', null, 'applied by an earlier try whose Worker stopped before recording it');
    return end('failed', 'failed', 'payload_purged', BODILESS);
  }
  if (!bytes) return end('failed', 'failed', 'payload_purged', 'the stored body was removed by retention');
  let mapping: CompiledMapping;
  try {
    mapping = compiledMappingFor(`${endpoint.id}:${endpoint.revision}`, endpoint.config);
  } catch (err) {
    return end('retry', 'retrying', 'endpoint_misconfigured', (err as Error).message);
  }
  const prepared = await prepare(endpoint.config, mapping, storedRequest(row, bytes));
  warnings.push(...prepared.warnings);
  if (!prepared.ok) return endUnmapped(end, prepared, endpoint.config.skipWhen);
  const target = targetOf(endpoint.config);
  const found = await resolveCustomer(deps.db, target.moduleId, prepared.mapped);
  // nobody found: kept as unmatched, or (onUnmatched "create") created in the turn of its first lookup key's line
  const whyNot =
    'kind' in found && found.kind === 'unmatched'
      ? whyNotCreate(endpoint.config.onUnmatched, deps.crm, prepared.mapped)
      : 'keep';
  if ('kind' in found && whyNot !== null)
    return endDelivered(end, withWhyNot(found, whyNot), row, endpoint.config, prepared.value, now);
  const resolved = 'kind' in found ? null : found;
  const atReceipt = place;
  const placed = placeOf(
    target,
    { id: row.id, endpointId: row.endpoint_id, version: prepared.version, round: row.replays },
    prepared.mapped,
    resolved,
  );
  // an endpoint that creates keeps a delivery placed by its lookup key in that line, found or not: the webhooks of one
  // new person stay in receipt order behind the one that creates them
  const stays =
    atReceipt !== null &&
    placed !== null &&
    endpoint.config.onUnmatched === 'create' &&
    isLookupSequence(atReceipt.key);
  place = stays ? { ...placed, key: atReceipt.key } : placed;
  productLineId = target.productLineId;
  // placed by its phone at receipt, found by id now (or the mapping changed): the old place is given up
  if (atReceipt && atReceipt.key !== place?.key) await endTurnAt(deps, atReceipt, 'ended');
  // the customer's turn and a CRM slot, in one request; a superseded delivery replayed by hand is sent all the same
  const turn = await beginTurn(deps, target.productLineId, place, callsFor(target, mapping, prepared.mapped), {
    force: row.superseded_by !== null,
    heal: true,
  });
  if (turn.kind === 'superseded') {
    const by = turn.byVersion ? `${turn.by} (version ${turn.byVersion})` : turn.by;
    const next = turn.next && turn.next !== row.id ? turn.next : null;
    if (next) await enqueue(deps.queue, next);
    place = null; // the sequence has let it go already
    const action = await end(
      'superseded',
      'superseded',
      'superseded',
      `not sent: delivery ${by}, newer, was applied to this customer first`,
      null,
      {
        superseded_by: turn.by,
        customer_id: resolved?.id ?? null,
      },
    );
    return next ? { ...action, next } : action;
  }
  if (turn.kind === 'done')
    return end(
      'delivered',
      'delivered',
      null,
      'applied by an earlier try whose Worker stopped before recording it',
      null,
      { customer_id: resolved?.id ?? null },
    );
  if (turn.kind !== 'granted') {
    // not attempted after all: the attempt is given back, the row says why it waits (its place in line is kept)
    const delay = waitSeconds(turn.retryInMs);
    const why = waitReasonOf(turn);
    await waitAgain(deps.db, row.id, why.reason, why.message, now + delay * 1000);
    return { action: 'retry', delaySeconds: delay };
  }
  slot = turn.slot;
  const intent = {
    startedBefore: row.create_state === 'started' || row.create_state === 'unconfirmed',
    markStarted: () => markCreateStarted(deps.db, row.id),
  };
  const attempted = resolved
    ? await deliverToCrm(deps, target, mapping, prepared.mapped, resolved)
    : await findOrCreate(deps, target, mapping, prepared.mapped, intent);
  const delivered = scrubbedResult(attempted, deps.knownSecrets);
  gate = gateOutcomeOf(delivered);
  warnings.push(...warningsOf(delivered));
  return endDelivered(end, delivered, row, endpoint.config, prepared.value, now);
}

const BODILESS = sentences(
  'the Worker stopped during this sync delivery before the CRM applied it, and its body (a big one)',
  'was kept only for the final row: ask the sender to send it again',
);

/**
 * The endpoint was disabled while this delivery waited: it is held (no CRM call made), and released when the endpoint
 * is enabled.
 */
async function holdRow(deps: AttemptDeps, row: DeliveryRow, place: Place | null): Promise<MessageAction> {
  // out of its customer's line while held (its release takes a new place): it holds back nobody meanwhile
  if (place) await endTurnAt(deps, place, 'ended');
  await holdAgain(deps.db, row.id);
  return { action: 'ack' };
}

/** The end of an attempt whose stored body was not delivered: unreadable, skipped, or refused by the mapping. */
function endUnmapped(
  end: End,
  prepared: Exclude<Prepared, { ok: true }>,
  skipWhen: string | undefined,
): Promise<MessageAction> {
  if (prepared.step === 'parse') return end('invalid', 'invalid', prepared.failure.reason, prepared.failure.message);
  if (prepared.step === 'skip') return end('skipped', 'skipped', 'skip_when', `skipWhen matched: ${skipWhen}`);
  const status = isUnmatched(prepared.failure) ? 'unmatched' : 'invalid';
  return end(status, status, prepared.failure.reason, prepared.failure.message);
}

/**
 * The end of an attempt that reached the deliver step: delivered, unchanged, nobody to update, or a failure to retry or
 * give up on.
 */
function endDelivered(
  end: End,
  delivered: Delivered,
  row: DeliveryRow,
  config: EndpointConfig,
  value: unknown,
  now: number,
): Promise<MessageAction> {
  if (delivered.kind === 'unmatched') return end('unmatched', 'unmatched', 'customer_unresolved', delivered.message);
  if (delivered.kind === 'conflict') return end('conflict', 'conflict', 'customer_conflict', delivered.message);
  const facts = crmFacts(delivered.result, value, config.redact);
  const customerId = 'customerId' in delivered ? delivered.customerId : null;
  const extra: Partial<DeliveryRow> = {
    ...facts,
    customer_id: customerId,
    crm_request: facts.crm_request === null ? null : crmRequestJson(facts.crm_request),
  };
  if (delivered.kind === 'unconfirmed')
    return end('failed', 'failed', 'create_unconfirmed', delivered.message, delivered.result, {
      ...extra,
      create_state: 'unconfirmed',
    });
  if (delivered.kind === 'created') {
    const message = sentences(
      `created customer ${delivered.customerId}`,
      '(its lookup keys learned: the next webhook of this person updates it)',
    );
    return end(
      'delivered',
      'delivered',
      'customer_created',
      message,
      delivered.result,
      { ...extra, create_state: 'created' },
      undefined,
      delivered.after,
    );
  }
  if (delivered.kind === 'unchanged') return end('unchanged', 'unchanged', 'unchanged', delivered.message, null, extra);
  if (delivered.kind === 'delivered')
    return end('delivered', 'delivered', null, null, delivered.result, extra, undefined, delivered.after);
  const result = delivered.result;
  const next = failureOutcome(result, config.delivery, row.run_attempts, true, 'dead');
  if (next.status === 'failed') return end('failed', 'failed', result.error, result.message, result, extra);
  if (next.status === 'dead') return end('dead', 'dead', result.error, next.message, result, extra);
  return end(
    'retry',
    'retrying',
    result.error,
    result.message,
    result,
    { ...extra, next_attempt_at: now + next.delaySeconds * 1000 },
    next.delaySeconds,
  );
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

async function finishAttempt(
  deps: AttemptDeps,
  row: DeliveryRow,
  startedAt: number,
  e: Ending,
  delaySeconds?: number,
): Promise<MessageAction> {
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
  // the first attempt, when it delivered, is told by the delivery row itself (its CRM facts): no attempt row
  const firstTryDelivered = attempt.n === 1 && e.outcome === 'delivered';
  await deps.db.batch([
    endAttemptStatement(deps.db, row.id, set),
    ...(firstTryDelivered ? [] : [insertAttemptStatement(deps.db, attempt)]),
    ...e.after,
  ]);
  return retry ? { action: 'retry', delaySeconds: delay! } : { action: 'ack' };
}
