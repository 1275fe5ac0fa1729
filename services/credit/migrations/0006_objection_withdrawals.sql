-- An objection withdrawn (撤回, or recorded in error) leaves its entry free to be disputed again:
-- one objection per entry among those not withdrawn, as many withdrawn ones as there were.
ALTER TABLE objections DROP CONSTRAINT objections_event_id_kind_key;
CREATE UNIQUE INDEX objections_one_per_entry ON objections (event_id, kind)
    WHERE state <> 'withdrawn';
CREATE INDEX objections_entry ON objections (event_id, kind);
