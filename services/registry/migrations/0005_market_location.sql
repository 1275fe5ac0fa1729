-- Where a market stands (WGS-84 degrees), set by a clerk for the citizens' 附近的市场: both or
-- neither.
ALTER TABLE markets
    ADD COLUMN latitude  double precision CHECK (latitude BETWEEN -90 AND 90),
    ADD COLUMN longitude double precision CHECK (longitude BETWEEN -180 AND 180),
    ADD CONSTRAINT markets_location_whole CHECK ((latitude IS NULL) = (longitude IS NULL));
