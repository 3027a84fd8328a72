-- Recordings (docs/recordings.md): MP4 segments made at the centre from the camera's one
-- stream, with a JPEG thumbnail each. A row says `complete` only after its file is fsynced.
CREATE TABLE recordings (
    id              bigserial   PRIMARY KEY,
    device          text        NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz NOT NULL CHECK (ended_at >= started_at),
    duration_ms     integer     NOT NULL CHECK (duration_ms >= 0),
    bytes           bigint      NOT NULL CHECK (bytes >= 0),
    -- Relative to the recordings directory: {device}/{file}.mp4 and .jpg.
    path            text        NOT NULL UNIQUE,
    thumbnail_path  text,
    codec           text        NOT NULL DEFAULT '',
    width           integer     NOT NULL DEFAULT 0,
    height          integer     NOT NULL DEFAULT 0,
    state           text        NOT NULL CHECK (state IN ('recording', 'complete', 'missing', 'deleted')),
    -- Why a deleted row went (age, quota, device_quota, floor, manual, partial).
    deleted_reason  text,
    deleted_at      timestamptz
);
CREATE INDEX recordings_device_time ON recordings (device, started_at, id);
CREATE INDEX recordings_live ON recordings (started_at, id) WHERE state = 'complete';

-- Per camera: off, continuous, or on_demand until `until`; optional age and byte limits
-- that tighten the global ones.
CREATE TABLE recording_settings (
    device          text        PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    mode            text        NOT NULL CHECK (mode IN ('off', 'continuous', 'on_demand')),
    until           timestamptz,
    quota_bytes     bigint      CHECK (quota_bytes > 0),
    max_age_days    integer     CHECK (max_age_days > 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      text        NOT NULL
);

-- Which aggregator records which camera: the claim is renewed while it records and may be
-- taken over once its heartbeat is older than the takeover interval.
CREATE TABLE recording_claims (
    device          text        PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    owner           text        NOT NULL,
    heartbeat_at    timestamptz NOT NULL DEFAULT now()
);
