-- Issue 17: joint enforcement cases, the operators' duties and the monthly honour and warning
-- list (红黑榜).

-- Each joint enforcement case adjusts its merchant once, at its first decision (a case against a
-- market's operator has no merchant and adjusts nothing). Written in the ledger's transaction.
CREATE TABLE enforcement_cases (
    case_id     text PRIMARY KEY,
    merchant_id text,
    market_id   text NOT NULL,
    sanction    text NOT NULL,
    decided_at  timestamptz NOT NULL,
    event_id    text NOT NULL
);

-- The campaign's figures on each market's duties (campaign.duties.v1), one row per market and
-- day (`as_of`, city time); a later update of the same day replaces an earlier one, an older one
-- (a replay of the compacted topic, a redelivery) changes nothing. The assessment of a period
-- reads the latest day not after the period's end.
CREATE TABLE market_duties (
    market_id            text NOT NULL,
    as_of                date NOT NULL,
    district             text NOT NULL,
    self_inspection_rate double precision,
    report_on_time_rate  double precision,
    certified_share      double precision,
    updated_at           timestamptz NOT NULL,
    duties               jsonb NOT NULL,
    PRIMARY KEY (market_id, as_of)
);

-- One drawing per month, never redrawn: a second drawing of the month returns this one.
CREATE TABLE honour_drawings (
    month          text PRIMARY KEY,
    drawing_id     text NOT NULL UNIQUE,
    policy_version text NOT NULL,
    period_from    timestamptz NOT NULL,
    period_to      timestamptz NOT NULL,
    drawn_at       timestamptz NOT NULL,
    -- The admin who drew it (subject and name); null for the monthly schedule.
    drawn_by       jsonb
);

-- Its entries: listed (on the month's honour or warning list) and delisted (on the last list
-- drawn before, not on this one). `entry` is honours.Entry.to_dict().
CREATE TABLE honour_entries (
    month     text NOT NULL REFERENCES honour_drawings (month),
    change    text NOT NULL CHECK (change IN ('listed', 'delisted')),
    list      text NOT NULL CHECK (list IN ('honour', 'warning')),
    entity    text NOT NULL CHECK (entity IN ('market', 'merchant')),
    entity_id text NOT NULL,
    district  text NOT NULL,
    entry     jsonb NOT NULL,
    PRIMARY KEY (month, change, entity, entity_id, list)
);
CREATE INDEX honour_entries_district ON honour_entries (month, district);
