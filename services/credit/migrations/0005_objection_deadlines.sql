-- The decision deadline of an objection (异议处理期限), set when it is filed and kept: a column
-- to find the overdue ones by, and the same moment in the stored objection. Objections filed
-- before deadlines were kept get 14 days from filing: 10 working days without holidays.
ALTER TABLE objections ADD COLUMN due_at timestamptz;
UPDATE objections
   SET due_at = filed_at + interval '14 days',
       objection = objection || jsonb_build_object('due_at', to_jsonb(filed_at + interval '14 days'))
 WHERE due_at IS NULL;
ALTER TABLE objections ALTER COLUMN due_at SET NOT NULL;
CREATE INDEX objections_due ON objections (state, due_at);
