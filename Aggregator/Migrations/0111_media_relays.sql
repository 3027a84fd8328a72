-- One stream feeds recording and live view on any aggregator (docs/recordings.md, "One
-- stream, several aggregators"). The stream's SRTP key is kept while the stream runs, as
-- the one thing aggregators share is this database: the recorder takes over a live view's
-- stream with its key (Janus's mountpoint and its viewers stay), and a live view on any
-- aggregator joins a recorded camera's stream. A row goes when its stream ends; the key is
-- never returned by the API nor logged.
ALTER TABLE live_sessions
    ADD COLUMN srtp_key   text,
    -- The address the mountpoint receives on (the creating aggregator's live.media_address).
    ADD COLUMN media_host text;

-- The recorder's relay of a camera: who runs it, the stream's key and the agent's offer.
-- Live sessions with start_command 'recording' are the relay's extra destinations.
CREATE TABLE media_relays (
    device      text        PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    owner       text        NOT NULL,
    srtp_key    text        NOT NULL,
    offer       text        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now()
);
