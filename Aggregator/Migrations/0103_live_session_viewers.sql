-- Live view: how many browsers watch a camera's mountpoint, as Janus counted at the last check.
-- Ingest copies it into the camera's stream_stats events as `viewers` while the camera is live.
ALTER TABLE live_sessions ADD COLUMN viewers integer NOT NULL DEFAULT 0 CHECK (viewers >= 0);
