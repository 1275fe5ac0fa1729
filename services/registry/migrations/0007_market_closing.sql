-- 停业: a market closed for good keeps its row (its assessments, inspections and disclosures
-- name it) with status 'closed', the day and why. It closes once no merchant trades there.
ALTER TABLE markets
    ADD COLUMN status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    ADD COLUMN closed_on date,
    ADD COLUMN closed_reason text,
    ADD CONSTRAINT markets_closed_whole CHECK ((status = 'closed') = (closed_on IS NOT NULL));
