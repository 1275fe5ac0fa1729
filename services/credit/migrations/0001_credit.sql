-- The credit ledger: one row per adjustment, unique per (causing event, kind), so a redelivered
-- event can never count twice; the entry as jsonb (Adjustment.to_dict()) beside the columns the
-- explain endpoint and the fade clock read.
CREATE TABLE adjustments (
    event_id       text NOT NULL,
    kind           text NOT NULL,
    merchant_id    text NOT NULL,
    delta          integer NOT NULL,
    occurred_at    timestamptz NOT NULL,
    fades_at       timestamptz NOT NULL,
    policy_version text NOT NULL,
    correlation_id text NOT NULL,
    entry          jsonb NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, kind)
);
CREATE INDEX adjustments_merchant ON adjustments (merchant_id, occurred_at);

-- Each merchant's current score (MerchantCredit.to_dict()); `version` counts published changes.
CREATE TABLE credits (
    merchant_id    text PRIMARY KEY,
    market_id      text NOT NULL,
    district       text NOT NULL,
    score          integer NOT NULL,
    grade          text NOT NULL,
    policy_version text NOT NULL,
    next_fade_at   timestamptz,
    version        integer NOT NULL,
    credit         jsonb NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credits_market ON credits (market_id);
CREATE INDEX credits_fade ON credits (next_fade_at) WHERE next_fade_at IS NOT NULL;

-- The registry status last seen per merchant, in the ledger's own transactions: a status change
-- (into licence_expired or suspended) is a fact; the same snapshot again is not.
CREATE TABLE merchant_status (
    merchant_id text PRIMARY KEY,
    status      text NOT NULL,
    version     integer NOT NULL
);

-- What the market assessment counts, one row per consumed event that matters to it:
-- inspection (passed true/false), rectification (on_time true / overdue false),
-- complaint (within_limit true: closed in time; false: a clock ran out).
CREATE TABLE observations (
    event_id    text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('inspection', 'rectification', 'complaint')),
    market_id   text NOT NULL,
    district    text NOT NULL,
    merchant_id text,
    at          timestamptz NOT NULL,
    good        boolean NOT NULL,
    PRIMARY KEY (event_id, kind)
);
CREATE INDEX observations_market ON observations (market_id, kind, at);
CREATE INDEX observations_merchant ON observations (merchant_id, kind, at);

-- Risks and complaints as context: the roots of ledger chains (explain) and open risks
-- (assessment). A risk alone never changes a score.
CREATE TABLE risks (
    risk_id     text PRIMARY KEY,
    rule        text NOT NULL,
    category    text NOT NULL,
    severity    text NOT NULL,
    market_id   text NOT NULL,
    merchant_id text,
    raised_at   timestamptz NOT NULL,
    cleared_at  timestamptz
);
CREATE INDEX risks_open ON risks (market_id) WHERE cleared_at IS NULL;

CREATE TABLE complaints (
    complaint_id text PRIMARY KEY,
    category     text NOT NULL,
    state        text NOT NULL,
    merchant_id  text,
    received_at  timestamptz NOT NULL,
    version      integer NOT NULL
);

CREATE TABLE assessments (
    assessment_id text PRIMARY KEY,
    scope         text NOT NULL,
    market_id     text,
    district      text NOT NULL,
    period_from   timestamptz NOT NULL,
    period_to     timestamptz NOT NULL,
    assessment    jsonb NOT NULL,
    computed_at   timestamptz NOT NULL
);
CREATE INDEX assessments_market ON assessments (market_id, computed_at DESC);
