-- An inspection's finding found wrong (信用异议 decided corrected), as credit reads it back from
-- credit.objections.v1: what followed from the finding in its chain (a missed deadline, a
-- suspension) is undone with it, whether it reaches the ledger before or after the correction
-- (services/credit/domain/follow_ons.py). Written by the consumer, so a rebuild has it too.
CREATE TABLE corrected_findings (
    merchant_id  text NOT NULL,
    chain        text NOT NULL,
    found_at     timestamptz NOT NULL,
    decided_at   timestamptz NOT NULL,
    objection_id text NOT NULL,
    PRIMARY KEY (merchant_id, chain, found_at)
);
