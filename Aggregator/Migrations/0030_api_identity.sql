-- Admin API identity: users, refresh-token families, API keys, access-token signing keys.

CREATE TABLE api_users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    -- bcrypt ($2b$), never the password.
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);

-- One row per refresh token ever issued. A login starts a family; each refresh marks its
-- token used and issues the next one in the same family. Presenting a used token again
-- (a stolen copy) revokes the whole family.
CREATE TABLE api_refresh_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES api_users (id) ON DELETE CASCADE,
    -- SHA-256 of the 256-bit token.
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);

CREATE INDEX api_refresh_tokens_family ON api_refresh_tokens (family_id);

CREATE TABLE api_keys (
    -- The public part of the key (`opk_{id}_{secret}`).
    id           text PRIMARY KEY CHECK (id ~ '^[a-f0-9]{16}$'),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- SHA-256 of the secret part.
    key_hash     bytea NOT NULL,
    role         text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

CREATE TABLE api_signing_keys (
    kid         text PRIMARY KEY,
    -- P-256 private scalar. The database already guards password hashes; it guards this too.
    private_key bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    retired_at  timestamptz
);
