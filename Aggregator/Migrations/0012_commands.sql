-- Commands for devices: queued -> sent -> succeeded | failed | expired.
CREATE TABLE commands (
    id            text        PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
    device        text        NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    name          text        NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
    args          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status        text        NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sent', 'succeeded', 'failed', 'expired')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text        NOT NULL,
    expires_at    timestamptz NOT NULL,
    sent_at       timestamptz,
    finished_at   timestamptz,
    output        jsonb,
    error_code    text,
    error_message text
);
-- The dispatcher's queue.
CREATE INDEX commands_queued ON commands (created_at) WHERE status = 'queued';
-- The expiry sweep.
CREATE INDEX commands_open_expiry ON commands (expires_at) WHERE status IN ('queued', 'sent');
-- A device's command history.
CREATE INDEX commands_device_created ON commands (device, created_at DESC);

-- Wakes the aggregators' dispatchers as soon as a command is queued.
CREATE FUNCTION outpost_notify_command_queued() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outpost_commands', NEW.device);
    RETURN NULL;
END
$$;
CREATE TRIGGER commands_notify AFTER INSERT ON commands
    FOR EACH ROW EXECUTE FUNCTION outpost_notify_command_queued();
