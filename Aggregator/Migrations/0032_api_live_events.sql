-- Live events for dashboards: each change worth showing is announced on the
-- `outpost_events` channel as a small JSON object, and every aggregator's admin API
-- relays what it hears to its SSE subscribers, whichever aggregator made the change.

CREATE FUNCTION outpost_notify_device_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status OR NEW.decommissioned_at IS DISTINCT FROM OLD.decommissioned_at THEN
        PERFORM pg_notify('outpost_events', json_build_object(
            'type', 'device.status', 'device', NEW.id,
            'status', CASE WHEN NEW.decommissioned_at IS NOT NULL THEN 'decommissioned' ELSE NEW.status END,
            'at', coalesce(NEW.status_changed_at, now()))::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER devices_notify_status AFTER UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION outpost_notify_device_status();

-- Command state changes (sent, succeeded, failed, expired). `commands` belongs to ingest
-- (0012_commands.sql, which runs first); the trigger is added only where the table exists.
CREATE FUNCTION outpost_notify_command_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM pg_notify('outpost_events', json_build_object(
            'type', 'command.status', 'device', NEW.device, 'command', NEW.id, 'name', NEW.name,
            'status', NEW.status, 'errorCode', NEW.error_code, 'at', now())::text);
    END IF;
    RETURN NULL;
END
$$;
DO $$
BEGIN
    IF to_regclass('commands') IS NOT NULL THEN
        CREATE TRIGGER commands_notify_status AFTER UPDATE OF status ON commands
            FOR EACH ROW EXECUTE FUNCTION outpost_notify_command_status();
    END IF;
END
$$;
