-- Each CRM module's field catalogue (src/endpoints/catalogue-store.ts), moved from KV (`v1:crm-catalogue:<moduleId>`,
-- read until a module's first change here): a change writes only over the version it read, so two people editing a
-- module at once, or the catalogue learning while someone edits it, lose nothing. Never read on a webhook's path.
CREATE TABLE catalogues (
  module_id  TEXT PRIMARY KEY,
  doc        TEXT NOT NULL,               -- { "fields": { "<key>": { "label", "type", "options", "origin" } }, "learnedThrough" }
  version    INTEGER NOT NULL,            -- 1 at the first write, one more at each
  updated_at INTEGER NOT NULL
);
