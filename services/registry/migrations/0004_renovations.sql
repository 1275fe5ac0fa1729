-- The campaign service owns renovation projects (registry.campaign.v1); the registry keeps each
-- project's latest stage, as published, to derive its market's `renovation_status`. The tables
-- of 0002 and 0003 that the campaign used (campaigns, milestones, renovation_projects,
-- disclosures) moved with it to its own schema; they stay here untouched for the record.
CREATE TABLE market_renovations (
    project_id text PRIMARY KEY,
    market_id  text NOT NULL REFERENCES markets (id),
    stage      text NOT NULL,
    version    integer NOT NULL
);
CREATE INDEX market_renovations_market ON market_renovations (market_id);

-- What the registry knew when the campaign still lived here (replaying the topic changes nothing).
INSERT INTO market_renovations (project_id, market_id, stage, version)
SELECT id, market_id, stage, version FROM renovation_projects;
