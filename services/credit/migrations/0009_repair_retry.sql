-- A repair refused (不予修复) no longer closes its ground: the merchant may ask again once the
-- wait after the refusal has passed (services/credit/domain/objections.py, REPAIR_RETRY_WAIT).
-- An error is still disputed once, and one objection at most is open or has reversed the entry
-- (objections_one_live_per_entry, unchanged).
DROP INDEX objections_one_per_ground;
CREATE UNIQUE INDEX objections_one_per_ground ON objections (event_id, kind, ground)
    WHERE state <> 'withdrawn' AND NOT (ground = 'repaired' AND state = 'upheld');
