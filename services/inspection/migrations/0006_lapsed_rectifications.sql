-- An open rectification order lapses when its merchant leaves its stall (退出经营): nobody is
-- left to rectify or re-inspect. The leaving looks up the merchant's open orders.
ALTER TABLE rectifications DROP CONSTRAINT rectifications_state_check;
ALTER TABLE rectifications ADD CONSTRAINT rectifications_state_check
    CHECK (state IN ('open', 'verified', 'lapsed'));
CREATE INDEX rectifications_merchant_open ON rectifications (merchant_id) WHERE state = 'open';
