-- The city's campaign: deadlines, milestones, renovation projects, public disclosures. (Moved
-- from the registry's 0002_campaigns and 0003_actors; districts and markets are the registry's,
-- known here through the registry directory, so they are plain ids, not foreign keys.)

CREATE TABLE campaigns (
    id                text PRIMARY KEY,
    name              text NOT NULL,
    mobilisation_date date NOT NULL,
    year              integer NOT NULL,
    districts         text[] NOT NULL,
    deadline_rules    jsonb NOT NULL,
    version           integer NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);

-- A row exists once a milestone was recorded or flagged late; one per (campaign, district or
-- market, kind), so a milestone is flagged at most once. `recorded_actor`: who recorded it, as
-- the identity provider named them, {"subject": ..., "name": ...} (`recorded_by` keeps the bare
-- subject).
CREATE TABLE milestones (
    id              text PRIMARY KEY,
    campaign_id     text NOT NULL REFERENCES campaigns (id),
    scope           text NOT NULL CHECK (scope IN ('district', 'market')),
    scope_id        text NOT NULL,
    district        text NOT NULL,
    market_id       text,
    kind            text NOT NULL,
    deadline        date NOT NULL,
    achieved_on     date,
    attendees       integer CHECK (attendees > 0),
    documents       text[] NOT NULL,
    note            text,
    recorded_by     text,
    recorded_at     timestamptz,
    late_flagged_at timestamptz,
    version         integer NOT NULL,
    updated_at      timestamptz NOT NULL,
    recorded_actor  jsonb,
    UNIQUE (campaign_id, scope_id, kind)
);

CREATE TABLE renovation_projects (
    id          text PRIMARY KEY,
    campaign_id text NOT NULL REFERENCES campaigns (id),
    market_id   text NOT NULL,
    district    text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('old_market_upgrade', 'new_market')),
    stage       text NOT NULL
                CHECK (stage IN ('planned', 'approved', 'under_construction', 'accepted')),
    -- title, scope items, budget lines (fen), stage history and checks
    body        jsonb NOT NULL,
    version     integer NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX renovation_projects_campaign ON renovation_projects (campaign_id, district);
CREATE INDEX renovation_projects_market ON renovation_projects (market_id);

-- Problems exposed to the public. One disclosure per problem (kind, source).
CREATE TABLE disclosures (
    id          text PRIMARY KEY,
    kind        text NOT NULL
                CHECK (kind IN ('late_milestone', 'failed_check', 'overdue_rectification')),
    source_id   text NOT NULL,
    state       text NOT NULL CHECK (state IN ('open', 'resolved')),
    district    text NOT NULL,
    market_id   text,
    campaign_id text,
    deadline    timestamptz NOT NULL,
    opened_at   timestamptz NOT NULL,
    body        jsonb NOT NULL,
    version     integer NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (kind, source_id)
);
CREATE INDEX disclosures_recent ON disclosures (opened_at DESC, id);
