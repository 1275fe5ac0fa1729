-- Photos an inspector attaches to a task (at most 5; type judged by content, size capped by the
-- service), kept here and served only to staff of the task's district. The bytes live beside
-- their facts; listing reads the facts only.
CREATE TABLE task_photos (
    id             text PRIMARY KEY,
    task_id        text NOT NULL REFERENCES tasks (id),
    district       text NOT NULL,
    content_type   text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    size           integer NOT NULL CHECK (size > 0),
    sha256         text NOT NULL,
    data           bytea NOT NULL,
    -- Who uploaded it: the subject, and {"subject", "name"} as the identity provider named them.
    uploaded_by    text NOT NULL,
    uploaded_actor jsonb NOT NULL,
    uploaded_at    timestamptz NOT NULL
);
CREATE INDEX task_photos_task ON task_photos (task_id, uploaded_at, id);
