-- The duties of markets' task forces and operators: progress reports, daily self-inspections
-- and their follow-ups, training and certificates, and each market's standing on them. Markets
-- and districts are the registry's, known here through the registry directory: plain ids, not
-- foreign keys. Actors are {"subject": ..., "name": ...} as the identity provider named them.

-- Every market the component knows. `known_since`: the first day (city time) it was known here,
-- from which self-inspections are due the day after; `task_force_on`: the day its task force
-- was set up, as the registry's snapshot dated it; `standing`: the measures last published on
-- campaign.duties.v1. Commands and the clock lock a market's row to change anything of it.
CREATE TABLE duty_markets (
    market_id     text PRIMARY KEY,
    district      text NOT NULL,
    known_since   date NOT NULL,
    task_force_on date,
    standing      jsonb,
    standing_at   timestamptz
);

-- A reporting period that was filed, flagged late, or both: one row per (market, period).
CREATE TABLE duty_reports (
    market_id       text NOT NULL,
    period_start    date NOT NULL,
    due_on          date NOT NULL CHECK (due_on >= period_start),
    district        text NOT NULL,
    report_id       text UNIQUE,
    filed_on        date,
    filed_at        timestamptz,
    on_time         boolean,
    progress        text,
    problems        text[] NOT NULL DEFAULT '{}',
    next_steps      text[] NOT NULL DEFAULT '{}',
    actor           jsonb,
    late_flagged_at timestamptz,
    PRIMARY KEY (market_id, period_start),
    CHECK ((report_id IS NULL) = (filed_on IS NULL))
);
CREATE INDEX duty_reports_district ON duty_reports (district, due_on);

CREATE TABLE duty_self_inspections (
    id                text PRIMARY KEY,
    market_id         text NOT NULL,
    district          text NOT NULL,
    day               date NOT NULL,
    checklist_version text NOT NULL,
    items             jsonb NOT NULL,
    recorded_at       timestamptz NOT NULL,
    actor             jsonb,
    UNIQUE (market_id, day)
);

CREATE TABLE duty_follow_ups (
    id                 text PRIMARY KEY,
    self_inspection_id text NOT NULL REFERENCES duty_self_inspections (id),
    market_id          text NOT NULL,
    district           text NOT NULL,
    item               text NOT NULL,
    opened_note        text NOT NULL,
    opened_at          timestamptz NOT NULL,
    state              text NOT NULL CHECK (state IN ('open', 'closed')),
    closed_note        text,
    closed_at          timestamptz,
    closed_actor       jsonb
);
CREATE INDEX duty_follow_ups_market ON duty_follow_ups (market_id, state);

-- An opening day that ended without a self-inspection: flagged once.
CREATE TABLE duty_missed_days (
    market_id  text NOT NULL,
    day        date NOT NULL,
    district   text NOT NULL,
    flagged_at timestamptz NOT NULL,
    PRIMARY KEY (market_id, day)
);

CREATE TABLE duty_courses (
    id              text PRIMARY KEY,
    title           text NOT NULL,
    validity_months integer NOT NULL CHECK (validity_months > 0),
    created_at      timestamptz NOT NULL,
    actor           jsonb
);

CREATE TABLE duty_sessions (
    id         text PRIMARY KEY,
    course_id  text NOT NULL REFERENCES duty_courses (id),
    held_on    date NOT NULL,
    place      text NOT NULL,
    created_at timestamptz NOT NULL,
    actor      jsonb
);
CREATE INDEX duty_sessions_course ON duty_sessions (course_id, held_on);

-- A market's managers, the trainees.
CREATE TABLE duty_trainees (
    id            text PRIMARY KEY,
    market_id     text NOT NULL,
    district      text NOT NULL,
    name          text NOT NULL,
    position      text NOT NULL,
    registered_at timestamptz NOT NULL,
    actor         jsonb
);
CREATE INDEX duty_trainees_market ON duty_trainees (market_id);

CREATE TABLE duty_attendance (
    session_id  text NOT NULL REFERENCES duty_sessions (id),
    trainee_id  text NOT NULL REFERENCES duty_trainees (id),
    passed      boolean NOT NULL,
    recorded_at timestamptz NOT NULL,
    actor       jsonb,
    PRIMARY KEY (session_id, trainee_id)
);

CREATE TABLE duty_certificates (
    id          text PRIMARY KEY,
    trainee_id  text NOT NULL REFERENCES duty_trainees (id),
    market_id   text NOT NULL,
    district    text NOT NULL,
    course_id   text NOT NULL REFERENCES duty_courses (id),
    session_id  text NOT NULL REFERENCES duty_sessions (id),
    issued_on   date NOT NULL,
    valid_until date NOT NULL CHECK (valid_until >= issued_on),
    issued_at   timestamptz NOT NULL,
    UNIQUE (session_id, trainee_id)
);
CREATE INDEX duty_certificates_market ON duty_certificates (market_id);
CREATE INDEX duty_certificates_expiry ON duty_certificates (district, valid_until);
