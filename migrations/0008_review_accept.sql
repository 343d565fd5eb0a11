-- Refused, but kept for review (README "Refused, but kept for review"): a webhook refused for its credential keeps its
-- body; an admin who accepts it is recorded here (who, when) and the delivery then runs as if verified.
ALTER TABLE deliveries ADD COLUMN accepted_by TEXT;
ALTER TABLE deliveries ADD COLUMN accepted_at INTEGER;
