-- Projections of the registry's compacted topics: what inspection needs to place and staff a
-- task. A snapshot only replaces an older version.
CREATE TABLE markets (
    id         text PRIMARY KEY,
    district   text NOT NULL,
    name       text NOT NULL,
    task_force jsonb,
    version    integer NOT NULL
);

CREATE TABLE merchants (
    id        text PRIMARY KEY,
    market_id text NOT NULL,
    district  text NOT NULL,
    stall_no  text NOT NULL,
    status    text NOT NULL,
    version   integer NOT NULL
);

-- Tasks: the whole value as jsonb (Task.to_dict()), with the columns the API and the clock
-- filter on. The events on inspection.events.v1 are the record of changes.
CREATE TABLE tasks (
    id          text PRIMARY KEY,
    district    text NOT NULL,
    market_id   text NOT NULL,
    merchant_id text,
    reason_kind text NOT NULL,
    state       text NOT NULL CHECK (state IN ('open', 'claimed', 'completed')),
    dedupe_key  text NOT NULL,
    due_at      timestamptz NOT NULL,
    overdue_at  timestamptz,
    created_at  timestamptz NOT NULL,
    version     integer NOT NULL,
    task        jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- One open task per (merchant or market, reason kind), whatever the races: the database says no.
CREATE UNIQUE INDEX tasks_one_open ON tasks (dedupe_key) WHERE state IN ('open', 'claimed');
CREATE INDEX tasks_district_state ON tasks (district, state);
CREATE INDEX tasks_market_state ON tasks (market_id, state);
-- The clock's question: open tasks not yet marked overdue, by due date.
CREATE INDEX tasks_due ON tasks (due_at) WHERE state IN ('open', 'claimed') AND overdue_at IS NULL;

CREATE TABLE rectifications (
    id          text PRIMARY KEY,
    task_id     text NOT NULL REFERENCES tasks (id),
    district    text NOT NULL,
    market_id   text NOT NULL,
    merchant_id text,
    state       text NOT NULL CHECK (state IN ('open', 'verified')),
    deadline    timestamptz,
    overdue_at  timestamptz,
    ordered_at  timestamptz NOT NULL,
    version     integer NOT NULL,
    rectification jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rectifications_district_state ON rectifications (district, state);
CREATE INDEX rectifications_deadline ON rectifications (deadline)
    WHERE state = 'open' AND overdue_at IS NULL;
