-- Offsets stored with the state they produced: a batch consumer that keeps its effects in
-- Postgres records here, in the same transaction, the next offset to handle per partition, so a
-- batch redelivered after a crash (effects committed, Kafka offsets not) is recognised and
-- skipped record by record, without an inbox row per message.
CREATE TABLE consumer_offsets (
    consumer    text NOT NULL,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);
