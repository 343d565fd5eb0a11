-- Fewer D1 rows written per webhook: D1 bills every table row and every index entry written (README "Storage:
-- rows written"). A delivered webhook now writes 2 rows for its delivery, plus 1 per key learned from the CRM.
--
-- deliveries: WITHOUT ROWID, so the row lives in its primary key's b-tree (a rowid table writes the row and a
-- separate entry for its TEXT primary key); no index on received_at (time ranges use the id, which begins with the
-- time); status is indexed only for the statuses someone looks for, whose predicate must stay exactly
-- ATTENTION_SQL in src/deliveries/store.ts (SQLite uses a partial index only for a query that repeats its terms;
-- test/rows-written.test.ts checks the plans).
CREATE TABLE deliveries_new (
  id               TEXT PRIMARY KEY,
  endpoint_id      TEXT NOT NULL,
  status           TEXT NOT NULL,
  reason           TEXT,
  message          TEXT,
  received_at      INTEGER NOT NULL,
  finished_at      INTEGER,
  duration_ms      INTEGER,
  customer_id      TEXT,
  request_method   TEXT NOT NULL,
  request_query    TEXT,
  request_headers  TEXT,
  content_type     TEXT,
  payload          TEXT,
  payload_bytes    INTEGER,
  crm_request      TEXT,
  crm_http_status  INTEGER,
  crm_code         INTEGER,
  crm_message      TEXT,
  crm_response     TEXT,
  crm_duration_ms  INTEGER,
  warnings         TEXT,
  mode             TEXT NOT NULL DEFAULT 'sync',
  verified         INTEGER NOT NULL DEFAULT 0,
  raw_body         TEXT,
  raw_base64       INTEGER NOT NULL DEFAULT 0,
  attempts         INTEGER NOT NULL DEFAULT 0,
  run_attempts     INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER,
  lease_until      INTEGER,
  idempotency_key  TEXT,
  duplicate_of     TEXT,
  replays          INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO deliveries_new SELECT id, endpoint_id, status, reason, message, received_at, finished_at, duration_ms, customer_id,
  request_method, request_query, request_headers, content_type, payload, payload_bytes, crm_request, crm_http_status, crm_code,
  crm_message, crm_response, crm_duration_ms, warnings, mode, verified, raw_body, raw_base64, attempts, run_attempts,
  next_attempt_at, lease_until, idempotency_key, duplicate_of, replays FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
-- the console's and the admin API's list of one endpoint, newest first; its recent deliveries in the editor
CREATE INDEX deliveries_by_endpoint ON deliveries (endpoint_id, id DESC);
-- failures, held and in-flight deliveries (the overview, a status filter, held counts, bulk replay)
CREATE INDEX deliveries_needing_attention ON deliveries (status, id)
  WHERE status IN ('failed', 'rejected', 'invalid', 'unmatched', 'conflict', 'dead', 'held');
-- the cron's re-drive of deliveries whose queue message was lost (only rows on their way have an entry)
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- customer_keys: small rows found by their whole primary key, WITHOUT ROWID; no index by customer (the look-up by
-- customer id, an admin action, reads the module's keys instead), so learning a key writes 1 row.
CREATE TABLE customer_keys_new (
  module_id    TEXT NOT NULL,
  key          TEXT NOT NULL,
  value        TEXT NOT NULL,
  customer_id  TEXT NOT NULL,
  source       TEXT NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (module_id, key, value)
) WITHOUT ROWID;
INSERT INTO customer_keys_new SELECT module_id, key, value, customer_id, source, updated_at FROM customer_keys;
DROP TABLE customer_keys;
ALTER TABLE customer_keys_new RENAME TO customer_keys;
