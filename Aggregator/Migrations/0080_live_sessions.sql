-- Live view (docs/streaming.md): one Janus mountpoint per camera while anyone watches.
-- The SRTP key is not kept here: only the agent's start_stream command and Janus hold it.
CREATE TABLE live_sessions (
    device          text        PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    mountpoint      integer     NOT NULL UNIQUE CHECK (mountpoint > 0),
    rtp_port        integer     NOT NULL CHECK (rtp_port BETWEEN 1 AND 65535),
    rtcp_port       integer     NOT NULL CHECK (rtcp_port BETWEEN 1 AND 65535),
    start_command   text        NOT NULL,
    started_by      text        NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now(),
    -- When a viewer was last seen on the mountpoint (started_at until the first one).
    last_viewer_at  timestamptz NOT NULL DEFAULT now()
);

-- A command's SRTP key is needed only until the agent has it: once the command is final,
-- the stored arguments keep "[redacted]" in its place, whichever code path finished it.
CREATE FUNCTION outpost_redact_srtp_key() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('succeeded', 'failed', 'expired') AND NEW.args ? 'srtpKey'
       AND jsonb_typeof(NEW.args -> 'srtpKey') = 'string' THEN
        NEW.args := jsonb_set(NEW.args, '{srtpKey}', '"[redacted]"');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER commands_redact_srtp_key BEFORE UPDATE OF status ON commands
    FOR EACH ROW EXECUTE FUNCTION outpost_redact_srtp_key();
