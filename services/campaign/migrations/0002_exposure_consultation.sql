-- Public exposure with deadline rectification (曝光 / 舆论监督, 限期整改) and public consultation
-- on renovation plans (征求群众意见), issue 17.
--
-- An exposure is a disclosure of kind 'exposure': its source and reference, who recorded it and
-- its re-checks live in `body`; `late_flagged_at` is set once, by the campaign clock, when its
-- deadline passed unrectified. A renovation plan's consultation and its comments live in the
-- project's `body` (`consultation`), like its stages and checks.

ALTER TABLE disclosures DROP CONSTRAINT IF EXISTS disclosures_kind_check;
ALTER TABLE disclosures ADD CONSTRAINT disclosures_kind_check
    CHECK (kind IN ('late_milestone', 'failed_check', 'overdue_rectification', 'exposure'));
ALTER TABLE disclosures ADD COLUMN late_flagged_at timestamptz;

-- The clock's question: open exposures past their deadline, not flagged yet.
CREATE INDEX disclosures_exposures_to_flag ON disclosures (deadline)
    WHERE kind = 'exposure' AND state = 'open' AND late_flagged_at IS NULL;
-- GET /exposures: by deadline.
CREATE INDEX disclosures_exposures ON disclosures (district, deadline) WHERE kind = 'exposure';
