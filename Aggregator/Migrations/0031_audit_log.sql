-- Audit log, the same table as the aggregator's ingest migration 0013_audit_log.sql
-- (whichever runs first creates it; the other is then a no-op). The admin API and the
-- CLI write one row per change; `details` carries the source address and request id.
CREATE TABLE IF NOT EXISTS audit_log (
    id      bigserial   PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    -- Who: a user name, an API key id, or `cli:{unix user}`.
    actor   text        NOT NULL,
    -- What, as a dotted verb: `command.send`, `device.revoke`.
    action  text        NOT NULL,
    -- The object acted on, e.g. a device id or command id.
    target  text,
    details jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at DESC);
CREATE INDEX IF NOT EXISTS audit_log_target_at ON audit_log (target, at DESC);
-- The admin API filters by action.
CREATE INDEX IF NOT EXISTS audit_log_action_id ON audit_log (action, id DESC);
