import { type CrmRequest, crmRequestJson, type LoggedCrmRequest } from '../crm/client';
import { Where } from '../shared/sql';
import { parseJsonOr } from '../shared/json';
import { idFloor } from './id';
import { sentences } from '../shared/text';

/**
 * Where a delivery stands (README "Statuses"). `queued` and `retrying` are on their way; `held` waits for its
 * endpoint to be enabled again (then it is queued); every other status is terminal: `superseded` was not sent
 * because a newer delivery of its customer was applied first, `cancelled` was held by an endpoint since deleted.
 */
export type DeliveryStatus =
  | 'delivered'
  | 'unchanged'
  | 'failed'
  | 'rejected'
  | 'invalid'
  | 'unmatched'
  | 'conflict'
  | 'handshake'
  | 'spam'
  | 'skipped'
  | 'queued'
  | 'retrying'
  | 'dead'
  | 'duplicate'
  | 'held'
  | 'superseded'
  | 'cancelled';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = [
  'delivered',
  'unchanged',
  'failed',
  'rejected',
  'invalid',
  'unmatched',
  'conflict',
  'handshake',
  'spam',
  'skipped',
  'queued',
  'retrying',
  'dead',
  'duplicate',
  'held',
  'superseded',
  'cancelled',
];
export const IN_FLIGHT: readonly DeliveryStatus[] = ['queued', 'retrying'];
/**
 * The statuses someone looks for (the console's failure lists, held counts, a status filter): the only rows with
 * an entry in the partial index `deliveries_needing_attention` (migrations/0006_fewer_rows_written.sql). A query on
 * these statuses adds `AND ${ATTENTION_SQL}` so that SQLite uses that index; the text must match the index's predicate
 * exactly. Deliveries on their way (queued, retrying) are found through `deliveries_due` instead: they have a next
 * attempt.
 */
export const ATTENTION_STATUSES: readonly DeliveryStatus[] = [
  'failed',
  'rejected',
  'invalid',
  'unmatched',
  'conflict',
  'dead',
  'held',
];
export const ATTENTION_SQL = `status IN (${ATTENTION_STATUSES.map((s) => `'${s}'`).join(', ')})`;

/** `status = ?`, with the terms that let SQLite use the status's partial index (see ATTENTION_SQL). */
export function statusSql(status: string): string {
  if ((ATTENTION_STATUSES as readonly string[]).includes(status)) return `status = ? AND ${ATTENTION_SQL}`;
  if (status === 'queued' || status === 'retrying') return 'status = ? AND next_attempt_at IS NOT NULL';
  return 'status = ?';
}

export type CreateState = 'started' | 'unconfirmed' | 'absent' | 'created';

/**
 * Why a webhook is refused for its credential (missing, wrong, expired): such a row keeps its body for review, and
 * an admin may accept it (REVIEWABLE_SQL in lifecycle.ts).
 */
export const CREDENTIAL_REASONS = [
  'missing_credential',
  'malformed_credential',
  'credential_mismatch',
  'malformed_signature',
  'signature_mismatch',
  'stale_timestamp',
  'malformed_timestamp',
] as const;

/** The one review rule for a row already read: refused for its credential, its body kept, not accepted yet. */
export const isReviewable = (
  row: Pick<DeliveryRow, 'verified' | 'raw_body' | 'payload' | 'status' | 'reason' | 'accepted_at'>,
) =>
  row.status === 'rejected' &&
  row.verified === 0 &&
  row.accepted_at === null &&
  (row.raw_body !== null || row.payload !== null) &&
  (CREDENTIAL_REASONS as readonly (string | null)[]).includes(row.reason);

/** The one replay rule (REPLAYABLE_SQL in lifecycle.ts) for a row already read. */
export const isReplayable = (row: Pick<DeliveryRow, 'verified' | 'raw_body' | 'payload' | 'status'>) =>
  row.verified === 1 &&
  (row.raw_body !== null || row.payload !== null) &&
  !IN_FLIGHT.includes(row.status) &&
  row.status !== 'duplicate' &&
  row.status !== 'held';

/** IN_FLIGHT as an SQL list, for the queries that pick deliveries still to be attempted. */
export const IN_FLIGHT_SQL = `(${IN_FLIGHT.map((s) => `'${s}'`).join(', ')})`;

/** One delivery as the admin API shows it. */
export type Delivery = {
  id: string;
  endpointId: string;
  status: DeliveryStatus;
  reason: string | null;
  message: string | null;
  receivedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  customerId: string | null;
  warnings: string[];
  mode: 'sync' | 'queue';
  attempts: number;
  nextAttemptAt: string | null;
  idempotencyKey: string | null;
  duplicateOf: string | null;
  replays: number;
  /** The sender's version of the record, and the delivery that superseded this one. */
  version: string | null;
  supersededBy: string | null;
  /** Whether the stored body can still be replayed (verified, and not yet removed by retention). */
  replayable: boolean;
  /** Refused for its credential with its body kept: an admin may review and accept it. */
  reviewable: boolean;
  /** Who accepted a refused webhook, and when (then it ran as if verified). */
  acceptedBy: string | null;
  acceptedAt: string | null;
  /**
   * A create call whose outcome is unknown: a person says whether the CRM has the customer (it was created: its id; it
   * was not).
   */
  createUnconfirmed: boolean;
  request: {
    method: string;
    query: Record<string, string | string[]>;
    headers: Record<string, string>;
    contentType: string | null;
    body: string | null;
    bytes: number | null;
  };
  crm: {
    request: LoggedCrmRequest | null;
    httpStatus: number | null;
    code: number | null;
    message: string | null;
    response: unknown;
    durationMs: number | null;
  };
};

/** The summary the list shows (no bodies). */
export type DeliverySummary = Omit<Delivery, 'request' | 'crm'> & {
  crm: Pick<Delivery['crm'], 'httpStatus' | 'code' | 'message' | 'durationMs'>;
};

type Row = {
  id: string;
  endpoint_id: string;
  status: DeliveryStatus;
  reason: string | null;
  message: string | null;
  received_at: number;
  finished_at: number | null;
  duration_ms: number | null;
  customer_id: string | null;
  request_method: string;
  request_query: string | null;
  request_headers: string | null;
  content_type: string | null;
  payload: string | null;
  payload_bytes: number | null;
  crm_request: string | null;
  crm_http_status: number | null;
  crm_code: number | null;
  crm_message: string | null;
  crm_response: string | null;
  crm_duration_ms: number | null;
  warnings: string | null;
  mode: 'sync' | 'queue';
  verified: number;
  raw_body: string | null;
  raw_base64: number;
  attempts: number;
  run_attempts: number;
  next_attempt_at: number | null;
  lease_until: number | null;
  idempotency_key: string | null;
  duplicate_of: string | null;
  replays: number;
  /** The customer sequence it waits in (src/coordination/), once the customer is known. */
  sequence_key: string | null;
  /** The sender's version of the record (the endpoint's `version`), if any. */
  version: string | null;
  /** The delivery that superseded it (status `superseded`; a replay by hand sends it all the same). */
  superseded_by: string | null;
  accepted_by: string | null;
  accepted_at: number | null;
  /** Where a create call stands (migration 0009): started, unconfirmed, absent (a person said so), created. */
  create_state: CreateState | null;
};
export type DeliveryRow = Row;

/** A delivery record ready to insert. */
export type NewDelivery = Omit<Row, 'request_query' | 'request_headers' | 'crm_request' | 'warnings'> & {
  request_query: Record<string, string | string[]>;
  request_headers: Record<string, string>;
  crm_request: CrmRequest | null;
  warnings: string[];
};

const COLUMNS = [
  'id',
  'endpoint_id',
  'status',
  'reason',
  'message',
  'received_at',
  'finished_at',
  'duration_ms',
  'customer_id',
  'request_method',
  'request_query',
  'request_headers',
  'content_type',
  'payload',
  'payload_bytes',
  'crm_request',
  'crm_http_status',
  'crm_code',
  'crm_message',
  'crm_response',
  'crm_duration_ms',
  'warnings',
  'mode',
  'verified',
  'raw_body',
  'raw_base64',
  'attempts',
  'run_attempts',
  'next_attempt_at',
  'lease_until',
  'idempotency_key',
  'duplicate_of',
  'replays',
  'sequence_key',
  'version',
  'superseded_by',
  'accepted_by',
  'accepted_at',
  'create_state',
] as const;

// OR REPLACE: a sync delivery with an idempotency key wrote its row in flight with the claim; its final row replaces it
const INSERT = `INSERT OR REPLACE INTO deliveries (${COLUMNS.join(', ')})
  VALUES (${COLUMNS.map(() => '?').join(', ')})`;

/** The statement inserting one delivery record. */
export function insertDeliveryStatement(db: D1Database, record: NewDelivery): D1PreparedStatement {
  const row = rowOf(record);
  return db.prepare(INSERT).bind(...COLUMNS.map((c) => row[c] ?? null));
}

function rowOf(record: NewDelivery): Row {
  const row: Row = {
    ...record,
    request_query: JSON.stringify(record.request_query),
    request_headers: JSON.stringify(record.request_headers),
    crm_request: record.crm_request ? crmRequestJson(record.crm_request) : null,
    warnings: null,
  };
  const warnings = [...record.warnings];
  const shortened = fitToRowLimit(row);
  if (shortened) warnings.push(shortened);
  row.warnings = warnings.length > 0 ? JSON.stringify(warnings) : null;
  return row;
}

/**
 * Production D1 refuses a row over 2,000,000 bytes. A body near 1 MiB kept twice (the redacted payload shown, and
 * the real body kept for replay) passes it: the shown payload is then cut to fit, never the body kept for replay.
 */
export const MAX_ROW_BYTES = 2_000_000;
/** Room kept for the other columns, the warning this adds, and SQLite's own record header. */
const ROW_MARGIN = 64 * 1024;
const utf8Bytes = (text: string | null | undefined) =>
  typeof text === 'string' ? new TextEncoder().encode(text).byteLength : 0;

function fitToRowLimit(row: Row): string | null {
  if (row.raw_body === null || typeof row.payload !== 'string') return null;
  let total = 0;
  for (const value of Object.values(row)) total += typeof value === 'string' ? utf8Bytes(value) : 8;
  const over = total - (MAX_ROW_BYTES - ROW_MARGIN);
  if (over <= 0) return null;
  const bytes = new TextEncoder().encode(row.payload);
  const keep = Math.max(0, bytes.byteLength - over);
  // cut on a character boundary: drop a partial UTF-8 sequence at the end
  row.payload = `${new TextDecoder().decode(bytes.subarray(0, keep)).replace(/\uFFFD+$/, '')}…`;
  return sentences(
    `payload shown shortened to its first ${keep} bytes (of ${bytes.byteLength}):`,
    `the row must stay under D1's ${MAX_ROW_BYTES}-byte limit; the body kept for replay is whole`,
  );
}

/**
 * Inserts a delivery only if it holds the idempotency claim (in the claim's batch: the claim and the row land
 * together).
 */
export function insertDeliveryIfClaimedStatement(
  db: D1Database,
  record: NewDelivery,
  claim: { endpointId: string; key: string },
): D1PreparedStatement {
  const row = rowOf(record);
  return db
    .prepare(
      `INSERT INTO deliveries (${COLUMNS.join(', ')}) SELECT ${COLUMNS.map(() => '?').join(', ')}
       WHERE EXISTS (SELECT 1 FROM idempotency WHERE endpoint_id = ? AND key = ? AND delivery_id = ?)`,
    )
    .bind(...COLUMNS.map((c) => row[c] ?? null), claim.endpointId, claim.key, record.id);
}

/** Inserts one delivery (one D1 query). */
export async function insertDelivery(db: D1Database, record: NewDelivery): Promise<void> {
  await insertDeliveryStatement(db, record).run();
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toSummary(row: Row): DeliverySummary {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    status: row.status,
    reason: row.reason,
    message: row.message,
    receivedAt: iso(row.received_at)!,
    finishedAt: iso(row.finished_at),
    durationMs: row.duration_ms,
    customerId: row.customer_id,
    warnings: parseJsonOr(row.warnings, []),
    mode: row.mode,
    attempts: row.attempts,
    nextAttemptAt: iso(row.next_attempt_at),
    idempotencyKey: row.idempotency_key,
    duplicateOf: row.duplicate_of,
    replays: row.replays,
    version: row.version,
    supersededBy: row.superseded_by,
    replayable: isReplayable(row),
    reviewable: isReviewable(row),
    acceptedBy: row.accepted_by,
    acceptedAt: iso(row.accepted_at),
    createUnconfirmed: row.create_state === 'unconfirmed' && row.status === 'failed',
    crm: {
      httpStatus: row.crm_http_status,
      code: row.crm_code,
      message: row.crm_message,
      durationMs: row.crm_duration_ms,
    },
  };
}

function toDelivery(row: Row): Delivery {
  const summary = toSummary(row);
  return {
    ...summary,
    request: {
      method: row.request_method,
      query: parseJsonOr(row.request_query, {}),
      headers: parseJsonOr(row.request_headers, {}),
      contentType: row.content_type,
      body: row.payload,
      bytes: row.payload_bytes,
    },
    crm: {
      ...summary.crm,
      request: parseJsonOr(row.crm_request, null),
      response: parseJsonOr(row.crm_response, row.crm_response),
    },
  };
}

/** One delivery's row as stored (bodies included: replay and preview read them); `null` when absent. */
export function getDeliveryRow(db: D1Database, id: string): Promise<DeliveryRow | null> {
  return db.prepare('SELECT * FROM deliveries WHERE id = ?').bind(id).first<DeliveryRow>();
}

/** One whole delivery record; `null` when absent. */
export async function getDelivery(db: D1Database, id: string): Promise<Delivery | null> {
  const row = await getDeliveryRow(db, id);
  return row ? toDelivery(row) : null;
}

export type DeliveryFilter = {
  endpoint?: string;
  /** One status, or `attention`: every status that needs a person (ATTENTION_STATUSES but held). */
  status?: DeliveryStatus | 'attention';
  /** Received at or after / before these times (ms since epoch). */
  since?: number;
  until?: number;
  /** Free text: a delivery id or customer id exactly, or text in the stored payload (a phone, a name, a lead id). */
  q?: string;
  limit: number;
  cursor?: string;
};

// The list carries no bodies; `payload IS NOT NULL` stands in for the payload to tell what can be replayed.
const SUMMARY_COLUMNS = [
  ...COLUMNS.filter(
    (c) => !['request_query', 'request_headers', 'payload', 'raw_body', 'crm_request', 'crm_response'].includes(c),
  ),
  "CASE WHEN payload IS NULL THEN NULL ELSE '' END AS payload",
  "CASE WHEN raw_body IS NULL THEN NULL ELSE '' END AS raw_body",
].join(', ');

/** Deliveries newest first; `nextCursor` is the id to pass as `cursor` for the next page, or null at the end. */
export async function listDeliveries(
  db: D1Database,
  filter: DeliveryFilter,
): Promise<{ deliveries: DeliverySummary[]; nextCursor: string | null }> {
  const where = new Where();
  if (filter.endpoint) where.and('endpoint_id = ?', filter.endpoint);
  if (filter.status === 'attention') where.and(`status <> 'held' AND ${ATTENTION_SQL}`);
  else if (filter.status) where.and(statusSql(filter.status), filter.status);
  if (filter.since !== undefined) where.and('id >= ?', idFloor(filter.since));
  if (filter.until !== undefined) where.and('id < ?', idFloor(filter.until));
  if (filter.q) {
    const like = `%${filter.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
    where.and(
      "(id = ? OR customer_id = ? OR idempotency_key = ? OR payload LIKE ? ESCAPE '\\')",
      filter.q,
      filter.q,
      filter.q,
      like,
    );
  }
  if (filter.cursor) where.and('id < ?', filter.cursor);
  // deliveries on their way are few: their index beats walking the whole log newest first (SQLite has no statistics to
  // know)
  const onTheirWay = !filter.endpoint && (filter.status === 'queued' || filter.status === 'retrying');
  const index = onTheirWay ? 'INDEXED BY deliveries_due ' : '';
  const sql = `SELECT ${SUMMARY_COLUMNS} FROM deliveries ${index}${where.sql} ORDER BY id DESC LIMIT ?`;
  const { results } = await db
    .prepare(sql)
    .bind(...where.params, filter.limit + 1)
    .all<Row>();
  const page = results.slice(0, filter.limit);
  return {
    deliveries: page.map(toSummary),
    nextCursor: results.length > filter.limit ? page[page.length - 1]!.id : null,
  };
}

export type StoredPayload = { id: string; endpointId: string; payload: string | null; contentType: string | null };

/** The stored (masked) payloads of some deliveries: what the console reads its lead names from. */
export async function storedPayloads(db: D1Database, ids: string[]): Promise<StoredPayload[]> {
  if (ids.length === 0) return [];
  const { results } = await db
    .prepare(
      `SELECT id, endpoint_id, payload, content_type FROM deliveries WHERE id IN (${ids.map(() => '?').join(',')})`,
    )
    .bind(...ids)
    .all<{ id: string; endpoint_id: string; payload: string | null; content_type: string | null }>();
  return results.map((r) => ({ id: r.id, endpointId: r.endpoint_id, payload: r.payload, contentType: r.content_type }));
}

/**
 * The CRM's successful answers to calls into one module, oldest first, after the delivery `afterId` (or the newest
 * `limit` when none): what the field catalogue learns field keys and option names from.
 */
export async function crmAnswersAfter(
  db: D1Database,
  moduleId: string,
  afterId: string,
  limit: number,
): Promise<{ id: string; answer: string }[]> {
  const { results } = await db
    .prepare(
      `SELECT id, crm_response FROM deliveries WHERE id > ? AND crm_code = 200 AND crm_response IS NOT NULL
       AND json_valid(crm_request) AND json_extract(crm_request, '$.body.mid') = ?
       ORDER BY id ${afterId ? 'ASC' : 'DESC'} LIMIT ?`,
    )
    .bind(afterId, moduleId, limit)
    .all<{ id: string; crm_response: string }>();
  return results.map((r) => ({ id: r.id, answer: r.crm_response })).sort((a, b) => (a.id < b.id ? -1 : 1));
}

// ---- what the cron's watch reads (src/watch/): failures by kind, an endpoint's latest, a day's counts

/** The statuses that make a problem: every one that needs a person except `held` (a pause is not a failure). */
export const PROBLEM_STATUSES = ATTENTION_STATUSES.filter((s) => s !== 'held');

export type FailureGroup = {
  endpoint_id: string;
  status: string;
  reason: string;
  n: number;
  first_id: string;
  last_id: string;
  first_at: number;
  last_at: number;
};

/** The deliveries received since `sinceId` that ended as a problem, grouped by endpoint, status and reason. */
export async function failureGroupsSince(db: D1Database, sinceId: string): Promise<FailureGroup[]> {
  const { results } = await db
    .prepare(
      `SELECT endpoint_id, status, COALESCE(reason, '') AS reason, COUNT(*) AS n,
         MIN(id) AS first_id, MAX(id) AS last_id, MIN(received_at) AS first_at, MAX(received_at) AS last_at
       FROM deliveries WHERE ${ATTENTION_SQL} AND status <> 'held' AND id >= ?
       GROUP BY endpoint_id, status, COALESCE(reason, '')`,
    )
    .bind(sinceId)
    .all<FailureGroup>();
  return results;
}

/** How many deliveries of one endpoint ended with this status and reason, with `fromId <= id < toId` (no end: now). */
export async function countFailures(
  db: D1Database,
  kind: { endpointId: string; status: string; reason: string },
  fromId: string,
  toId?: string,
): Promise<{
  n: number;
  first_id: string | null;
  last_id: string | null;
  first_at: number | null;
  last_at: number | null;
}> {
  const row = await db
    .prepare(
      `SELECT COUNT(*) AS n,
         MIN(id) AS first_id, MAX(id) AS last_id, MIN(received_at) AS first_at, MAX(received_at) AS last_at
       FROM deliveries WHERE endpoint_id = ? AND status = ? AND COALESCE(reason, '') = ? AND id >= ?
         AND (?5 IS NULL OR id < ?5)`,
    )
    .bind(kind.endpointId, kind.status, kind.reason, fromId, toId ?? null)
    .first<{
      n: number;
      first_id: string | null;
      last_id: string | null;
      first_at: number | null;
      last_at: number | null;
    }>();
  return row ?? { n: 0, first_id: null, last_id: null, first_at: null, last_at: null };
}

/** An endpoint's newest deliveries (status and time only), through its index. */
export async function latestOf(
  db: D1Database,
  endpointId: string,
  limit: number,
): Promise<{ id: string; status: DeliveryStatus; received_at: number }[]> {
  const { results } = await db
    .prepare('SELECT id, status, received_at FROM deliveries WHERE endpoint_id = ? ORDER BY id DESC LIMIT ?')
    .bind(endpointId, limit)
    .all<{ id: string; status: DeliveryStatus; received_at: number }>();
  return results;
}

/** Deliveries received in [fromId, toId), by endpoint and status, with how many created their customer. */
export async function countsBetween(
  db: D1Database,
  fromId: string,
  toId: string,
): Promise<{ endpoint_id: string; status: DeliveryStatus; n: number; created: number }[]> {
  const { results } = await db
    .prepare(
      `SELECT endpoint_id, status, COUNT(*) AS n, SUM(CASE WHEN create_state = 'created' THEN 1 ELSE 0 END) AS created
       FROM deliveries WHERE id >= ? AND id < ? GROUP BY endpoint_id, status`,
    )
    .bind(fromId, toId)
    .all<{ endpoint_id: string; status: DeliveryStatus; n: number; created: number }>();
  return results;
}

/** Upper bounds (ms) of the CRM answer-time buckets the trends keep; a last bucket holds the rest. */
export const TREND_EDGES_MS = [50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10_000] as const;
const BUCKET_WHENS = TREND_EDGES_MS.map((e, i) => `WHEN crm_duration_ms < ${e} THEN ${i}`).join(' ');
const BUCKET_SQL = `CASE WHEN crm_duration_ms IS NULL THEN -1 ${BUCKET_WHENS} ELSE ${TREND_EDGES_MS.length} END`;

export type HourCount = { endpoint_id: string; hour: number; status: DeliveryStatus; bucket: number; n: number };

/**
 * Deliveries received since `sinceId`, counted by endpoint, UTC hour, status and CRM answer-time bucket (-1: no call).
 */
export async function hourlyCountsSince(db: D1Database, sinceId: string): Promise<HourCount[]> {
  const { results } = await db
    .prepare(
      `SELECT endpoint_id, (received_at / 3600000) * 3600000 AS hour, status, ${BUCKET_SQL} AS bucket, COUNT(*) AS n
       FROM deliveries WHERE id >= ? GROUP BY endpoint_id, hour, status, bucket`,
    )
    .bind(sinceId)
    .all<HourCount>();
  return results;
}
