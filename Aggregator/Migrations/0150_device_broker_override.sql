-- More than one broker: the broker an operator pinned a device to (PUT /devices/{id}/broker),
-- overriding the rendezvous hash of its id over the configured broker names. NULL: the hash decides.
-- A name no longer configured is ignored (the hash decides) until the override is changed.
ALTER TABLE devices ADD COLUMN broker_override text
    CHECK (broker_override ~ '^[a-z0-9][a-z0-9-]{0,31}$');
