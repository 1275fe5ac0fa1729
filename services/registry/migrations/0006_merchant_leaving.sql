-- 退出经营: a merchant who stopped trading at its stall keeps its row (its grade, inspections and
-- orders name it) with status 'left', the day and why; its stall is free for the next merchant,
-- so "one merchant per stall in a market" holds among those trading there only.
ALTER TABLE merchants
    DROP CONSTRAINT merchants_status_check,
    ADD CONSTRAINT merchants_status_check
        CHECK (status IN ('active', 'suspended', 'licence_expired', 'left')),
    ADD COLUMN left_on date,
    ADD COLUMN left_reason text,
    ADD CONSTRAINT merchants_left_whole CHECK ((status = 'left') = (left_on IS NOT NULL)),
    DROP CONSTRAINT merchants_market_id_stall_no_key;
CREATE UNIQUE INDEX merchants_trading_stall ON merchants (market_id, stall_no)
    WHERE status <> 'left';
