-- Projections of the registry's compacted topics: what telemetry needs to verify and place a
-- reading. A snapshot only replaces an older version.
CREATE TABLE terminals (
    id          text PRIMARY KEY,
    kind        text NOT NULL,
    market_id   text NOT NULL,
    district    text NOT NULL,
    merchant_id text,
    stall_no    text,
    profile     text,
    interval_s  integer NOT NULL,
    key_version integer NOT NULL,
    status      text NOT NULL,
    version     integer NOT NULL
);

CREATE TABLE markets (
    id       text PRIMARY KEY,
    district text NOT NULL,
    name     text NOT NULL,
    capacity integer NOT NULL,
    opens    text NOT NULL,
    closes   text NOT NULL,
    version  integer NOT NULL
);

-- Per-terminal rule state (windows, baselines, open risks, last seq), written once per batch.
-- `rev` grows with every write: a replica whose cached copy has another rev reloads it, which
-- keeps the readings consumer, the silence check and a rebalance from overwriting each other.
CREATE TABLE terminal_state (
    terminal_id text PRIMARY KEY,
    rev         bigint NOT NULL,
    last_seq    bigint NOT NULL,
    last_seen   timestamptz,
    state       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX terminal_state_last_seen ON terminal_state (last_seen);

-- Risks as the API lists them; the events on telemetry.risks.v1 are the record of changes.
CREATE TABLE risks (
    id              text PRIMARY KEY,
    terminal_id     text NOT NULL,
    rule            text NOT NULL,
    category        text NOT NULL,
    severity        text NOT NULL,
    state           text NOT NULL CHECK (state IN ('open', 'cleared')),
    market_id       text NOT NULL,
    district        text NOT NULL,
    merchant_id     text,
    stall_no        text,
    evidence        jsonb NOT NULL,
    raised_at       timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    cleared_at      timestamptz,
    acknowledged_by text,
    acknowledged_at timestamptz
);
-- At most one open risk per (terminal, rule), whatever the races: the database says no.
CREATE UNIQUE INDEX risks_one_open ON risks (terminal_id, rule) WHERE state = 'open';
CREATE INDEX risks_market_state ON risks (market_id, state);
