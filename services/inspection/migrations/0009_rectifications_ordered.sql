-- The rectification ledger (整改台账, GET /rectifications/issued) lists the orders made in a
-- window (a month), newest first, in keyset pages of (ordered_at, id). Scanned backwards, this
-- index gives the listing's order and bounds a page by its window and its `(ordered_at, id) <`
-- edge; ids compare as code points ("C"), as the query and the in-memory fake compare them.
CREATE INDEX rectifications_ordered ON rectifications (ordered_at, id COLLATE "C");
