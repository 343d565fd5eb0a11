/**
 * External keys -> CRM customer id, per module: filled by an admin import and learned from every
 * successful CRM answer; looked up when a webhook carries no CRM id.
 */
import * as z from '../shared/zod';
import { Where } from '../shared/sql';
import { isCanonicalId } from '../shared/ids';

export const KeyName = z
  .string()
  .check(
    z.regex(/^[a-z][a-z0-9_]{0,63}$/, 'a key name is lower case letters, digits and _ (phone, clue_id, email, ...)'),
  );

const MAX_VALUE = 256;

/**
 * A key value as stored and looked up: `phone` keeps digits only and drops a leading +86/0086;
 * `email` is trimmed and lower-cased; any other key is trimmed, case kept. `null` when nothing is left.
 */
export function normaliseKey(key: string, value: unknown, max = MAX_VALUE): string | null {
  const text =
    typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'bigint' ? String(value) : null;
  if (text === null) return null;
  let out: string;
  if (key === 'phone') {
    out = text.replace(/\D/g, '');
    if (/^(0086|86)\d{11}$/.test(out)) out = out.replace(/^(0086|86)/, '');
  } else if (key === 'email') out = text.trim().toLowerCase();
  else out = text.trim();
  return out.length === 0 || out.length > max ? null : out;
}

export type KeyRow = { customer_id: string; key: string; value: string };

// ---- import --------------------------------------------------------------------

export type ImportResult = {
  received: number;
  added: number;
  updated: number;
  unchanged: number;
  refused: number;
  /** Why rows were refused, counted; `examples` shows the first few with their row number and reason code. */
  reasons: Record<string, number>;
  examples: RefusedRow[];
};

/** Why an import row is not stored (codes for the console's sentences; `reason` is the English one). */
export const IMPORT_REFUSALS = {
  not_object: 'not an object',
  bad_customer_id: 'customer_id is not a decimal id',
  bad_key: 'key is not a valid key name',
  empty_value: 'value is empty (after normalising)',
  value_too_long: `value is longer than ${MAX_VALUE} characters`,
  replaced: 'replaced by a later row with the same key and value (the later row wins)',
} as const;
export type ImportRefusal = keyof typeof IMPORT_REFUSALS;
/** `by`: for `replaced`, the later row that won. */
export type RefusedRow = { row: number; code: ImportRefusal; reason: string; by?: number };

/** Splits CSV text (RFC 4180: quotes, doubled quotes, CRLF) into rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // Excel's BOM
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (quoted) {
      if (ch === '"') {
        if (input[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && input[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0]!.trim() === ''));
}

/** Rows from a CSV with the header `customer_id,key,value` (any order); `null` when the header is wrong. */
export function csvRows(text: string): unknown[] | null {
  const [header, ...rows] = parseCsv(text);
  if (!header) return [];
  const names = header.map((h) => h.trim().toLowerCase());
  const at = { customer_id: names.indexOf('customer_id'), key: names.indexOf('key'), value: names.indexOf('value') };
  if (at.customer_id < 0 || at.key < 0 || at.value < 0) return null;
  return rows.map((r) => ({ customer_id: r[at.customer_id], key: r[at.key], value: r[at.value] }));
}

/** Validates and normalises import rows; the last of two rows for the same key wins. */
/** One import row as stored, or why it is refused. */
function checkKeyRow(raw: unknown): KeyRow | ImportRefusal {
  if (!raw || typeof raw !== 'object') return 'not_object';
  const r = raw as Record<string, unknown>;
  const customerId =
    typeof r.customer_id === 'number' && Number.isSafeInteger(r.customer_id) ? String(r.customer_id) : r.customer_id;
  if (typeof customerId !== 'string' || !isCanonicalId(customerId.trim())) return 'bad_customer_id';
  const key = KeyName.safeParse(typeof r.key === 'string' ? r.key.trim() : r.key);
  if (!key.success) return 'bad_key';
  const value = normaliseKey(key.data, r.value);
  if (value === null) return normaliseKey(key.data, r.value, Infinity) === null ? 'empty_value' : 'value_too_long';
  return { customer_id: customerId.trim(), key: key.data, value };
}

const refusal = (row: number, code: ImportRefusal, by?: number): RefusedRow => ({
  row,
  code,
  reason: IMPORT_REFUSALS[code],
  ...(by ? { by } : {}),
});

/**
 * The rows to store and the refused ones. Of two rows with the same key and value the later wins: the refusal is
 * reported on the earlier row (the one not stored), naming the row that replaced it.
 */
export function prepareRows(rows: unknown[]): { rows: KeyRow[]; refused: RefusedRow[] } {
  const refused: RefusedRow[] = [];
  const byKey = new Map<string, { row: KeyRow; index: number }>();
  for (const [i, raw] of rows.entries()) {
    const checked = checkKeyRow(raw);
    if (typeof checked === 'string') {
      refused.push(refusal(i + 1, checked));
      continue;
    }
    const id = `${checked.key}\u0000${checked.value}`;
    const earlier = byKey.get(id);
    if (earlier) refused.push(refusal(earlier.index + 1, 'replaced', i + 1));
    byKey.set(id, { row: checked, index: i });
  }
  refused.sort((a, b) => a.row - b.row);
  return { rows: [...byKey.values()].map((e) => e.row), refused };
}

/** Rows per statement: one JSON parameter (D1 allows 100 bound parameters, and 2 MB per value). */
export const IMPORT_CHUNK = 10_000;
/** The most JSON one statement carries: 10,000 rows of long values would pass D1's 2 MB per value. */
const CHUNK_BYTES = 1_000_000;

/** The import's rows as JSON parameters, each at most IMPORT_CHUNK rows and CHUNK_BYTES (UTF-8 counted). */
function chunksOf(rows: KeyRow[]): { json: string; count: number }[] {
  const chunks: { json: string; count: number }[] = [];
  let parts: string[] = [];
  let bytes = 2;
  const close = () => {
    if (parts.length > 0) chunks.push({ json: `[${parts.join(',')}]`, count: parts.length });
    parts = [];
    bytes = 2;
  };
  for (const r of rows) {
    const part = JSON.stringify([r.key, r.value, r.customer_id]);
    const size = new TextEncoder().encode(part).byteLength + 1;
    if (parts.length >= IMPORT_CHUNK || bytes + size > CHUNK_BYTES) close();
    parts.push(part);
    bytes += size;
  }
  close();
  return chunks;
}

/**
 * Upserts prepared rows, a chunk (IMPORT_CHUNK rows, at most CHUNK_BYTES) per batch of two statements (count what
 * exists, then upsert from `json_each`): 100,000 rows are 10 batches, 20 queries.
 */
export async function importKeys(
  db: D1Database,
  moduleId: string,
  rows: KeyRow[],
  source: 'import' | 'learned',
  now: number,
) {
  let added = 0;
  let updated = 0;
  let existing = 0;
  for (const { json, count: size } of chunksOf(rows)) {
    const [count, upsert] = await db.batch([
      db
        .prepare(
          `SELECT COUNT(*) AS n FROM json_each(?2) j CROSS JOIN customer_keys k
           ON k.module_id = ?1 AND k.key = json_extract(j.value, '$[0]') AND k.value = json_extract(j.value, '$[1]')`,
        )
        .bind(moduleId, json),
      upsertStatement(db, moduleId, json, source, now),
    ]);
    const found = (count!.results[0] as { n: number }).n;
    const changes = upsert!.meta.changes;
    existing += found;
    added += size - found;
    updated += changes - (size - found);
  }
  return { added, updated, unchanged: existing - updated };
}

const EXAMPLES = 20;

/** An import as the admin API and the console report it: counts, refusals by reason, and the first refused rows. */
export async function importCustomerKeys(
  db: D1Database,
  moduleId: string,
  rows: unknown[],
  now: number,
): Promise<ImportResult> {
  const prepared = prepareRows(rows);
  const counts = await importKeys(db, moduleId, prepared.rows, 'import', now);
  const reasons: Record<string, number> = {};
  for (const r of prepared.refused) reasons[r.reason] = (reasons[r.reason] ?? 0) + 1;
  return {
    received: rows.length,
    ...counts,
    refused: prepared.refused.length,
    reasons,
    examples: prepared.refused.slice(0, EXAMPLES),
  };
}

function upsertStatement(
  db: D1Database,
  moduleId: string,
  json: string,
  source: string,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO customer_keys (module_id, key, value, customer_id, source, updated_at)
       SELECT ?1, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]'), ?3, ?4
       FROM json_each(?2) j WHERE 1
       ON CONFLICT (module_id, key, value) DO UPDATE
       SET customer_id = excluded.customer_id, source = excluded.source, updated_at = excluded.updated_at
       WHERE customer_keys.customer_id <> excluded.customer_id`,
    )
    .bind(moduleId, json, source, now);
}

/** The statement that learns keys from a CRM answer's `item` (its phone and the ad platform's lead id). */
export function learnStatement(
  db: D1Database,
  moduleId: string,
  item: Record<string, unknown> | null,
  now: number,
): D1PreparedStatement | null {
  if (!item || typeof item.id !== 'string' || !isCanonicalId(item.id)) return null;
  const rows: [string, string, string][] = [];
  const phone = normaliseKey('phone', item.phone);
  if (phone) rows.push(['phone', phone, item.id]);
  const clue = normaliseKey('clue_id', item.clue_id_unique);
  if (clue) rows.push(['clue_id', clue, item.id]);
  if (rows.length === 0) return null;
  // The CRM's newest answer is what it says now: it replaces whatever the key pointed to.
  return upsertStatement(db, moduleId, JSON.stringify(rows), 'learned', now);
}

// ---- lookup ------------------------------------------------------------------------

export type Lookup = { key: string; value: string };

/**
 * Every stored match of the given keys, in one query. (CROSS JOIN keeps json_each as the outer loop,
 * so each key is one primary-key lookup rather than a scan of the table per key.)
 */
export async function findKeys(db: D1Database, moduleId: string, lookups: Lookup[]): Promise<KeyRow[]> {
  if (lookups.length === 0) return [];
  const { results } = await db
    .prepare(
      `SELECT k.key AS key, k.value AS value, k.customer_id AS customer_id FROM json_each(?2) j
       CROSS JOIN customer_keys k
       ON k.module_id = ?1 AND k.key = json_extract(j.value, '$[0]') AND k.value = json_extract(j.value, '$[1]')`,
    )
    .bind(moduleId, JSON.stringify(lookups.map((l) => [l.key, l.value])))
    .all<KeyRow>();
  return results;
}

export async function listKeys(
  db: D1Database,
  moduleId: string | undefined,
  filter: { key?: string; value?: string; customerId?: string },
  limit = 100,
) {
  const where = new Where();
  if (moduleId) where.and('module_id = ?', moduleId);
  if (filter.key) where.and('key = ?', filter.key);
  if (filter.key && filter.value !== undefined) where.and('value = ?', normaliseKey(filter.key, filter.value) ?? '');
  if (filter.customerId) where.and('customer_id = ?', filter.customerId);
  const { results } = await db
    .prepare(
      `SELECT module_id, key, value, customer_id, source, updated_at FROM customer_keys ${where.sql}
       ORDER BY updated_at DESC LIMIT ?`,
    )
    .bind(...where.params, limit)
    .all<{ module_id: string; key: string; value: string; customer_id: string; source: string; updated_at: number }>();
  return results.map((r) => ({
    moduleId: r.module_id,
    key: r.key,
    value: r.value,
    customerId: r.customer_id,
    source: r.source,
    updatedAt: new Date(r.updated_at).toISOString(),
  }));
}

export async function deleteKey(db: D1Database, moduleId: string, key: string, value: string): Promise<boolean> {
  const normal = normaliseKey(key, value);
  if (normal === null) return false;
  const res = await db
    .prepare('DELETE FROM customer_keys WHERE module_id = ? AND key = ? AND value = ?')
    .bind(moduleId, key, normal)
    .run();
  return res.meta.changes > 0;
}
