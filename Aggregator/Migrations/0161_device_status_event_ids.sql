-- Live events: PostgreSQL delivers identical payloads on one channel only once per transaction,
-- so a device that went online, offline and online again within one batch of states (0160) in
-- one millisecond lost its last `device.status` event, and dashboards kept it offline. Each
-- `device.status` payload now carries `id`, a number of its own from a sequence, so no two are
-- identical. Otherwise as in 0032.
CREATE SEQUENCE device_status_event_ids;

CREATE OR REPLACE FUNCTION outpost_notify_device_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status OR NEW.decommissioned_at IS DISTINCT FROM OLD.decommissioned_at THEN
        PERFORM pg_notify('outpost_events', json_build_object(
            'type', 'device.status', 'id', nextval('device_status_event_ids'), 'device', NEW.id,
            'status', CASE WHEN NEW.decommissioned_at IS NOT NULL THEN 'decommissioned' ELSE NEW.status END,
            'at', coalesce(NEW.status_changed_at, now()))::text);
    END IF;
    RETURN NULL;
END
$$;
