-- Transactional outbox: a service writes its outgoing events here in the same transaction as the
-- state change; the relay publishes them in id order and stamps published_at.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     text NOT NULL UNIQUE,
    topic        text NOT NULL,
    key          bytea,
    value        bytea NOT NULL,
    headers      jsonb NOT NULL DEFAULT '[]',
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;

-- Inbox: the ids of events a consumer has handled, recorded in the same transaction as the
-- effect, so a redelivered event is recognised and has no second effect.
CREATE TABLE inbox (
    consumer   text NOT NULL,
    event_id   text NOT NULL,
    topic      text NOT NULL,
    partition  integer NOT NULL,
    "offset"   bigint NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
