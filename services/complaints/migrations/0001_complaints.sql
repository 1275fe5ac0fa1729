-- Complaint cases: the whole value as jsonb (Complaint.to_dict(), with the complainant's name
-- and phone, which never leave this schema), and the columns the API, the clock and duplicate
-- detection filter on. The events on complaints.events.v1 are the public record of changes.
CREATE TABLE complaints (
    id                    text PRIMARY KEY,
    tracking_code         text NOT NULL UNIQUE,
    district              text NOT NULL,
    market_id             text NOT NULL,
    merchant_id           text,
    category              text NOT NULL,
    channel               text NOT NULL,
    state                 text NOT NULL
        CHECK (state IN ('received', 'accepted', 'rejected', 'closed')),
    received_at           timestamptz NOT NULL,
    acceptance_deadline   timestamptz NOT NULL,
    mediation_deadline    timestamptz,
    acceptance_overdue_at timestamptz,
    mediation_overdue_at  timestamptz,
    duplicate_of          text REFERENCES complaints (id),
    -- What made it: the intake event's id or the HTTP Idempotency-Key; a resubmission finds it.
    intake_id             text UNIQUE,
    external_ref          text,
    version               integer NOT NULL,
    complaint             jsonb NOT NULL,
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX complaints_district_state ON complaints (district, state, received_at);
-- Duplicate detection: the same merchant and category, recently.
CREATE INDEX complaints_merchant_recent ON complaints (merchant_id, category, received_at)
    WHERE merchant_id IS NOT NULL;
-- The clock's questions: undecided past the acceptance deadline, unmediated past the mediation one.
CREATE INDEX complaints_acceptance_due ON complaints (acceptance_deadline)
    WHERE state = 'received' AND acceptance_overdue_at IS NULL;
CREATE INDEX complaints_mediation_due ON complaints (mediation_deadline)
    WHERE state = 'accepted' AND mediation_overdue_at IS NULL;

-- Inspections of the tasks a complaint led to, from inspection.events.v1: what a handler needs to
-- settle the complaint (was it substantiated?). Keyed by task, so a redelivery changes nothing.
CREATE TABLE complaint_inspections (
    complaint_id text NOT NULL,
    task_id      text NOT NULL,
    outcome      text NOT NULL,
    findings     jsonb NOT NULL,
    completed_at timestamptz NOT NULL,
    PRIMARY KEY (complaint_id, task_id)
);
