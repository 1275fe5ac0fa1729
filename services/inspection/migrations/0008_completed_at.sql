-- The inspection ledger (检查台账, GET /inspections) lists completed tasks by when they were
-- completed, a window (a month) at a time, newest first, in keyset pages of (completed_at, id).
-- That time lived only inside the jsonb, and `(task ->> 'completed_at')::timestamptz` cannot be
-- indexed (a text-to-timestamptz cast is not immutable): every page would read and cast every
-- task ever made. It becomes a column, filled from the jsonb for the tasks completed already.
ALTER TABLE tasks ADD COLUMN completed_at timestamptz;
UPDATE tasks SET completed_at = (task ->> 'completed_at')::timestamptz
 WHERE state = 'completed' AND task ->> 'completed_at' IS NOT NULL;
-- Only completed tasks are listed by it. Scanned backwards, the index gives the listing's order
-- and bounds a page by its window and by its `(completed_at, id) <` edge; ids compare as code
-- points ("C"), as the query and the in-memory fake compare them, whatever the locale. District
-- and market are filtered among the window's rows.
CREATE INDEX tasks_completed ON tasks (completed_at, id COLLATE "C") WHERE state = 'completed';
