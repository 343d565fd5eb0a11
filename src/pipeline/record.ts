/**
 * The delivery row as the webhook path builds it, and the D1 writes a path lists: the row, the attempt, the
 * idempotency claim's release, keys learned from the CRM. Masking (`redact`) is applied here, once, at the edge
 * of storage: what the CRM is sent is always built from the real body.
 */
import { type Attempt, insertAttemptStatement } from '../deliveries/attempts';
import { releaseStatement } from '../deliveries/idempotency';
import { redactPaths, scrubText, sensitiveForms } from '../deliveries/redact';
import { insertDeliveryStatement, type NewDelivery } from '../deliveries/store';
import type { CrmRequest } from '../crm/client';
import { parseBody } from '../receive/body';
import { encodeBytes } from '../verify/crypto';
import { mapStrings } from '../shared/json';
import { ALWAYS_SECRET_HEADERS } from '../verify';

/** One D1 write of a path's outcome; `statementsOf` turns the list into one batch. */
export type Write =
  | { kind: 'row' }
  | { kind: 'attempt'; attempt: Attempt }
  | { kind: 'release'; endpointId: string; key: string }
  | { kind: 'learned'; statements: D1PreparedStatement[] };

/** The statements of a list of writes for this row, in order. */
export function statementsOf(db: D1Database, record: NewDelivery, writes: Write[]): D1PreparedStatement[] {
  return writes.flatMap((w) => statementsOfWrite(db, record, w));
}

function statementsOfWrite(db: D1Database, record: NewDelivery, w: Write): D1PreparedStatement[] {
  switch (w.kind) {
    case 'row':
      return [insertDeliveryStatement(db, record)];
    case 'attempt':
      return [insertAttemptStatement(db, w.attempt)];
    case 'release':
      return [releaseStatement(db, w.endpointId, w.key, record.id)];
    case 'learned':
      return w.statements;
    default: {
      const exhaustive: never = w;
      throw new Error(`unknown write ${JSON.stringify(exhaustive)}`);
    }
  }
}

const MAX_STORED_HEADER = 1024;

/** The request's headers without any that carry credentials: what expressions see as `$headers`. */
export function visibleHeaders(headers: Headers, secret: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers)
    if (!ALWAYS_SECRET_HEADERS.has(name) && !secret.includes(name)) out[name] = value;
  return out;
}

/** The same, with long values cut, for the log. */
function storedHeaders(visible: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(visible))
    out[name] = value.length > MAX_STORED_HEADER ? `${value.slice(0, MAX_STORED_HEADER)}…` : value;
  return out;
}

/** The query as an object (a repeated parameter becomes an array), without the parameters in `omit`. */
export function queryObject(url: URL, omit: string[] = []): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    if (omit.includes(key)) continue;
    const existing = out[key];
    out[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return out;
}

/** A new row for a request: what arrived (credentials left out), nothing decided yet. */
export function newRecord(
  id: string,
  endpointId: string,
  receivedAt: number,
  request: Request,
  query: Record<string, string | string[]>,
  headers: Record<string, string>,
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
    request_query: query,
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
    sequence_key: null,
    version: null,
    superseded_by: null,
    accepted_by: null,
    accepted_at: null,
    create_state: null,
    replays: 0,
  };
}

/** The stored bodies (payload, the body kept for replay) with each known secret value replaced by ***. */
export function scrubBodies(record: NewDelivery, secrets: string[]): void {
  if (record.payload !== null) record.payload = scrubSecrets(record.payload, secrets);
  if (record.raw_body !== null && record.raw_base64 !== 1) record.raw_body = scrubSecrets(record.raw_body, secrets);
}

/** The row's messages and CRM facts with each known secret value replaced by *** (a CRM may echo its credential). */
export function scrubFacts(record: NewDelivery, secrets: string[]): void {
  // a verified token sent again under another name (a second query parameter, a copy in a header) is still a secret
  record.request_headers = scrubDeep(record.request_headers, secrets);
  record.request_query = scrubDeep(record.request_query, secrets);
  for (const key of ['message', 'crm_message', 'crm_response'] as const) {
    const value = record[key];
    if (typeof value === 'string') record[key] = scrubSecrets(value, secrets);
  }
  if (record.crm_request) record.crm_request = scrubRequest(record.crm_request, secrets);
  record.warnings = record.warnings.map((w) => scrubSecrets(w, secrets));
}

/**
 * A CRM request as logged, with each secret replaced: checked on the body as sent (not serialised again), whole, before
 * the log keeps only its start (a secret cut in two there would slip past a check of the start).
 */
function scrubRequest(request: CrmRequest, secrets: string[]): CrmRequest {
  const escaped = secrets.map((s) => JSON.stringify(s).slice(1, -1)).filter((s) => s.length >= 4);
  const body = request.bodyText ?? JSON.stringify(request.body);
  const head = JSON.stringify([request.url, request.headers]);
  if (!escaped.some((s) => body.includes(s) || head.includes(s))) return request;
  const [url, headers] = JSON.parse(scrubSecrets(head, escaped)) as [string, Record<string, string>];
  return { ...request, url, headers, bodyText: scrubSecrets(body, escaped) };
}

/**
 * A JSON value with each secret replaced by *** wherever it appears, also inside longer strings (escaped as JSON writes
 * it).
 */
export function scrubJson<T>(value: T, secrets: string[]): T {
  const text = JSON.stringify(value);
  const escaped = secrets.map((s) => JSON.stringify(s).slice(1, -1));
  return escaped.some((s) => s.length >= 4 && text.includes(s))
    ? (JSON.parse(scrubSecrets(text, escaped)) as T)
    : value;
}

/** Any JSON-like value with each known secret replaced by *** in its strings (an answer's body, mapped fields). */
export function scrubDeep<T>(value: T, secrets: string[]): T {
  if (secrets.length === 0) return value;
  return mapStrings(value, (text) => scrubSecrets(text, secrets));
}

/** Replaces every occurrence of a secret in stored text with ***. */
export function scrubSecrets(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join('***');
  return out;
}

/**
 * What a verified delivery keeps for replay and queued delivery: nothing extra when the stored payload is the
 * body itself; the real body (secrets scrubbed) when the payload was masked; base64 when it is not UTF-8.
 */
export function keepForReplay(record: NewDelivery, replayText: string | null, bytes: Uint8Array): void {
  if (replayText === null) {
    record.raw_body = encodeBytes(bytes, 'base64');
    record.raw_base64 = 1;
  } else if (record.payload !== replayText) {
    record.raw_body = replayText;
  }
}

/**
 * Masks the stored payload from a body already parsed (re-serialised as JSON, the masked values replaced everywhere).
 */
export function maskParsed(record: NewDelivery, value: unknown, paths: string[]): void {
  const { value: masked, originals } = redactPaths(value, paths);
  record.payload = scrubText(JSON.stringify(masked), sensitiveForms(originals));
  record.warnings.push('payload stored redacted (as parsed JSON)');
}

/** What stands in the log for a body the endpoint redacts but that cannot be masked field by field. */
export const withheld = (bytes: Uint8Array, why: 'the request was not verified' | 'the body could not be parsed') =>
  `[${bytes.byteLength} bytes withheld: the endpoint redacts fields and ${why}]`;

/**
 * Masks a refused request's payload. One refused before verification is not worth parsing (anyone can send
 * one): it is withheld whole, at no cost. A verified one refused later is masked, for the operator to fix it.
 */
export async function maskRefused(record: NewDelivery, bytes: Uint8Array, paths: string[]): Promise<void> {
  if (record.verified === 0) {
    record.payload = withheld(bytes, 'the request was not verified');
    return;
  }
  const parsed = await parseBody(bytes, record.content_type);
  if (!parsed.ok) {
    record.payload = withheld(bytes, 'the body could not be parsed');
    return;
  }
  maskParsed(record, parsed.value, paths);
}
