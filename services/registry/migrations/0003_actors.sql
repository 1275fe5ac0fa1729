-- The people behind markets, merchants and terminals, as the identity provider named them:
-- {"subject": ..., "name": ...}. `registered_actor`: who registered it; `updated_actor`: who made
-- its latest change by hand (the clock and inspection's suspensions leave it as it was). Rows
-- registered before this migration have none. Milestones: who recorded one (`recorded_by` keeps
-- the bare subject).
ALTER TABLE markets ADD COLUMN registered_actor jsonb, ADD COLUMN updated_actor jsonb;
ALTER TABLE merchants ADD COLUMN registered_actor jsonb, ADD COLUMN updated_actor jsonb;
ALTER TABLE terminals ADD COLUMN registered_actor jsonb, ADD COLUMN updated_actor jsonb;
ALTER TABLE milestones ADD COLUMN recorded_actor jsonb;
