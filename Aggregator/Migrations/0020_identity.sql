-- Identity: one-time enrollment tokens and every certificate the fleet CA issued.

-- A token is stored as the hex SHA-256 of its 256-bit random secret, never the secret itself.
CREATE TABLE enrollment_tokens (
    token_hash   text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    device_id    text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    -- Set once, by the single UPDATE that consumes the token; the race loser finds it set.
    used_at      timestamptz,
    used_serial  text
);

CREATE INDEX enrollment_tokens_device ON enrollment_tokens (device_id);

-- Every issued certificate, by serial (lower-case hex). The CRL is the revoked, unexpired rows.
CREATE TABLE certificates (
    serial      text PRIMARY KEY CHECK (serial ~ '^[0-9a-f]+$'),
    -- The certificate's CN: a device id, or a service identity (svc.…) for broker and aggregator certificates.
    subject     text NOT NULL,
    -- SET NULL, not CASCADE: a deleted device's certificates must stay listed (and, below, revoked).
    device_id   text REFERENCES devices (id) ON DELETE SET NULL,
    purpose     text NOT NULL CHECK (purpose IN ('device', 'server', 'service', 'session_terminator')),
    not_before  timestamptz NOT NULL,
    not_after   timestamptz NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE INDEX certificates_device ON certificates (device_id);
CREATE INDEX certificates_revoked ON certificates (not_after) WHERE revoked_at IS NOT NULL;

-- Deleting a device revokes its certificates, so they stay on the CRL until they expire
-- (run `outpost-aggregator cert crl` or revoke before deleting, to publish it at once).
CREATE FUNCTION revoke_certificates_of_deleted_device() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE certificates SET revoked_at = coalesce(revoked_at, now()) WHERE device_id = OLD.id;
    RETURN OLD;
END;
$$;

CREATE TRIGGER devices_revoke_certificates_on_delete BEFORE DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION revoke_certificates_of_deleted_device();

-- Monotonic CRL numbers (RFC 5280 §5.2.3), shared by every aggregator.
CREATE SEQUENCE crl_number;
