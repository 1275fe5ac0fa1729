-- A clerk registering a merchant is told where its 统一社会信用代码 is registered already (the
-- business's other stalls, or a registration that left): credit counts them as one business.
CREATE INDEX merchants_credit_code ON merchants (credit_code);
