-- Queued delivery, retries, idempotency, alerts (see README "Delivery").
ALTER TABLE deliveries ADD COLUMN mode TEXT NOT NULL DEFAULT 'sync';       -- sync | queue
ALTER TABLE deliveries ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;     -- 1 once the sender was verified: only then replayable
ALTER TABLE deliveries ADD COLUMN raw_body TEXT;                           -- the body for (re)delivery, when it differs from payload
ALTER TABLE deliveries ADD COLUMN raw_base64 INTEGER NOT NULL DEFAULT 0;   -- 1 when raw_body is base64 (not UTF-8)
ALTER TABLE deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;     -- CRM calls made, over every run
ALTER TABLE deliveries ADD COLUMN run_attempts INTEGER NOT NULL DEFAULT 0; -- CRM calls in the current run (a replay starts a new run)
ALTER TABLE deliveries ADD COLUMN next_attempt_at INTEGER;                 -- ms; set while queued/retrying, NULL once terminal
ALTER TABLE deliveries ADD COLUMN lease_until INTEGER;                     -- ms; an attempt in progress holds the delivery until then
ALTER TABLE deliveries ADD COLUMN idempotency_key TEXT;
ALTER TABLE deliveries ADD COLUMN duplicate_of TEXT;                       -- for status duplicate: the first delivery's id
ALTER TABLE deliveries ADD COLUMN replays INTEGER NOT NULL DEFAULT 0;

CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX deliveries_by_received ON deliveries (received_at);

-- One row per CRM call made for a delivery.
CREATE TABLE attempts (
  delivery_id      TEXT NOT NULL,
  n                INTEGER NOT NULL,          -- 1, 2, ... over every run of the delivery
  started_at       INTEGER NOT NULL,
  duration_ms      INTEGER,
  http_status      INTEGER,
  crm_code         INTEGER,
  crm_message      TEXT,
  error            TEXT,                      -- crm_unavailable | crm_rejected | mapping_failed | ... ; NULL when delivered
  outcome          TEXT NOT NULL,             -- delivered | retry | failed | dead | invalid
  next_attempt_at  INTEGER,                   -- when outcome = retry
  PRIMARY KEY (delivery_id, n)
);

-- At most one delivery per endpoint and idempotency key within the window: the unique key decides races.
CREATE TABLE idempotency (
  endpoint_id   TEXT NOT NULL,
  key           TEXT NOT NULL,
  delivery_id   TEXT NOT NULL,
  expires_at    INTEGER NOT NULL,
  PRIMARY KEY (endpoint_id, key)
);
CREATE INDEX idempotency_by_expiry ON idempotency (expires_at);

-- Alerts: dead deliveries waiting to be reported, at most one message per endpoint per 10 minutes.
CREATE TABLE notify_state (
  endpoint_id       TEXT PRIMARY KEY,
  pending           INTEGER NOT NULL DEFAULT 0,
  last_sent_at      INTEGER,
  sent_count        INTEGER NOT NULL DEFAULT 0,
  last_delivery_id  TEXT,
  last_reason       TEXT
);
