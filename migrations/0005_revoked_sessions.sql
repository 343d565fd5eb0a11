-- Console sessions ended by sign-out before their cookie expires (README "Console"): checked on every console request.
CREATE TABLE revoked_sessions (
  nonce       TEXT PRIMARY KEY,   -- the session's nonce (from its signed cookie)
  expires_at  INTEGER NOT NULL    -- ms; the row is useless after the cookie's own expiry and is removed then
);
