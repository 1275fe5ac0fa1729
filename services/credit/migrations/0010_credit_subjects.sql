-- A merchant's credit is its credit subject's (信用主体): every registration of one 统一社会信用代码
-- counts the entries of all of them (services/credit/domain/ledger.py). The code comes with the
-- registry's snapshots; rows of merchants seen before this migration learn it with their next
-- snapshot (a rebuild from the topics learns every one at once).
ALTER TABLE merchant_status ADD COLUMN credit_code text;
CREATE INDEX merchant_status_credit_code ON merchant_status (credit_code)
    WHERE credit_code IS NOT NULL;
