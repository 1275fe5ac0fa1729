-- The public side (issue 16): when each grade was given, each merchant's last inspection and its
-- rectification orders, kept from inspection.events.v1 in this schema.

-- The moment the current grade was given: set when the grade changes, kept while only the score
-- moves. Rows from before this column get the moment of their latest change.
ALTER TABLE credits ADD COLUMN graded_at timestamptz;
UPDATE credits SET graded_at = updated_at;

-- The last inspection of each merchant and its outcome (pass, minor, major, critical); a later
-- completion replaces an earlier one, an older one (a redelivery) changes nothing.
CREATE TABLE last_inspections (
    merchant_id text PRIMARY KEY,
    task_id     text NOT NULL,
    outcome     text NOT NULL,
    at          timestamptz NOT NULL
);

-- Rectification orders as their latest event left them (state open or verified, the deadline
-- in force); `version` guards against an older event overwriting a newer one.
CREATE TABLE rectifications (
    rectification_id text PRIMARY KEY,
    merchant_id      text,
    market_id        text NOT NULL,
    state            text NOT NULL,
    deadline         timestamptz,
    version          integer NOT NULL
);
CREATE INDEX rectifications_open ON rectifications (merchant_id, deadline) WHERE state = 'open';

-- Public search over the directory's merchants by name.
CREATE INDEX credits_grade ON credits (grade);
