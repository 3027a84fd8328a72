-- Devices: one row per device id, created when an enrollment token is issued for it.
-- Owned jointly: identity (enrollment, revocation) and ingest/state (status, last seen).
CREATE TABLE devices (
    id                text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    kind              text NOT NULL DEFAULT 'meter' CHECK (kind IN ('meter', 'camera')),
    name              text,
    tags              text[] NOT NULL DEFAULT '{}',
    metadata          jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Presence, from the retained state topic, the last will and the silence timeout.
    status            text NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'online', 'offline')),
    status_changed_at timestamptz,
    last_seen         timestamptz,
    version           text,
    buffer_depth      bigint,
    dropped           bigint,
    created_at        timestamptz NOT NULL DEFAULT now(),
    -- Set when every certificate of the device is revoked; ingest refuses its readings from then on.
    revoked_at        timestamptz,
    decommissioned_at timestamptz
);

CREATE INDEX devices_status ON devices (status);
CREATE INDEX devices_tags ON devices USING gin (tags);
