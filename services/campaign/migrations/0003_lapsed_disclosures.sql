-- A disclosed overdue rectification lapses when its order does (its merchant left its stall,
-- 退出经营): over, never rectified.
ALTER TABLE disclosures DROP CONSTRAINT disclosures_state_check;
ALTER TABLE disclosures ADD CONSTRAINT disclosures_state_check
    CHECK (state IN ('open', 'resolved', 'lapsed'));
