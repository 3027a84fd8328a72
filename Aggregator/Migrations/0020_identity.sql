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
    device_id   text REFERENCES devices (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('device', 'server', 'service', 'session_terminator')),
    not_before  timestamptz NOT NULL,
    not_after   timestamptz NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE INDEX certificates_device ON certificates (device_id);
CREATE INDEX certificates_revoked ON certificates (not_after) WHERE revoked_at IS NOT NULL;

-- Monotonic CRL numbers (RFC 5280 §5.2.3), shared by every aggregator.
CREATE SEQUENCE crl_number;
