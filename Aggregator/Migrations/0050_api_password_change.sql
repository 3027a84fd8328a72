-- A user whose password an admin reset to a one-time password must choose a new one
-- before anything else: until then only /me, /me/password and /auth/* answer.
ALTER TABLE api_users ADD COLUMN IF NOT EXISTS must_change_password boolean NOT NULL DEFAULT false;
