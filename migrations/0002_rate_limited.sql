-- Requests refused by the per-endpoint rate limit: counted per minute, never one row each
-- (an attack must not become D1 writes). See README "Rate limiting".
CREATE TABLE rate_limited (
  endpoint_id   TEXT NOT NULL,
  minute        INTEGER NOT NULL,   -- ms since epoch, floored to the minute
  count         INTEGER NOT NULL,
  PRIMARY KEY (endpoint_id, minute)
);
