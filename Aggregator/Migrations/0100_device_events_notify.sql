-- The device page's timeline appends a device's stored events as they arrive: each row of
-- `device_events` is announced on `outpost_events` (see 0032) as a `device.event`. NOTIFY
-- payloads stop at 8000 bytes, so `data` travels only up to 4000 bytes of JSON text; a
-- larger one is announced with `data` null and `truncated` true (GET /devices/{id}/events has it).
CREATE FUNCTION outpost_notify_device_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    small boolean := octet_length(NEW.data::text) <= 4000;
BEGIN
    PERFORM pg_notify('outpost_events', json_build_object(
        'type', 'device.event', 'device', NEW.device, 'id', NEW.id, 'kind', NEW.kind, 'at', NEW.ts,
        'data', CASE WHEN small THEN NEW.data END, 'truncated', NOT small)::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER device_events_notify AFTER INSERT ON device_events
    FOR EACH ROW EXECUTE FUNCTION outpost_notify_device_event();
