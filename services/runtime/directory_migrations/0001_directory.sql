-- A service's local copy of the registry's compacted topics (markets and merchants), shared by
-- the services that need to place a complaint, a score or an assessment. A snapshot replaces
-- what is held only when its version is newer.
CREATE TABLE directory_markets (
    id       text PRIMARY KEY,
    district text NOT NULL,
    version  integer NOT NULL,
    snapshot jsonb NOT NULL
);

CREATE TABLE directory_merchants (
    id        text PRIMARY KEY,
    market_id text NOT NULL,
    district  text NOT NULL,
    stall_no  text NOT NULL,
    status    text NOT NULL,
    version   integer NOT NULL,
    snapshot  jsonb NOT NULL
);
CREATE INDEX directory_merchants_stall ON directory_merchants (market_id, stall_no);
