-- Who did what: the team's roles, the audit log, and every saved endpoint configuration as a numbered version.
-- Nothing here is read or written on a webhook's path.

-- A person's role (Cloudflare Access sign-in); the first admin comes from ACCESS_ADMIN_EMAIL, not from here.
CREATE TABLE people (
  email      TEXT PRIMARY KEY,            -- lower case
  role       TEXT NOT NULL,               -- viewer | operator | admin
  set_by     TEXT NOT NULL,
  set_at     INTEGER NOT NULL
);

-- One row per change: endpoint saved or deleted, secret set (never its value), keys imported, replays and accepts,
-- roles, sign-ins and failed sign-ins. Kept AUDIT_RETENTION_DAYS (365 by default).
CREATE TABLE audit (
  id          TEXT PRIMARY KEY,           -- time-sortable, like a delivery's
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,              -- an email, or "admin" (the admin token)
  via         TEXT NOT NULL,              -- console | api
  action      TEXT NOT NULL,              -- endpoint.saved, secret.set, delivery.replayed, role.set, sign-in.failed, ...
  target_kind TEXT,                       -- endpoint | delivery | secret | person | problem | module | crm
  target_id   TEXT,
  detail      TEXT                        -- JSON: what else tells the change (a version number, a count); never a secret
);
CREATE INDEX audit_by_target ON audit (target_kind, target_id, id DESC);
CREATE INDEX audit_by_actor ON audit (actor, id DESC);

-- Every save of an endpoint's configuration, numbered from 1 per endpoint; at least the last 50 are kept.
CREATE TABLE endpoint_versions (
  endpoint_id TEXT NOT NULL,
  n           INTEGER NOT NULL,
  config      TEXT NOT NULL,              -- the configuration as stored
  saved_by    TEXT NOT NULL,
  saved_at    INTEGER NOT NULL,
  restored_from INTEGER,                  -- the version a restore brought back
  PRIMARY KEY (endpoint_id, n)
) WITHOUT ROWID;
