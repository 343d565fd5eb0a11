-- One row per webhook that reached an existing, enabled endpoint (see README "Storage").
CREATE TABLE deliveries (
  id               TEXT PRIMARY KEY,          -- time-sortable: newest has the greatest id
  endpoint_id      TEXT NOT NULL,
  status           TEXT NOT NULL,             -- delivered | failed | rejected | invalid
  reason           TEXT,                      -- precise reason, e.g. signature_mismatch, crm_rejected
  message          TEXT,                      -- human-readable detail of the reason
  received_at      INTEGER NOT NULL,          -- ms since epoch
  finished_at      INTEGER,
  duration_ms      INTEGER,
  customer_id      TEXT,
  -- what arrived (credential headers and query parameters removed)
  request_method   TEXT NOT NULL,
  request_query    TEXT,                      -- JSON object
  request_headers  TEXT,                      -- JSON object
  content_type     TEXT,
  payload          TEXT,                      -- raw body text
  payload_bytes    INTEGER,
  -- what was sent to the CRM and what it answered
  crm_request      TEXT,                      -- JSON {url, headers (credential masked), body}
  crm_http_status  INTEGER,
  crm_code         INTEGER,
  crm_message      TEXT,
  crm_response     TEXT,
  crm_duration_ms  INTEGER,
  warnings         TEXT                       -- JSON array of strings
);

CREATE INDEX deliveries_by_endpoint ON deliveries (endpoint_id, id DESC);
CREATE INDEX deliveries_by_status ON deliveries (status, id DESC);
