-- The registry's status of each market in inspection's view: a trigger about a market closed
-- for good (停业) opens no task. 停业 came with this column's release (contracts 1.8.0), so a
-- stored market is open; one closed on a development stack before this migration reads open
-- until the view is rebuilt from the registry's topic.
ALTER TABLE markets ADD COLUMN status text NOT NULL DEFAULT 'open';
