-- 信用修复 (a repair: the record is right and was put right) goes the way of an objection to an
-- error, on its own ground. An entry may be disputed once on each ground (not counting those
-- withdrawn), and only one of them may be open or have reversed it: never two reversals.
ALTER TABLE objections ADD COLUMN ground text NOT NULL DEFAULT 'error';
DROP INDEX objections_one_per_entry;
CREATE UNIQUE INDEX objections_one_per_ground ON objections (event_id, kind, ground)
    WHERE state <> 'withdrawn';
CREATE UNIQUE INDEX objections_one_live_per_entry ON objections (event_id, kind)
    WHERE state NOT IN ('withdrawn', 'upheld');
