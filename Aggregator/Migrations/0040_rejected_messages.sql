-- Dead letters: device messages that passed the wire checks but that PostgreSQL refused
-- because of their data (SQLSTATE classes 22, 23 other than the intended conflicts, 54).
-- The write path isolates such a message by splitting its batch, stores the rest, and
-- records the offender here instead of retrying it. Admins list them with
-- `GET /api/v1/rejected-messages`.
CREATE TABLE rejected_messages (
    id          bigserial   PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    device      text        NOT NULL,
    topic       text        NOT NULL,
    -- `database_refused` today; a wire code if refusals at decode are ever kept too.
    code        text        NOT NULL,
    sqlstate    text,
    -- The message re-encoded, cut to at most 1,024 bytes.
    excerpt     text        NOT NULL
);
CREATE INDEX rejected_messages_at ON rejected_messages (at DESC);
CREATE INDEX rejected_messages_device_at ON rejected_messages (device, at DESC);
