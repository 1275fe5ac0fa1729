-- Suggestions (意见建议): the whole value as jsonb (Suggestion.to_dict(), with the author's name
-- and phone when given, which never leave this schema), and the columns lists filter on. The
-- events on complaints.suggestions.v1 are the public record, the author masked.
CREATE TABLE suggestions (
    id             text PRIMARY KEY,
    tracking_code  text NOT NULL UNIQUE,
    about          text NOT NULL CHECK (about IN ('market', 'campaign')),
    market_id      text,
    district       text,
    state          text NOT NULL CHECK (state IN ('received', 'answered')),
    publish_answer boolean NOT NULL,
    received_at    timestamptz NOT NULL,
    answered_at    timestamptz,
    version        integer NOT NULL,
    suggestion     jsonb NOT NULL,
    CHECK ((about = 'market') = (market_id IS NOT NULL))
);
CREATE INDEX suggestions_district_state ON suggestions (district, state, received_at);
-- The public list: answered ones whose author agreed, newest answer first.
CREATE INDEX suggestions_public ON suggestions (market_id, answered_at DESC)
    WHERE state = 'answered' AND publish_answer;
