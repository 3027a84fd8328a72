-- Audit log: every change an operator or automation makes (commands sent, devices
-- enrolled or revoked, users and keys changed). Append-only.
CREATE TABLE audit_log (
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
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_target_at ON audit_log (target, at DESC);
