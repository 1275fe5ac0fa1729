-- Joint meetings (联席会议) with their action items, and joint enforcement cases (联合执法),
-- with the projection of the findings and complaints a case may be opened from. Markets,
-- merchants and districts are the registry's, known through the registry view: plain ids here.
-- Actors are {"subject": ..., "name": ...} as the identity provider named them.

CREATE TABLE joint_meetings (
    id              text PRIMARY KEY,
    district        text NOT NULL,          -- a district code, or 'city'
    title           text NOT NULL,
    held_on         date NOT NULL,
    departments     text[] NOT NULL,
    minutes         text NOT NULL,
    recorded_at     timestamptz NOT NULL,
    recorded_actor  jsonb
);
CREATE INDEX joint_meetings_by_district ON joint_meetings (district, held_on DESC);

CREATE TABLE joint_action_items (
    id               text PRIMARY KEY,
    meeting_id       text NOT NULL REFERENCES joint_meetings (id),
    position         integer NOT NULL,
    district         text NOT NULL,         -- the meeting's, for scoped listings
    decision         text NOT NULL,
    department       text NOT NULL,
    deadline         date NOT NULL,
    state            text NOT NULL CHECK (state IN ('open', 'done')),
    done_on          date,
    done_note        text,
    done_at          timestamptz,
    done_actor       jsonb,
    late_flagged_at  timestamptz,           -- set once, by the clock
    UNIQUE (meeting_id, position)
);
CREATE INDEX joint_action_items_to_flag ON joint_action_items (deadline)
    WHERE state = 'open' AND late_flagged_at IS NULL;
CREATE INDEX joint_action_items_by_district ON joint_action_items (district, state, deadline);

-- What a case may be opened from, learned from inspection.events.v1 (completed tasks, with their
-- outcome) and complaints.events.v1 (accepted complaints); the latest event of each wins.
CREATE TABLE joint_origins (
    kind            text NOT NULL CHECK (kind IN ('finding', 'complaint')),
    id              text NOT NULL,
    district        text NOT NULL,
    market_id       text NOT NULL,
    merchant_id     text,
    status          text NOT NULL,          -- a finding's outcome; a complaint's state
    event_id        text NOT NULL,
    correlation_id  text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    detail          jsonb NOT NULL,
    PRIMARY KEY (kind, id)
);

CREATE TABLE joint_cases (
    id              text PRIMARY KEY,
    version         integer NOT NULL,
    state           text NOT NULL CHECK (state IN ('open', 'decided', 'closed')),
    district        text NOT NULL,
    market_id       text NOT NULL,
    merchant_id     text,
    origin_kind     text NOT NULL,
    origin_id       text NOT NULL,
    departments     text[] NOT NULL,
    facts           text NOT NULL,
    decision        jsonb,
    closing_note    text,
    opened_at       timestamptz NOT NULL,
    decided_at      timestamptz,
    closed_at       timestamptz,
    opened_actor    jsonb,
    decided_actor   jsonb,
    closed_actor    jsonb,
    correlation_id  text NOT NULL,          -- the chain of the origin, carried by every event
    last_event_id   text NOT NULL           -- the cause of the case's next event
);
-- One case per origin until it is closed.
CREATE UNIQUE INDEX joint_cases_one_per_origin ON joint_cases (origin_kind, origin_id)
    WHERE state <> 'closed';
CREATE INDEX joint_cases_by_district ON joint_cases (district, state, opened_at DESC);
CREATE INDEX joint_cases_by_market ON joint_cases (market_id, opened_at DESC);
