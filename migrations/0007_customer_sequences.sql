-- One customer at a time (README "Ordering and the CRM's limits"): the customer sequence a delivery waits in, the
-- sender's version of the record it carries, and the delivery that superseded it. Added columns cost no extra row
-- written per webhook: they are written with the row.
ALTER TABLE deliveries ADD COLUMN sequence_key TEXT;
ALTER TABLE deliveries ADD COLUMN version TEXT;
ALTER TABLE deliveries ADD COLUMN superseded_by TEXT;
