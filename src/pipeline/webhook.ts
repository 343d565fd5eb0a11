/**
 * The webhook pipeline, one step per folder: receive -> verify -> map -> crm -> deliveries.
 * `processWebhook` runs the steps for one request and returns the answer for the sender together
 * with the delivery record; it never throws for anything a sender or the CRM can do.
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { CrmResult, CrmSettings } from '../crm/client';
import { deliverToCrm } from './deliver';
import { attemptFromCrm, insertAttemptStatement, type Attempt } from '../deliveries/attempts';
import { claimWithRow, LEASE_MARGIN_MS, MAX_KEY_LENGTH, releaseStatement, type Claim, type ClaimResult } from '../deliveries/idempotency';
import { insertDeliveryIfClaimedStatement, insertDeliveryStatement, type NewDelivery } from '../deliveries/store';
import { maxAttempts, retryDelaySeconds, type DeliveryConfig } from '../deliveries/retry';
import { encodeBytes } from '../verify/crypto';
import { newDeliveryId } from '../deliveries/id';
import type { StoredEndpoint } from '../endpoints/schema';
import { errorBody, type ErrorCode } from '../http/errors';
import { compiledMappingFor, type CompiledMapping } from '../mapping/compile';
import { idempotencyKeyOf, mapPayload, shouldSkip } from '../mapping/map';
import { viewOf } from '../presets';
import { decodeText, parseBody, readRawBody } from '../receive/body';
import { redactPaths, scrubText, scrubValue, sensitiveForms } from '../deliveries/redact';
import { credentialLocations, resolveSecrets, verifyRequest, type SecretResolver, type VerifyResult } from '../verify';
import { metaHandshake, oceanEngineHandshake } from '../verify/handshake';
import { turnstileToken, verifyTurnstile, type TurnstileResult } from '../verify/turnstile';

export type PipelineDeps = {
  crm: CrmSettings;
  db: D1Database;
  queue: Queue<DeliveryMessage>;
  /** Cloudflare Turnstile's siteverify URL (a stand-in in tests). */
  turnstileUrl: string;
  fetch: typeof fetch;
  secrets: SecretResolver;
  now: () => number;
};

/**
 * The answer for the sender and the row for the log; `response` when the answer is not the usual JSON (a handshake).
 * `persisted`: the row is already in D1 (queue mode writes it before answering). `attempt` and `release`
 * (an idempotency claim to give back) are written with the row by `saveOutcome`.
 */
export type Outcome = {
  status: ContentfulStatusCode;
  body: Record<string, unknown>;
  record: NewDelivery;
  response?: Response;
  persisted?: boolean;
  attempt?: Attempt;
  release?: { endpointId: string; key: string };
  /** More statements for the same batch (customer keys learned from the CRM's answer). */
  after?: D1PreparedStatement[];
  /** Masking already applied (the row was written before the wrapper could do it). */
  redacted?: boolean;
};

/** Writes what an outcome still has to write, in one D1 batch. */
export async function saveOutcome(db: D1Database, outcome: Outcome): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  if (!outcome.persisted) statements.push(insertDeliveryStatement(db, outcome.record));
  if (outcome.attempt && !outcome.persisted) statements.push(insertAttemptStatement(db, outcome.attempt));
  if (outcome.release) statements.push(releaseStatement(db, outcome.release.endpointId, outcome.release.key, outcome.record.id));
  if (outcome.after) statements.push(...outcome.after);
  if (statements.length > 0) await db.batch(statements);
}

// Headers that carry credentials whatever the scheme: never stored.
const ALWAYS_SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);
const MAX_STORED_HEADER = 1024;

/** The request's headers without any that carry credentials: what expressions see as `$headers`. */
function visibleHeaders(headers: Headers, secret: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) if (!ALWAYS_SECRET_HEADERS.has(name) && !secret.includes(name)) out[name] = value;
  return out;
}

/** The same, with long values cut, for the log. */
function storedHeaders(visible: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(visible)) out[name] = value.length > MAX_STORED_HEADER ? `${value.slice(0, MAX_STORED_HEADER)}…` : value;
  return out;
}

function queryObject(url: URL, omit: string[] = []): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    if (omit.includes(key)) continue;
    const existing = out[key];
    out[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return out;
}

function isFilled(body: unknown, field: string): boolean {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  const value = (body as Record<string, unknown>)[field];
  return !(value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0));
}

/** Replaces every occurrence of a secret in stored text with ***. */
function scrubSecrets(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join('***');
  return out;
}

/** The generic 401 a refused sender sees, whatever the precise reason. */
const SIGNATURE_REFUSED = 'Request could not be verified';

function verifyFailure(result: Exclude<VerifyResult, { ok: true }>): { status: ContentfulStatusCode; code: ErrorCode; message: string; rowStatus: 'rejected' | 'failed' } {
  switch (result.reason) {
    case 'secret_missing':
      return { status: 503, code: 'endpoint_misconfigured', message: MISCONFIGURED, rowStatus: 'failed' };
    case 'missing_credential':
    case 'malformed_credential':
    case 'credential_mismatch':
    case 'malformed_signature':
    case 'signature_mismatch':
    case 'stale_timestamp':
    case 'malformed_timestamp':
      return { status: 401, code: 'invalid_signature', message: SIGNATURE_REFUSED, rowStatus: 'rejected' };
    default: {
      const exhaustive: never = result;
      throw new Error(`unhandled verification reason ${JSON.stringify(exhaustive)}`);
    }
  }
}

function turnstileFailure(result: Exclude<TurnstileResult, { ok: true }>): { status: ContentfulStatusCode; code: ErrorCode; message: string; rowStatus: 'rejected' | 'failed' } {
  switch (result.reason) {
    case 'turnstile_missing':
    case 'turnstile_rejected':
      return { status: 403, code: 'turnstile_failed', message: 'The anti-bot check failed; reload the form and try again', rowStatus: 'rejected' };
    case 'turnstile_unavailable':
      return { status: 503, code: 'turnstile_unavailable', message: 'The anti-bot check could not be completed; try again shortly', rowStatus: 'failed' };
    case 'turnstile_misconfigured':
      return { status: 503, code: 'endpoint_misconfigured', message: MISCONFIGURED, rowStatus: 'failed' };
    default: {
      const exhaustive: never = result;
      throw new Error(`unhandled turnstile reason ${JSON.stringify(exhaustive)}`);
    }
  }
}

function crmFailureStatus(result: Exclude<CrmResult, { ok: true }>): ContentfulStatusCode {
  switch (result.error) {
    case 'crm_unavailable':
    case 'crm_rejected':
      return 502;
  }
}

const MISCONFIGURED = 'Endpoint is misconfigured; the operator has been told';

/** The answer and row for a webhook whose endpoint exists but cannot be used as stored (503: the sender should retry). */
export function misconfigured(endpointId: string, request: Request, message: string): Outcome {
  const now = Date.now();
  const id = newDeliveryId(now);
  const url = new URL(request.url);
  return {
    status: 503,
    body: errorBody('endpoint_misconfigured', MISCONFIGURED, { deliveryId: id }),
    record: {
      ...emptyRecord(id, endpointId, now, request, url, { headers: [], query: [] }),
      status: 'failed',
      reason: 'endpoint_misconfigured',
      message,
      finished_at: now,
      duration_ms: 0,
      // the credential locations are unknown here: keep no query and no headers at all
      request_query: {},
      request_headers: {},
    },
  };
}

function emptyRecord(
  id: string,
  endpointId: string,
  receivedAt: number,
  request: Request,
  url: URL,
  credentials: { headers: string[]; query: string[] },
  headers: Record<string, string> = visibleHeaders(request.headers, credentials.headers),
): NewDelivery {
  return {
    id,
    endpoint_id: endpointId,
    status: 'invalid',
    reason: null,
    message: null,
    received_at: receivedAt,
    finished_at: null,
    duration_ms: null,
    customer_id: null,
    request_method: request.method,
    request_query: queryObject(url, credentials.query),
    request_headers: storedHeaders(headers),
    content_type: request.headers.get('content-type'),
    payload: null,
    payload_bytes: null,
    crm_request: null,
    crm_http_status: null,
    crm_code: null,
    crm_message: null,
    crm_response: null,
    crm_duration_ms: null,
    warnings: [],
    mode: 'sync',
    verified: 0,
    raw_body: null,
    raw_base64: 0,
    attempts: 0,
    run_attempts: 0,
    next_attempt_at: null,
    lease_until: null,
    idempotency_key: null,
    duplicate_of: null,
    replays: 0,
  };
}

/** Answers a platform's GET verification (Meta's hub.challenge); a GET without a configured handshake is not for us. */
export async function processHandshake(deps: PipelineDeps, endpoint: StoredEndpoint, request: Request): Promise<Outcome | null> {
  const handshake = endpoint.config.handshake;
  if (handshake?.type !== 'meta') return null;
  const now = deps.now();
  const id = newDeliveryId(now);
  const url = new URL(request.url);
  const record = emptyRecord(id, endpoint.id, now, request, url, { headers: [], query: ['hub.verify_token'] });
  record.finished_at = deps.now();
  record.duration_ms = record.finished_at - now;
  const result = await metaHandshake(handshake, url, deps.secrets);
  switch (result.kind) {
    case 'answered':
      return { status: 200, body: {}, response: result.response, record: { ...record, status: 'handshake', message: result.detail } };
    case 'refused': {
      const misconfigured = result.reason === 'secret_missing';
      return {
        status: misconfigured ? 503 : 401,
        body: misconfigured ? errorBody('endpoint_misconfigured', MISCONFIGURED, { deliveryId: id }) : errorBody('invalid_signature', SIGNATURE_REFUSED, { deliveryId: id }),
        record: { ...record, status: misconfigured ? 'failed' : 'rejected', reason: result.reason, message: result.detail },
      };
    }
    case 'none':
      return null;
  }
}

/** Runs one webhook through the pipeline; what the log keeps is masked as the endpoint's `redact` says. */
export async function processWebhook(deps: PipelineDeps, endpoint: StoredEndpoint, request: Request): Promise<Outcome> {
  const contentType = request.headers.get('content-type');
  let rawBytes: Uint8Array | undefined;
  const outcome = await runWebhook(deps, endpoint, request, (bytes) => (rawBytes = bytes));
  const paths = endpoint.config.redact;
  if (!outcome.redacted && !outcome.persisted && paths?.length && rawBytes && outcome.record.status !== 'handshake') {
    // A request refused before it was verified is not worth parsing and masking (anyone can send one): its
    // payload is withheld whole, at no cost. A verified one refused later is masked, for the operator to fix it.
    if (outcome.record.verified === 0) outcome.record.payload = `[${rawBytes.byteLength} bytes withheld: the endpoint redacts fields and the request was not verified]`;
    else await redactRecord(outcome.record, rawBytes, contentType, paths);
  }
  return outcome;
}

/**
 * What a verified delivery keeps for replay and queued delivery: nothing extra when the stored
 * payload is the body itself; the body (secrets scrubbed) when the payload was masked; base64 when it is not UTF-8.
 */
function keepForReplay(record: NewDelivery, replayText: string | null, bytes: Uint8Array): void {
  if (replayText === null) {
    record.raw_body = encodeBytes(bytes, 'base64');
    record.raw_base64 = 1;
  } else if (record.payload !== replayText) {
    record.raw_body = replayText;
  }
}

/** Masks the record as the endpoint says, from a body already parsed. */
function redactParsed(record: NewDelivery, value: unknown, paths: string[]): void {
  const { value: masked, originals } = redactPaths(value, paths);
  const forms = sensitiveForms(originals);
  record.payload = scrubText(JSON.stringify(masked), forms);
  record.warnings.push('payload stored redacted (as parsed JSON)');
}

/**
 * Masks the stored payload (re-serialised as JSON, the masked paths replaced) and every place a
 * masked value reappears: the CRM request and the CRM's answer.
 */
async function redactRecord(record: NewDelivery, bytes: Uint8Array, contentType: string | null, paths: string[]): Promise<void> {
  const parsed = await parseBody(bytes, contentType);
  if (!parsed.ok) {
    record.payload = `[${bytes.byteLength} bytes withheld: the endpoint redacts fields and the body could not be parsed]`;
    return;
  }
  redactParsed(record, parsed.value, paths);
  scrubCrmFacts(record, parsed.value, paths);
}

async function runWebhook(deps: PipelineDeps, endpoint: StoredEndpoint, request: Request, keepRaw: (bytes: Uint8Array) => void): Promise<Outcome> {
  const receivedAt = deps.now();
  const id = newDeliveryId(receivedAt);
  const { config } = endpoint;
  const url = new URL(request.url);
  const credentials = credentialLocations(config.verify);
  const contentType = request.headers.get('content-type');

  const headers = visibleHeaders(request.headers, credentials.headers);
  const record = emptyRecord(id, endpoint.id, receivedAt, request, url, credentials, headers);

  const finish = (status: ContentfulStatusCode, rowStatus: NewDelivery['status'], reason: string | null, message: string | null, body: Record<string, unknown>): Outcome => {
    record.status = rowStatus;
    record.reason = reason;
    record.message = message;
    record.finished_at = deps.now();
    record.duration_ms = record.finished_at - receivedAt;
    return { status, body, record };
  };
  // `reason` (the row's precise cause) defaults to the wire code; `senderMessage` to the row's message.
  const refuse = (status: ContentfulStatusCode, rowStatus: NewDelivery['status'], code: ErrorCode, message: string, more: { reason?: string; senderMessage?: string } = {}) =>
    finish(status, rowStatus, more.reason ?? code, message, errorBody(code, more.senderMessage ?? message, { deliveryId: id }));

  // 1. receive: the raw bytes, within the endpoint's limit
  const raw = await readRawBody(request, config.maxBodyBytes);
  if (!raw.ok) return refuse(413, 'invalid', 'payload_too_large', raw.message);
  keepRaw(raw.bytes);
  record.payload_bytes = raw.bytes.byteLength;
  record.payload = decodeText(raw.bytes) ?? `[${raw.bytes.byteLength} bytes, not UTF-8]`;

  // A platform's challenge proves the URL, never reaches the CRM, and is answered before verification:
  // the platform may not sign it, and echoing a number reveals nothing.
  if (config.handshake?.type === 'ocean-engine') {
    const handshake = oceanEngineHandshake(record.payload);
    if (handshake.kind === 'answered') return { ...finish(200, 'handshake', null, handshake.detail, {}), response: handshake.response };
  }

  // 2. verify: over the raw bytes, before anything is parsed
  const verified = await verifyRequest(
    config.verify,
    { method: request.method, url, headers: request.headers, body: raw.bytes as Uint8Array<ArrayBuffer>, now: receivedAt },
    deps.secrets,
  );
  if (!verified.ok) {
    const failure = verifyFailure(verified);
    return refuse(failure.status, failure.rowStatus, failure.code, verified.detail, { reason: verified.reason, senderMessage: failure.message });
  }
  // A secret that travels inside the body (Google's google_key) never reaches the log.
  record.payload = scrubSecrets(record.payload, verified.secrets);
  record.verified = 1;
  const replayText = decodeText(raw.bytes) === null ? null : record.payload;

  // 3. parse by content type (ids above 2^53 kept as exact strings)
  const parsed = await parseBody(raw.bytes, contentType);
  if (!parsed.ok) {
    const status = parsed.reason === 'unsupported_media_type' ? 415 : parsed.reason === 'payload_too_large' ? 413 : 400;
    return refuse(status, 'invalid', parsed.reason, parsed.message);
  }
  record.warnings.push(...parsed.warnings);

  // A filled honeypot: answered like a success so bots learn nothing, never sent to the CRM.
  if (config.honeypot && isFilled(parsed.value, config.honeypot)) {
    return finish(200, 'spam', 'honeypot', `honeypot field "${config.honeypot}" was filled`, { deliveryId: id, status: 'accepted' });
  }

  // A public form's Turnstile token, checked once with Cloudflare (tokens are single-use).
  if (config.turnstile) {
    const secret = await resolveSecrets([config.turnstile.secret], deps.secrets);
    if (!secret.ok) return refuse(503, 'failed', 'endpoint_misconfigured', secret.detail, { reason: 'secret_missing', senderMessage: MISCONFIGURED });
    const token = turnstileToken(parsed.value, config.turnstile.field);
    const checked = await verifyTurnstile(deps.fetch, deps.turnstileUrl, secret.values[0]!, token, request.headers.get('cf-connecting-ip'));
    if (!checked.ok) {
      const failure = turnstileFailure(checked);
      return refuse(failure.status, failure.rowStatus, failure.code, checked.detail, { reason: checked.reason, senderMessage: failure.message });
    }
  }

  // 4. map onto the CRM's update call
  let mapping: CompiledMapping;
  try {
    mapping = compiledMappingFor(`${endpoint.id}:${endpoint.revision}`, config);
  } catch (err) {
    return refuse(503, 'failed', 'endpoint_misconfigured', (err as Error).message, { senderMessage: MISCONFIGURED });
  }
  // the payload as the mapping sees it: a preset's normalised view (Typeform answers by ref, ...)
  const input = { body: viewOf(config.preset, parsed.value), headers, query: record.request_query };
  const skip = await shouldSkip(mapping, input);
  if (skip.warning) record.warnings.push(skip.warning);
  if (skip.skip) return finish(200, 'skipped', 'skip_when', `skipWhen matched: ${config.skipWhen}`, { deliveryId: id, status: 'skipped' });
  const mapped = await mapPayload(mapping, input);
  record.warnings.push(...mapped.warnings);
  if (!mapped.ok) {
    const status = mapped.reason === 'customer_unresolved' && mapped.kind === 'missing' ? 'unmatched' : 'invalid';
    return refuse(422, status, mapped.reason, mapped.message);
  }
  record.customer_id = mapped.customerId;

  // The stored payload is masked where the endpoint says so; what replay and the queue deliver from is the real
  // body (secrets scrubbed), kept beside it, so the CRM never receives a masked value.
  if (config.redact?.length) redactParsed(record, parsed.value, config.redact);
  keepForReplay(record, replayText, raw.bytes);

  // 5. dedupe: a repeat of a key seen within the window is answered, logged, and never delivered twice
  const key = await idempotencyKeyOf(mapping, config.idempotencyKey, input);
  if (key.warning) record.warnings.push(key.warning);
  const claim: Claim | null = key.value
    ? { endpointId: endpoint.id, key: key.value.slice(0, MAX_KEY_LENGTH), deliveryId: id, now: receivedAt, windowMs: config.idempotencyWindowDays * 86_400_000 }
    : null;
  record.idempotency_key = claim?.key ?? null;
  const duplicate = (first: Exclude<ClaimResult, { claimed: true }>): Outcome => {
    record.duplicate_of = first.firstId;
    record.raw_body = null;
    record.raw_base64 = 0;
    return {
      ...finish(200, 'duplicate', 'duplicate', `duplicate of ${first.firstId} (idempotency key ${claim!.key})`, {
        deliveryId: first.firstId,
        status: 'duplicate',
        firstStatus: first.firstStatus,
      }),
      redacted: true,
    };
  };
  const storageDown = (err: unknown): Outcome => {
    console.error('D1 unavailable: webhook refused with 503 so the sender retries', err);
    return { ...refuse(503, 'failed', 'storage_unavailable', 'The delivery could not be recorded; retry later'), persisted: true };
  };

  // 6a. queue: recorded before the 202, then only its id goes to the queue (D1 is the source of truth)
  if (config.delivery.mode === 'queue') {
    record.mode = 'queue';
    record.status = 'queued';
    record.next_attempt_at = receivedAt;
    record.duration_ms = deps.now() - receivedAt;
    let claimed: ClaimResult = { claimed: true };
    try {
      if (claim) {
        claimed = await claimWithRow(deps.db, claim, insertDeliveryIfClaimedStatement(deps.db, record, claim));
      } else {
        await insertDeliveryStatement(deps.db, record).run();
      }
    } catch (err) {
      return storageDown(err);
    }
    if (!claimed.claimed) return duplicate(claimed);
    await enqueue(deps.queue, id);
    return { status: 202, body: { deliveryId: id, status: 'queued' }, record, persisted: true, redacted: true };
  }

  // 6b. sync: the key is claimed before the CRM call, so concurrent repeats never make a second one. The row
  // goes in with the claim, in flight (`queued`, leased for the CRM timeout): if the Worker stops mid-call, the
  // row stays visible, the cron re-drive finishes it, and a repeat after the lease takes the claim over.
  if (claim) {
    const lease = receivedAt + deps.crm.timeoutMs + LEASE_MARGIN_MS;
    const inFlight: NewDelivery = { ...record, status: 'queued', next_attempt_at: receivedAt, lease_until: lease, finished_at: null, duration_ms: null };
    let claimed: ClaimResult;
    try {
      claimed = await claimWithRow(deps.db, claim, insertDeliveryIfClaimedStatement(deps.db, inFlight, claim));
    } catch (err) {
      return storageDown(err);
    }
    if (!claimed.claimed) return duplicate(claimed);
  }
  const release = claim ? { endpointId: endpoint.id, key: claim.key } : undefined;
  const delivered = await deliverToCrm(deps, targetOf(config), mapping, mapped);
  const attemptStarted = receivedAt;
  if (delivered.kind === 'unmatched' || delivered.kind === 'conflict') {
    // The customer cannot be told: 422 for the sender; replay after importing keys.
    const reason = delivered.kind === 'unmatched' ? 'customer_unresolved' : 'customer_conflict';
    return { ...refuse(422, delivered.kind, 'customer_unresolved', delivered.message, { reason }), release, redacted: true };
  }
  record.customer_id = delivered.customerId;
  if (delivered.result) recordCrmFacts(record, delivered.result);
  if (config.redact?.length) scrubCrmFacts(record, parsed.value, config.redact);
  if (delivered.kind === 'unchanged') {
    const outcome = finish(200, 'unchanged', 'unchanged', delivered.message, { deliveryId: id, status: 'unchanged', customerId: delivered.customerId });
    return { ...outcome, redacted: true };
  }
  record.attempts = 1;
  record.run_attempts = 1;
  if (delivered.kind === 'delivered') {
    for (const name of delivered.skipped) record.warnings.push(`fields.${name}: left out, the CRM already has a value`);
    const outcome = finish(200, 'delivered', null, null, { deliveryId: id, status: 'delivered', customerId: delivered.customerId });
    return { ...outcome, attempt: attemptFromCrm(id, 1, attemptStarted, delivered.result, 'delivered'), after: delivered.after, redacted: true };
  }
  const result = delivered.result;

  // A retryable failure can be handed to the queue: recorded as retrying first, then answered 202.
  if (isRetryable(result, config.delivery) && config.delivery.onFailure === 'retry' && maxAttempts(config.delivery) > 1) {
    const delay = retryDelaySeconds(config.delivery, 1, 'retryAfterSeconds' in result ? result.retryAfterSeconds : undefined);
    const outcome = finish(202, 'retrying', result.error, result.message, { deliveryId: id, status: 'retrying' });
    record.mode = 'queue';
    record.finished_at = null;
    record.next_attempt_at = receivedAt + (record.duration_ms ?? 0) + delay * 1000;
    const attempt = attemptFromCrm(id, 1, attemptStarted, result, 'retry', record.next_attempt_at);
    try {
      await deps.db.batch([insertDeliveryStatement(deps.db, record), insertAttemptStatement(deps.db, attempt)]);
      await enqueue(deps.queue, id, delay);
      return { ...outcome, persisted: true, redacted: true };
    } catch (err) {
      console.error('could not hand the delivery to the queue; answering the failure instead', err);
      record.mode = 'sync';
      record.next_attempt_at = null;
    }
  }
  const failed = refuse(crmFailureStatus(result), 'failed', result.error, result.message);
  return { ...failed, attempt: attemptFromCrm(id, 1, attemptStarted, result, 'failed'), release, redacted: true };
}

/** What the deliver step needs of an endpoint's configuration. */
export function targetOf(config: StoredEndpoint['config']) {
  return { moduleId: config.crm.moduleId, productLineId: config.crm.productLineId, update: config.update };
}

/** Copies a CRM call's facts onto the record. */
export function recordCrmFacts(
  record: Pick<NewDelivery, 'crm_request' | 'crm_http_status' | 'crm_code' | 'crm_message' | 'crm_response' | 'crm_duration_ms'>,
  result: CrmResult,
): void {
  record.crm_request = result.request;
  record.crm_http_status = result.httpStatus ?? null;
  record.crm_code = result.code ?? null;
  record.crm_message = result.message || null;
  record.crm_response = result.responseText ?? null;
  record.crm_duration_ms = result.durationMs;
}

/** Masks the endpoint's `redact` values where they reappear in the CRM request and answer. */
export function scrubCrmFacts(record: Pick<NewDelivery, 'crm_request' | 'crm_response' | 'crm_message'>, parsedBody: unknown, paths: string[]): void {
  const forms = sensitiveForms(redactPaths(parsedBody, paths).originals);
  if (record.crm_request) record.crm_request = scrubValue(record.crm_request, forms);
  if (record.crm_response) record.crm_response = scrubText(record.crm_response, forms);
  if (record.crm_message) record.crm_message = scrubText(record.crm_message, forms);
}

/** Whether a failed CRM call is worth another try under this endpoint's delivery settings. */
export function isRetryable(result: CrmResult, delivery: DeliveryConfig): boolean {
  if (result.ok) return false;
  return result.retryable || (result.code !== undefined && delivery.retryableCrmCodes.includes(result.code));
}

/** What goes on the queue: only the delivery's id (messages are at most 128 KB; D1 holds the rest). */
export type DeliveryMessage = { id: string };

/** Sends a delivery's id to the queue. A failed send is logged, not thrown: the row is due, and the cron re-drives it. */
export async function enqueue(queue: Queue<DeliveryMessage>, id: string, delaySeconds?: number): Promise<boolean> {
  try {
    await queue.send({ id }, delaySeconds ? { delaySeconds } : undefined);
    return true;
  } catch (err) {
    console.error(`queue send failed for ${id}; the cron re-drive will pick it up`, err);
    return false;
  }
}
