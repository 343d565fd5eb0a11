-- Find or create (README "New customers"): where a delivery's create call stands. 'started' is written before the
-- call: a later try that finds it (the Worker stopped, the answer timed out) never creates again on its own;
-- 'unconfirmed' waits for a person to say whether the CRM has it; 'absent' is their answer "it was not created";
-- 'created' once the CRM answered with the new id.
ALTER TABLE deliveries ADD COLUMN create_state TEXT;
