-- External keys -> CRM customer id, per module (README "Finding the customer").
CREATE TABLE customer_keys (
  module_id    TEXT NOT NULL,
  key          TEXT NOT NULL,      -- phone, clue_id, email, or any name
  value        TEXT NOT NULL,      -- normalised (phone: digits, no +86; email: lower case; others: trimmed)
  customer_id  TEXT NOT NULL,
  source       TEXT NOT NULL,      -- import | learned
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (module_id, key, value)
);
CREATE INDEX customer_keys_by_customer ON customer_keys (module_id, customer_id);
