/**
 * The webhook pipeline, one step per folder: receive -> verify -> map -> crm -> deliveries.
 * `processWebhook` runs the steps for one request and returns the answer for the sender together
 * with the delivery record; it never throws for anything a sender or the CRM can do.
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { updateCustomer, type CrmResult, type CrmSettings } from './crm/client';
import type { NewDelivery } from './deliveries/store';
import { newDeliveryId } from './deliveries/id';
import type { StoredEndpoint } from './endpoints/schema';
import { errorBody, type ErrorCode } from './http/errors';
import { compiledMappingFor } from './mapping/compile';
import { mapPayload } from './mapping/map';
import { decodeText, parseBody, readRawBody } from './receive/body';
import { redactPaths, scrubText, scrubValue, sensitiveForms } from './deliveries/redact';
import { credentialLocations, resolveSecrets, verifyRequest, type SecretResolver, type VerifyResult } from './verify';
import { metaHandshake, oceanEngineHandshake } from './verify/handshake';
import { turnstileToken, verifyTurnstile, type TurnstileResult } from './verify/turnstile';

export type PipelineDeps = {
  crm: CrmSettings;
  /** Cloudflare Turnstile's siteverify URL (a stand-in in tests). */
  turnstileUrl: string;
  fetch: typeof fetch;
  secrets: SecretResolver;
  now: () => number;
};

/** The answer for the sender and the row for the log; `response` when the answer is not the usual JSON (a handshake). */
export type Outcome = { status: ContentfulStatusCode; body: Record<string, unknown>; record: NewDelivery; response?: Response };

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
  if (paths?.length && rawBytes && outcome.record.status !== 'handshake') await redactRecord(outcome.record, rawBytes, contentType, paths);
  return outcome;
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
  const { value, originals } = redactPaths(parsed.value, paths);
  const forms = sensitiveForms(originals);
  record.payload = scrubText(JSON.stringify(value), forms);
  record.warnings.push('payload stored redacted (as parsed JSON)');
  if (record.crm_request) record.crm_request = scrubValue(record.crm_request, forms);
  if (record.crm_response) record.crm_response = scrubText(record.crm_response, forms);
  if (record.crm_message) record.crm_message = scrubText(record.crm_message, forms);
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

  const finish = (
    status: ContentfulStatusCode,
    rowStatus: NewDelivery['status'],
    reason: string | null,
    message: string | null,
    body: Record<string, unknown>,
  ): Outcome => {
    record.status = rowStatus;
    record.reason = reason;
    record.message = message;
    record.finished_at = deps.now();
    record.duration_ms = record.finished_at - receivedAt;
    return { status, body, record };
  };
  // `reason` (the row's precise cause) defaults to the wire code; `senderMessage` to the row's message.
  const refuse = (
    status: ContentfulStatusCode,
    rowStatus: NewDelivery['status'],
    code: ErrorCode,
    message: string,
    more: { reason?: string; senderMessage?: string } = {},
  ) => finish(status, rowStatus, more.reason ?? code, message, errorBody(code, more.senderMessage ?? message, { deliveryId: id }));

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
  const verified = await verifyRequest(config.verify, { method: request.method, url, headers: request.headers, body: raw.bytes as Uint8Array<ArrayBuffer>, now: receivedAt }, deps.secrets);
  if (!verified.ok) {
    const failure = verifyFailure(verified);
    return refuse(failure.status, failure.rowStatus, failure.code, verified.detail, { reason: verified.reason, senderMessage: failure.message });
  }
  // A secret that travels inside the body (Google's google_key) never reaches the log.
  record.payload = scrubSecrets(record.payload, verified.secrets);

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
  let mapping;
  try {
    mapping = compiledMappingFor(`${endpoint.id}:${endpoint.revision}`, config);
  } catch (err) {
    return refuse(503, 'failed', 'endpoint_misconfigured', (err as Error).message, { senderMessage: MISCONFIGURED });
  }
  const mapped = await mapPayload(mapping, { body: parsed.value, headers, query: record.request_query });
  record.warnings.push(...mapped.warnings);
  if (!mapped.ok) return refuse(422, 'invalid', mapped.reason, mapped.message);
  record.customer_id = mapped.customerId;

  // 5. deliver
  const crmBody = { mid: config.crm.moduleId, id: mapped.customerId, ...mapped.fields };
  const result = await updateCustomer(deps.fetch, deps.crm, config.crm.productLineId, crmBody);
  record.crm_request = result.request;
  record.crm_http_status = result.httpStatus ?? null;
  record.crm_code = result.code ?? null;
  record.crm_message = result.message || null;
  record.crm_response = result.responseText ?? null;
  record.crm_duration_ms = result.durationMs;
  if (!result.ok) return refuse(crmFailureStatus(result), 'failed', result.error, result.message);
  return finish(200, 'delivered', null, null, { deliveryId: id, status: 'delivered', customerId: mapped.customerId });
}
