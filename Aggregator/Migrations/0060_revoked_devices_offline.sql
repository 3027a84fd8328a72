-- Revoking a device takes it offline at once, with its own cause: the silence sweep skips
-- revoked devices, so without this a revoked device stayed `online` indefinitely.
ALTER TABLE devices DROP CONSTRAINT devices_status_cause_check;
ALTER TABLE devices ADD CONSTRAINT devices_status_cause_check
    CHECK (status_cause IN ('state', 'silence', 'activity', 'revoked'));
ALTER TABLE device_status_changes DROP CONSTRAINT device_status_changes_cause_check;
ALTER TABLE device_status_changes ADD CONSTRAINT device_status_changes_cause_check
    CHECK (cause IN ('state', 'silence', 'activity', 'revoked'));
