-- Who acknowledged a risk, as the identity provider named them: {"subject": ..., "name": ...}.
-- `acknowledged_by` keeps the bare subject. Risks acknowledged before this migration have none.
ALTER TABLE risks ADD COLUMN acknowledged_actor jsonb;
