/**
 * One webhook through the pipeline: receive -> verify -> parse -> public-form checks -> map (./core.ts) ->
 * dedupe -> find the customer -> its turn (./turn.ts) -> deliver now (./deliver.ts) or queue. `processWebhook` returns
 * the answer for the sender with the row and the explicit list of D1 writes still to make; it never throws for anything
 * a sender or the CRM can do.
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { CrmResult, CrmSettings } from '../crm/client';
import { attemptFromCrm, insertAttemptStatement } from '../deliveries/attempts';
import { newDeliveryId } from '../deliveries/id';
import { type Claim, type ClaimResult, claimWithRow, LEASE_MARGIN_MS, MAX_KEY_LENGTH } from '../deliveries/idempotency';
import {
  CREDENTIAL_REASONS,
  insertDeliveryIfClaimedStatement,
  insertDeliveryStatement,
  type NewDelivery,
} from '../deliveries/store';
import type { EndpointConfig, StoredEndpoint } from '../endpoints/schema';
import { type ErrorCode, errorBody } from '../http/errors';
import { type CompiledMapping, compiledMappingFor } from '../mapping/compile';
import { decodeText, parseBody, readRawBody } from '../receive/body';
import { credentialLocations, resolveSecrets, type SecretResolver, verifyRequest } from '../verify';
import { oceanEngineHandshake } from '../verify/handshake';
import { turnstileToken, verifyTurnstile } from '../verify/turnstile';
import { bodyFailureStatus, MISCONFIGURED, turnstileAnswer, verifyAnswer } from './answers';
import {
  crmFacts,
  type DeliveryMessage,
  enqueue,
  failureOutcome,
  isUnmatched,
  type Prepared,
  prepareParsed,
  scrubbedResult,
  targetOf,
  warningsOf,
} from './core';
import {
  callsFor,
  type UpdateDelivered,
  deliverToCrm,
  gateOutcomeOf,
  resolveCustomer,
  whyNotCreate,
  withWhyNot,
} from './deliver';
import { beginTurn, endTurn, type Place, placeOf, turnEndOf, waitReasonOf, waitSeconds } from './turn';
import { type Coordination, join } from '../coordination';
import type { WaitReason } from '../deliveries/lifecycle';
import {
  keepForReplay,
  maskParsed,
  maskRefused,
  newRecord,
  queryObject,
  scrubBodies,
  scrubDeep,
  scrubFacts,
  statementsOf,
  visibleHeaders,
  type Write,
  withheld,
} from './record';
import { isRecord } from '../shared/json';
import { sentences } from '../shared/text';

export type PipelineDeps = {
  crm: CrmSettings;
  db: D1Database;
  queue: Queue<DeliveryMessage>;
  /** Cloudflare Turnstile's siteverify URL (a stand-in in tests). */
  turnstileUrl: string;
  fetch: typeof fetch;
  secrets: SecretResolver;
  /**
   * The adapter's own secret values (the CRM token, ADMIN_TOKEN, SECRETS_KEY): scrubbed from everything stored and
   * answered.
   */
  knownSecrets: string[];
  now: () => number;
  coordination: Coordination;
  /**
   * How long a sync webhook waits for a CRM slot, or for its customer's running delivery, before it goes to the queue
   * instead.
   */
  slotWaitMs: number;
  turnWaitMs: number;
  /** Work that may finish after the answer (giving back the customer's turn and the CRM slot). */
  defer: (work: Promise<unknown>) => void;
};

/**
 * The answer for the sender, the row, and the D1 writes still to make; `response` when the answer is not the usual JSON
 * (a handshake).
 */
export type Outcome = {
  status: ContentfulStatusCode;
  body: Record<string, unknown>;
  record: NewDelivery;
  response?: Response;
  writes: Write[];
};

/** Makes an outcome's writes, in one D1 batch. */
export async function saveOutcome(db: D1Database, outcome: Outcome): Promise<void> {
  const statements = statementsOf(db, outcome.record, outcome.writes);
  if (statements.length > 0) await db.batch(statements);
}

/**
 * One webhook's state while it runs: the row grows as the steps learn more. `stored`: the payload and the kept body
 * are in their stored form (masked where the endpoint says so, secrets scrubbed).
 */
type Run = {
  deps: PipelineDeps;
  endpoint: StoredEndpoint;
  config: EndpointConfig;
  request: Request;
  record: NewDelivery;
  headers: Record<string, string>;
  bytes: Uint8Array | null;
  /** The body as UTF-8 text, decoded once (null when it is not UTF-8). */
  text: string | null;
  stored: boolean;
  /**
   * Every secret value known so far (the adapter's, then the endpoint's): never stored, never answered, never sent on.
   */
  secrets: string[];
};

const ROW: Write[] = [{ kind: 'row' }];

/** Runs one webhook through the pipeline. What the log keeps is masked as the endpoint's `redact` says. */
export async function processWebhook(deps: PipelineDeps, endpoint: StoredEndpoint, request: Request): Promise<Outcome> {
  const run = start(deps, endpoint, request);
  const received = await receive(run);
  if (received) return received;
  const verified = await verify(run);
  if (!verified.ok) return verified.outcome;
  const parsed = await parseBody(run.bytes!, run.record.content_type, run.text);
  if (!parsed.ok) return refuse(run, bodyFailureStatus(parsed), 'invalid', parsed.reason, parsed.message);
  run.record.warnings.push(...parsed.warnings);
  const gated = await gate(run, parsed.value);
  if (gated) return gated;
  let mapping: CompiledMapping;
  try {
    mapping = compiledMappingFor(`${endpoint.id}:${endpoint.revision}`, run.config);
  } catch (err) {
    if (!run.config.enabled) return hold(run, parsed.value, verified.replayText, null);
    return refuse(run, 503, 'failed', 'endpoint_misconfigured', (err as Error).message, {
      senderMessage: MISCONFIGURED,
    });
  }
  if (!run.config.enabled) return hold(run, parsed.value, verified.replayText, mapping);
  // a key that travels in the body (Google's google_key) is not payload: no mapping sees it
  if (run.config.verify.type === 'body-key' && isRecord(parsed.value)) delete parsed.value[run.config.verify.field];
  const prepared = await prepareParsed(
    run.config,
    mapping,
    parsed.value,
    { headers: run.headers, query: run.record.request_query },
    run.record.warnings,
  );
  if (!prepared.ok) return notMapped(run, prepared);
  run.record.customer_id = prepared.mapped.customerId;
  storeBodies(run, parsed.value, verified.replayText);
  run.record.version = prepared.version;
  const claim = claimOf(run, prepared.key);
  if (run.config.delivery.mode === 'queue') return recordAndQueue(run, claim, prepared);
  return deliverNow(run, mapping, prepared, claim);
}

function start(deps: PipelineDeps, endpoint: StoredEndpoint, request: Request): Run {
  const receivedAt = deps.now();
  const credentials = credentialLocations(endpoint.config.verify);
  const headers = visibleHeaders(request.headers, credentials.headers);
  const record = newRecord(
    newDeliveryId(receivedAt),
    endpoint.id,
    receivedAt,
    request,
    queryObject(new URL(request.url), credentials.query),
    headers,
  );
  return {
    deps,
    endpoint,
    config: endpoint.config,
    request,
    record,
    headers,
    bytes: null,
    text: null,
    stored: false,
    secrets: [...deps.knownSecrets],
  };
}

/** Ends the run: the row's status and times, its payload masked where the endpoint says so, and the writes. */
async function finish(
  run: Run,
  status: ContentfulStatusCode,
  rowStatus: NewDelivery['status'],
  reason: string | null,
  message: string | null,
  body: Record<string, unknown>,
  writes: Write[] = ROW,
): Promise<Outcome> {
  const { record } = run;
  record.status = rowStatus;
  record.reason = reason;
  record.message = message;
  record.finished_at = run.deps.now();
  record.duration_ms = record.finished_at - record.received_at;
  // at the edge of storage and of the answer: a secret that reached the row or the body (a CRM echoing its
  // credential, a body key in a refused request) is replaced by ***
  if (!run.stored) {
    if (run.config.redact?.length && run.bytes && rowStatus !== 'handshake')
      await maskRefused(record, run.bytes, run.config.redact);
    scrubBodies(record, run.secrets);
    run.stored = true;
  }
  scrubFacts(record, run.secrets);
  return { status, body: scrubDeep(body, run.secrets), record, writes };
}

/** A refusal: `reason` (the row's precise cause) defaults to the wire code, `senderMessage` to the row's message. */
function refuse(
  run: Run,
  status: ContentfulStatusCode,
  rowStatus: NewDelivery['status'],
  code: ErrorCode,
  message: string,
  more: { reason?: string; senderMessage?: string; writes?: Write[] } = {},
) {
  return finish(
    run,
    status,
    rowStatus,
    more.reason ?? code,
    message,
    errorBody(code, more.senderMessage ?? message, { deliveryId: run.record.id }),
    more.writes,
  );
}

/** 1. The raw bytes, within the endpoint's limit; a platform's challenge is answered here, before verification. */
async function receive(run: Run): Promise<Outcome | null> {
  const raw = await readRawBody(run.request, run.config.maxBodyBytes);
  if (!raw.ok) return refuse(run, 413, 'invalid', 'payload_too_large', raw.message);
  run.bytes = raw.bytes;
  run.text = decodeText(raw.bytes);
  run.record.payload_bytes = raw.bytes.byteLength;
  run.record.payload = run.text ?? `[${raw.bytes.byteLength} bytes, not UTF-8]`;
  // the platform may not sign its challenge, and echoing a number reveals nothing
  if (run.config.handshake?.type !== 'ocean-engine') return null;
  const handshake = oceanEngineHandshake(run.record.payload);
  if (handshake.kind !== 'answered') return null;
  return { ...(await finish(run, 200, 'handshake', null, handshake.detail, {})), response: handshake.response };
}

/**
 * 2. The sender, over the raw bytes, before anything is parsed. `replayText`: the body to keep (secrets scrubbed), null
 * when not UTF-8.
 */
async function verify(run: Run): Promise<{ ok: true; replayText: string | null } | { ok: false; outcome: Outcome }> {
  const { request, record } = run;
  const input = {
    method: request.method,
    url: new URL(request.url),
    headers: request.headers,
    body: run.bytes as Uint8Array<ArrayBuffer>,
    now: record.received_at,
  };
  const verified = await verifyRequest(run.config.verify, input, run.deps.secrets);
  run.secrets.push(...verified.secrets);
  if (!verified.ok) {
    const answer = verifyAnswer(verified);
    if (isCredentialReason(verified.reason)) await keepForReview(run);
    return {
      ok: false,
      outcome: await refuse(run, answer.status, answer.rowStatus, answer.code, verified.detail, {
        reason: verified.reason,
        senderMessage: answer.message,
      }),
    };
  }
  // a secret inside the body (Google's google_key) is scrubbed where the row is stored (storeBodies, finish)
  record.verified = 1;
  if (verified.note) record.warnings.push(verified.note);
  if (verified.matched) record.warnings.push(`verified with ${verified.matched}`);
  return { ok: true, replayText: run.text === null ? null : record.payload };
}

/**
 * 2b. Refused for its credential (missing, wrong, expired): the lead is kept all the same, its body stored as any
 * row's (masked under `redact`, the real body beside it), so an admin can review it and accept it
 * (`POST /admin/deliveries/{id}/accept`). Bounded by the body limit, the rate limits and the raw-retention days.
 */
async function keepForReview(run: Run): Promise<void> {
  const { record } = run;
  const replayText = run.text === null ? null : record.payload;
  if (run.config.redact?.length) {
    const parsed = await parseBody(run.bytes!, record.content_type, run.text);
    if (parsed.ok) maskParsed(record, parsed.value, run.config.redact);
    else record.payload = withheld(run.bytes!, 'the body could not be parsed');
  }
  keepForReplay(record, replayText, run.bytes!);
  scrubBodies(record, run.secrets);
  run.stored = true;
  record.warnings.push(
    sentences(
      'kept for review:',
      'once sure it came from your sender, accept it in the console (推送记录 → 接受并推送) to deliver it',
    ),
  );
}

const isCredentialReason = (reason: string): boolean => (CREDENTIAL_REASONS as readonly string[]).includes(reason);

/**
 * 3. A public form's checks: a filled honeypot (answered like a success, never sent), a Turnstile token (checked once).
 */
async function gate(run: Run, value: unknown): Promise<Outcome | null> {
  const { config, record } = run;
  if (config.honeypot && isFilled(value, config.honeypot)) {
    return finish(run, 200, 'spam', 'honeypot', `honeypot field "${config.honeypot}" was filled`, {
      deliveryId: record.id,
      status: 'accepted',
    });
  }
  if (!config.turnstile) return null;
  const secret = await resolveSecrets([config.turnstile.secret], run.deps.secrets);
  if (!secret.ok)
    return refuse(run, 503, 'failed', 'endpoint_misconfigured', secret.detail, {
      reason: 'secret_missing',
      senderMessage: MISCONFIGURED,
    });
  run.secrets.push(...secret.values);
  const token = turnstileToken(value, config.turnstile.field);
  const checked = await verifyTurnstile(
    run.deps.fetch,
    run.deps.turnstileUrl,
    secret.values[0]!,
    token,
    run.request.headers.get('cf-connecting-ip'),
  );
  if (checked.ok) return null;
  const answer = turnstileAnswer(checked);
  return refuse(run, answer.status, answer.rowStatus, answer.code, checked.detail, {
    reason: checked.reason,
    senderMessage: answer.message,
  });
}

function isFilled(body: unknown, field: string): boolean {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  const value = (body as Record<string, unknown>)[field];
  return !(value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0));
}

/** 4. A body the mapping skips (skipWhen) or refuses (422; `unmatched` when nobody could be named). */
function notMapped(run: Run, prepared: Exclude<Prepared, { ok: true }>): Promise<Outcome> {
  if (prepared.step === 'skip')
    return finish(run, 200, 'skipped', 'skip_when', `skipWhen matched: ${run.config.skipWhen}`, {
      deliveryId: run.record.id,
      status: 'skipped',
    });
  if (prepared.step === 'parse')
    return refuse(
      run,
      bodyFailureStatus(prepared.failure),
      'invalid',
      prepared.failure.reason,
      prepared.failure.message,
    );
  return refuse(
    run,
    422,
    isUnmatched(prepared.failure) ? 'unmatched' : 'invalid',
    prepared.failure.reason,
    prepared.failure.message,
  );
}

/**
 * The stored payload masked where the endpoint says so; the real body (secrets scrubbed) kept beside it for the queue
 * and replay.
 */
function storeBodies(run: Run, value: unknown, replayText: string | null): void {
  if (run.config.redact?.length) maskParsed(run.record, value, run.config.redact);
  keepForReplay(run.record, replayText, run.bytes!);
  // before the first write (queue mode and a sync claim write the row before the CRM call)
  scrubBodies(run.record, run.secrets);
  run.stored = true;
}

/**
 * A disabled endpoint is paused: a verified webhook is kept as `held` (no CRM call) and answered 202 once its row is
 * written, with its idempotency claim (a lead sent twice while paused is kept once); enabling the endpoint again
 * queues every held delivery in arrival order (./replay.ts `releaseHeld`).
 */
async function hold(
  run: Run,
  value: unknown,
  replayText: string | null,
  mapping: CompiledMapping | null,
): Promise<Outcome> {
  // the key, when the mapping can tell it already (a mapping that refuses this body is fixed before enabling)
  const prepared = mapping
    ? await prepareParsed(
        run.config,
        mapping,
        value,
        { headers: run.headers, query: run.record.request_query },
        run.record.warnings,
      )
    : null;
  storeBodies(run, value, replayText);
  run.record.mode = 'queue';
  const claim = claimOf(run, prepared?.ok ? prepared.key : null);
  // its customer's line, taken when it is released (so that release keeps each customer's order)
  if (prepared?.ok) {
    run.record.version = prepared.version;
    run.record.sequence_key = (await placeAtReceipt(run, prepared).catch(() => null))?.key ?? null;
  }
  const message = 'the endpoint is disabled: held until it is enabled again';
  const outcome = await finish(
    run,
    202,
    'held',
    'endpoint_disabled',
    message,
    { deliveryId: run.record.id, status: 'held' },
    [],
  );
  const refused = await recordBeforeAnswer(run, claim);
  return refused ?? outcome;
}

/**
 * Writes the row (with its idempotency claim, if any) before the 2xx that promises it is kept; the answer instead
 * when D1 cannot (503, the sender retries) or the key was taken (a duplicate). Null once the row is written.
 */
async function recordBeforeAnswer(run: Run, claim: Claim | null): Promise<Outcome | null> {
  const { record, deps } = run;
  let claimed: ClaimResult = { claimed: true };
  try {
    if (claim) claimed = await claimWithRow(deps.db, claim, insertDeliveryIfClaimedStatement(deps.db, record, claim));
    else await insertDeliveryStatement(deps.db, record).run();
  } catch (err) {
    return storageDown(run, err);
  }
  return claimed.claimed ? null : duplicate(run, claim!, claimed);
}

/** 5. The idempotency claim this webhook will take, if its key yields a value. */
function claimOf(run: Run, key: string | null): Claim | null {
  const { record, config } = run;
  const claim = key
    ? {
        endpointId: run.endpoint.id,
        key: key.slice(0, MAX_KEY_LENGTH),
        deliveryId: record.id,
        now: record.received_at,
        windowMs: config.idempotencyWindowDays * 86_400_000,
      }
    : null;
  record.idempotency_key = claim?.key ?? null;
  return claim;
}

/** A repeat of a key seen within the window: answered with the first delivery's id, logged, never delivered. */
function duplicate(run: Run, claim: Claim, first: Exclude<ClaimResult, { claimed: true }>): Promise<Outcome> {
  const { record } = run;
  record.duplicate_of = first.firstId;
  record.raw_body = null;
  record.raw_base64 = 0;
  const body = { deliveryId: first.firstId, status: 'duplicate', firstStatus: first.firstStatus };
  return finish(
    run,
    200,
    'duplicate',
    'duplicate',
    `duplicate of ${first.firstId} (idempotency key ${claim.key})`,
    body,
  );
}

/** D1 could not take the claim or the row: 503 so that the sender retries; nothing can be written. */
function storageDown(run: Run, err: unknown): Promise<Outcome> {
  console.error('D1 unavailable: webhook refused with 503 so the sender retries', err);
  return refuse(run, 503, 'failed', 'storage_unavailable', 'The delivery could not be recorded; retry later', {
    writes: [],
  });
}

/**
 * 6a. Queue mode: recorded (with its claim) before the 202, then its place taken in its customer's sequence (so that
 * the consumer, which runs a batch at once, applies the customer's deliveries in the order received), then only its
 * id goes to the queue; D1 is the source of truth.
 */
async function recordAndQueue(
  run: Run,
  claim: Claim | null,
  prepared: Extract<Prepared, { ok: true }>,
): Promise<Outcome> {
  const { record, deps } = run;
  record.mode = 'queue';
  record.status = 'queued';
  record.next_attempt_at = record.received_at;
  let place: Place | null;
  try {
    place = await placeAtReceipt(run, prepared);
  } catch (err) {
    return storageDown(run, err);
  }
  record.sequence_key = place?.key ?? null;
  record.duration_ms = deps.now() - record.received_at;
  const refused = await recordBeforeAnswer(run, claim);
  if (refused) return refused;
  if (place) await join(deps.coordination, run.config.crm.productLineId, [place]);
  await enqueue(deps.queue, record.id);
  return { status: 202, body: { deliveryId: record.id, status: 'queued' }, record, writes: [] };
}

/**
 * The customer sequence a webhook recorded for later (queued or held) belongs to: found by id or keys, else by its
 * first key.
 */
async function placeAtReceipt(run: Run, prepared: Extract<Prepared, { ok: true }>): Promise<Place | null> {
  const resolved = await resolveCustomer(run.deps.db, run.config.crm.moduleId, prepared.mapped);
  return placeOf(
    run.config.crm,
    { id: run.record.id, endpointId: run.endpoint.id, version: prepared.version, round: 0 },
    prepared.mapped,
    'kind' in resolved ? null : resolved,
  );
}

/**
 * 6b. Sync: the key is claimed before the CRM call, so concurrent repeats never make a second one. The row goes in
 * with the claim, in flight (`queued`, leased for the CRM timeout): if the Worker stops mid-call, the row stays
 * visible, the cron re-drive finishes it, and a repeat after the lease takes the claim over. Without a key the
 * in-flight row is written while the customer's turn is asked for (one round trip, not two): a Worker that stops
 * after the CRM call still leaves a row the re-drive finishes, never an update applied without one.
 */
async function deliverNow(
  run: Run,
  mapping: CompiledMapping,
  prepared: Extract<Prepared, { ok: true }>,
  claim: Claim | null,
): Promise<Outcome> {
  const { record, deps } = run;
  if (claim) {
    let claimed: ClaimResult;
    try {
      claimed = await claimWithRow(deps.db, claim, insertDeliveryIfClaimedStatement(deps.db, inFlightOf(run), claim));
    } catch (err) {
      return storageDown(run, err);
    }
    if (!claimed.claimed) return duplicate(run, claim, claimed);
  }
  // nothing secret is sent on, whatever the mapping copies (`$string($)`)
  const mapped = { ...prepared.mapped, fields: scrubDeep(prepared.mapped.fields, run.secrets) };
  const target = targetOf(run.config);
  const resolved = await resolveCustomer(deps.db, target.moduleId, mapped);
  if ('kind' in resolved) {
    const whyNot = resolved.kind === 'unmatched' ? whyNotCreate(run.config.onUnmatched, deps.crm, mapped) : 'keep';
    // a new customer is created through the queue, in its first lookup key's line: one create per person
    if (whyNot === null)
      return toQueue(
        run,
        'create_queued',
        CREATE_QUEUED,
        0,
        claim,
        placeOf(target, ticketOf(run, prepared), mapped, null),
      );
    return afterCrm(run, withWhyNot(resolved, whyNot), prepared.value, claim);
  }
  const place = placeOf(target, ticketOf(run, prepared), mapped, resolved);
  record.sequence_key = place?.key ?? null;
  // the customer's turn and a CRM slot, in one request; meanwhile the in-flight row, unless the claim wrote it
  const [turn] = await Promise.all([
    beginTurn(deps, target.productLineId, place, callsFor(target, mapping, mapped)),
    claim ? null : writeInFlight(run),
  ]);
  if (turn.kind === 'superseded') return superseded(run, turn, resolved.id);
  if (turn.kind !== 'granted') {
    // an earlier delivery of this customer is not finished, or CRM calls are paused or at their limits: this one
    // goes to the queue (behind the earlier one); a new delivery is never "done" already
    const wait = turn.kind === 'done' ? ({ kind: 'busy', retryInMs: 1_000, why: null } as const) : turn;
    const why = waitReasonOf(wait);
    return toQueue(run, why.reason, why.message, waitSeconds(wait.retryInMs), claim);
  }
  const delivered = scrubbedResult(await deliverToCrm(deps, target, mapping, mapped, resolved), run.secrets);
  const outcome = await afterCrm(run, delivered, prepared.value, claim);
  // after the answer: the slot back, the turn ended, the customer's next delivery queued
  deps.defer(
    endTurn(deps, target.productLineId, place, turnEndOf(outcome.record.status), turn.slot, gateOutcomeOf(delivered)),
  );
  return outcome;
}

/**
 * The row as it stands while the CRM is called: `queued`, leased for the CRM timeout (then the cron re-drives it).
 * A body past IN_FLIGHT_BODY_MAX is kept with the final row only (written twice, it was the largest cost of a big
 * webhook): a Worker that stops mid-call still leaves the row, and the re-drive finds from the customer's sequence
 * whether the CRM had applied it.
 */
function inFlightOf(run: Run): NewDelivery {
  const { record, deps } = run;
  const lease = record.received_at + deps.crm.timeoutMs + LEASE_MARGIN_MS;
  const row: NewDelivery = {
    ...record,
    status: 'queued',
    next_attempt_at: record.received_at,
    lease_until: lease,
    finished_at: null,
    duration_ms: null,
  };
  if ((record.payload_bytes ?? 0) <= IN_FLIGHT_BODY_MAX) return row;
  return {
    ...row,
    payload: null,
    raw_body: null,
    raw_base64: 0,
    warnings: [
      ...record.warnings,
      `in flight without its body (past ${IN_FLIGHT_BODY_MAX} bytes): kept with the final row`,
    ],
  };
}

/** The largest body the in-flight row carries (a typical webhook is 1-2 KiB). */
const IN_FLIGHT_BODY_MAX = 16 * 1024;

/** Writes the in-flight row; D1 failing here does not stop the delivery (its final row is written after the answer). */
async function writeInFlight(run: Run): Promise<void> {
  try {
    await insertDeliveryStatement(run.deps.db, inFlightOf(run)).run();
  } catch (err) {
    console.error(
      'could not write the in-flight row; the delivery goes on and its row is written after the answer',
      err,
    );
  }
}

const CREATE_QUEUED = 'a new customer: created through the queue, one create per person (its first lookup key)';

/** This webhook's ticket in a customer sequence. */
function ticketOf(run: Run, prepared: Extract<Prepared, { ok: true }>) {
  return { id: run.record.id, endpointId: run.endpoint.id, version: prepared.version, round: 0 };
}

/**
 * Not sent now (the customer's turn has not come, the CRM's calls are paused, or a new customer is to be created):
 * recorded as queued, then 202. `place`: a line to join first (a create waits in its lookup key's line).
 */
async function toQueue(
  run: Run,
  reason: WaitReason,
  message: string,
  delaySeconds: number,
  claim: Claim | null,
  place: Place | null = null,
): Promise<Outcome> {
  const { record, deps } = run;
  if (place) record.sequence_key = place.key;
  const outcome = await finish(run, 202, 'queued', reason, message, { deliveryId: record.id, status: 'queued' }, []);
  record.mode = 'queue';
  record.finished_at = null;
  record.lease_until = null;
  record.next_attempt_at = deps.now() + delaySeconds * 1000;
  try {
    // replaces the in-flight row a claim wrote
    await insertDeliveryStatement(deps.db, record).run();
  } catch (err) {
    if (claim) {
      // the in-flight row stands (the cron re-drives it once its lease is over): the lead is kept
      console.error('could not record the queued delivery; its in-flight row is re-driven later', err);
      return outcome;
    }
    return storageDown(run, err);
  }
  if (place) await join(deps.coordination, run.config.crm.productLineId, [place]);
  await enqueue(deps.queue, record.id, delaySeconds);
  return outcome;
}

/**
 * Older than what was applied to this customer from this endpoint: not sent; answered 200 (the sender did its part).
 */
function superseded(
  run: Run,
  turn: { by: string; byVersion: string | null; next: string | null },
  customerId: string,
): Promise<Outcome> {
  const { record, deps } = run;
  if (turn.next && turn.next !== record.id) deps.defer(enqueue(deps.queue, turn.next));
  record.customer_id = customerId;
  record.superseded_by = turn.by;
  const by = turn.byVersion ? `${turn.by} (version ${turn.byVersion})` : turn.by;
  const message = `not sent: delivery ${by}, newer, was applied to this customer first`;
  return finish(run, 200, 'superseded', 'superseded', message, {
    deliveryId: record.id,
    status: 'superseded',
    supersededBy: turn.by,
    customerId,
  });
}

/** 7. What the CRM call decided, as the answer, the row and its writes. */
async function afterCrm(run: Run, delivered: UpdateDelivered, value: unknown, claim: Claim | null): Promise<Outcome> {
  const { record } = run;
  const release: Write[] = claim ? [{ kind: 'release', endpointId: claim.endpointId, key: claim.key }] : [];
  if (delivered.kind === 'unmatched' || delivered.kind === 'conflict') {
    // the customer cannot be told: 422 for the sender; replay after importing keys
    const reason = delivered.kind === 'unmatched' ? 'customer_unresolved' : 'customer_conflict';
    return refuse(run, 422, delivered.kind, 'customer_unresolved', delivered.message, {
      reason,
      writes: [...ROW, ...release],
    });
  }
  record.customer_id = delivered.customerId;
  Object.assign(record, crmFacts(delivered.result, value, run.config.redact));
  if (delivered.kind === 'unchanged') {
    return finish(run, 200, 'unchanged', 'unchanged', delivered.message, {
      deliveryId: record.id,
      status: 'unchanged',
      customerId: delivered.customerId,
    });
  }
  record.attempts = 1;
  record.run_attempts = 1;
  if (delivered.kind === 'failed') return crmFailed(run, delivered.result, release);
  record.warnings.push(...warningsOf(delivered));
  // a first try that succeeded needs no attempt row: the delivery row carries its CRM facts (README "Storage")
  const writes: Write[] = [...ROW, { kind: 'learned', statements: delivered.after }];
  return finish(
    run,
    200,
    'delivered',
    null,
    null,
    { deliveryId: record.id, status: 'delivered', customerId: delivered.customerId },
    writes,
  );
}

/**
 * A failed CRM call: handed to the queue when retryable and the endpoint says so (recorded first, then 202), else 502.
 */
async function crmFailed(run: Run, result: Extract<CrmResult, { ok: false }>, release: Write[]): Promise<Outcome> {
  const { record, config, deps } = run;
  const next = failureOutcome(result, config.delivery, 1, config.delivery.onFailure === 'retry', 'failed');
  if (next.status === 'retrying') {
    const delay = next.delaySeconds;
    const outcome = await finish(
      run,
      202,
      'retrying',
      result.error,
      result.message,
      { deliveryId: record.id, status: 'retrying' },
      [],
    );
    record.mode = 'queue';
    record.finished_at = null;
    record.next_attempt_at = record.received_at + (record.duration_ms ?? 0) + delay * 1000;
    const attempt = attemptFromCrm(record.id, 1, record.received_at, result, 'retry', record.next_attempt_at);
    try {
      await deps.db.batch([insertDeliveryStatement(deps.db, record), insertAttemptStatement(deps.db, attempt)]);
      await enqueue(deps.queue, record.id, delay);
      return outcome;
    } catch (err) {
      console.error('could not hand the delivery to the queue; answering the failure instead', err);
      record.mode = 'sync';
      record.next_attempt_at = null;
    }
  }
  const attempt: Write = {
    kind: 'attempt',
    attempt: attemptFromCrm(record.id, 1, record.received_at, result, 'failed'),
  };
  return refuse(run, 502, 'failed', result.error, result.message, { writes: [...ROW, attempt, ...release] });
}
