-- Watch it without watching: failures grouped into problems, and the cron's own small state. Both are written by the
-- cron (every 5 minutes) from the deliveries log, never per webhook. The per-failure alert counter is gone.

-- Deliveries that ended the same way on one endpoint (status and reason) since the problem opened (or reopened).
CREATE TABLE problems (
  id               TEXT PRIMARY KEY,          -- endpoint_id '|' status '|' reason
  endpoint_id      TEXT NOT NULL,
  status           TEXT NOT NULL,
  reason           TEXT NOT NULL,             -- '' when the deliveries have none
  state            TEXT NOT NULL,             -- open | acknowledged | resolved
  since_id         TEXT NOT NULL,             -- deliveries counted: id >= since_id
  first_seen       INTEGER NOT NULL,          -- ms
  last_seen        INTEGER NOT NULL,
  last_delivery_id TEXT NOT NULL,
  count            INTEGER NOT NULL,
  base_count       INTEGER NOT NULL DEFAULT 0, -- counted once for since_id <= id < base_until (older than the look-back)
  base_until       TEXT NOT NULL,
  notified_count   INTEGER NOT NULL DEFAULT 0, -- the count the last message said
  acknowledged_by  TEXT,
  acknowledged_at  INTEGER,
  resolved_by      TEXT,
  resolved_at      INTEGER
);
CREATE INDEX problems_by_state ON problems (state, last_seen DESC);

-- The cron's state: each watched endpoint's silence state (`silence:<endpoint>`), the last digest's day (`digest`).
CREATE TABLE watch_state (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

DROP TABLE IF EXISTS notify_state;

-- Trends per endpoint: one row per endpoint and UTC hour, kept by the cron from the log (the last 3 hours
-- recomputed each run), read by the console's trends page. `crm_ms`: a histogram of the CRM's answer times.
CREATE TABLE trends (
  endpoint_id TEXT NOT NULL,
  hour        INTEGER NOT NULL,             -- ms at the start of the UTC hour
  ok          INTEGER NOT NULL,
  failed      INTEGER NOT NULL,
  pending     INTEGER NOT NULL,
  other       INTEGER NOT NULL,
  refused     INTEGER NOT NULL,             -- of failed: rejected (401)
  crm_ms      TEXT NOT NULL,                -- JSON array: calls per bucket of TREND_EDGES_MS (src/watch/trends.ts)
  PRIMARY KEY (endpoint_id, hour)
) WITHOUT ROWID;
