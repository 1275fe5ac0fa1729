-- Objections to a merchant's credit record (信用异议): one per disputed ledger entry (its key,
-- the causing event and the kind), open until a leader of the district decides it, then final.
-- The objection as the domain holds it is `objection`; the columns are what it is found by.
CREATE TABLE objections (
    objection_id text PRIMARY KEY,
    merchant_id  text NOT NULL,
    district     text NOT NULL,
    event_id     text NOT NULL,
    kind         text NOT NULL,
    state        text NOT NULL,
    filed_at     timestamptz NOT NULL,
    objection    jsonb NOT NULL,
    UNIQUE (event_id, kind)
);
CREATE INDEX objections_open ON objections (district, state, filed_at);
CREATE INDEX objections_merchant ON objections (merchant_id, filed_at);
