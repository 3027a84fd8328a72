-- Live view: each Janus session a browser creates through the aggregator's relay belongs to
-- the caller that created it (a user or an API key, `kind:id`); the relay refuses that session
-- id to everyone else. Kept in PostgreSQL so any aggregator sharing the Janus knows the owner.
-- Rows unused for 10 minutes (Janus drops a session after 60 s without a keep-alive) are swept.
CREATE TABLE live_relay_sessions (
    janus_session bigint      PRIMARY KEY,
    owner         text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX live_relay_sessions_last_used ON live_relay_sessions (last_used_at);
