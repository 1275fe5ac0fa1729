-- A task still to do is withdrawn when its merchant leaves its stall (退出经营): nobody is
-- left to inspect. The leaving looks up the merchant's open tasks.
ALTER TABLE tasks DROP CONSTRAINT tasks_state_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_state_check
    CHECK (state IN ('open', 'claimed', 'completed', 'withdrawn'));
CREATE INDEX tasks_merchant_open ON tasks (merchant_id) WHERE state IN ('open', 'claimed');
