-- Photos of a re-check (复查) of a rectification order (docs/console.md: evidence at the stall). They are kept
-- beside the inspection's own, under the task whose outcome ordered it (so its district and
-- story), with the order they were attached to; a task's own photos have none. At most 5 await
-- each check (the service's limit).
ALTER TABLE task_photos ADD COLUMN rectification_id text REFERENCES rectifications (id);
CREATE INDEX task_photos_rectification ON task_photos (rectification_id, uploaded_at, id)
    WHERE rectification_id IS NOT NULL;
