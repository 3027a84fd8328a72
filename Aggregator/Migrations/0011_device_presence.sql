-- Presence: why a device's status last changed, and every transition with its time.
ALTER TABLE devices ADD COLUMN status_cause text
    CHECK (status_cause IN ('state', 'silence', 'activity'));

-- The silence sweep: online devices by last contact.
CREATE INDEX devices_online_last_seen ON devices (last_seen) WHERE status = 'online';

CREATE TABLE device_status_changes (
    device      text        NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    status      text        NOT NULL CHECK (status IN ('online', 'offline')),
    -- When the transition happened (see docs/aggregator.md for how each cause dates it).
    changed_at  timestamptz NOT NULL,
    cause       text        NOT NULL CHECK (cause IN ('state', 'silence', 'activity')),
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_status_changes_device_at ON device_status_changes (device, changed_at DESC);

-- Events a device reports besides readings (stream statistics, buffer clean-ups, warnings).
CREATE TABLE device_events (
    id          bigserial PRIMARY KEY,
    device      text        NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    ts          timestamptz NOT NULL,
    kind        text        NOT NULL,
    data        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_events_device_ts ON device_events (device, ts DESC);
CREATE INDEX device_events_ts ON device_events (ts);
