-- Presence: state messages stored in batches (PresenceService), many in one statement and one
-- commit. Each element is applied as a single state message always was: in array order, so
-- two states of one device apply in arrival order and the newest wins; every status change
-- is a row of device_status_changes and, through the trigger of 0032, a NOTIFY (delivered at
-- commit, in order). A device that is unknown or revoked is left alone; its ordinal (1-based)
-- is returned so the caller counts the message as refused.
--
-- Arrays carry no NULLs (the client encodes none): -1 stands for an absent number (every one
-- is validated non-negative), has_version[i] false for an absent version, '' for an absent
-- certificate serial (validated as 1-64 hex digits).
CREATE FUNCTION outpost_apply_states(
    ids text[], statuses text[], transition_ms int8[], received_ms int8[], live boolean[],
    has_version boolean[], versions text[], buffer_depths int8[], dropped_counts int8[],
    cert_serials text[], cert_not_after_ms int8[])
RETURNS int4[]
LANGUAGE plpgsql AS $$
DECLARE
    refused        int4[] := '{}';
    prev_status    text;
    prev_last_seen timestamptz;
    new_changed_at timestamptz;
BEGIN
    -- Rows locked in id order, as the last-seen statement locks them, so writers wait rather than deadlock.
    PERFORM count(*) FROM (SELECT 1 FROM devices WHERE id = ANY(ids) AND revoked_at IS NULL ORDER BY id FOR NO KEY UPDATE) AS locked;
    FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
        SELECT d.status, d.last_seen INTO prev_status, prev_last_seen
          FROM devices d WHERE d.id = ids[i] AND d.revoked_at IS NULL;
        IF NOT FOUND THEN
            refused := refused || i;
            CONTINUE;
        END IF;
        UPDATE devices d SET
            status = statuses[i],
            status_changed_at = CASE WHEN prev_status = statuses[i] THEN d.status_changed_at
                ELSE coalesce(timestamptz 'epoch' + nullif(transition_ms[i], -1) * interval '1 millisecond',
                              prev_last_seen,
                              timestamptz 'epoch' + received_ms[i] * interval '1 millisecond') END,
            status_cause = CASE WHEN prev_status = statuses[i] THEN d.status_cause ELSE 'state' END,
            version = CASE WHEN has_version[i] THEN versions[i] ELSE d.version END,
            buffer_depth = coalesce(nullif(buffer_depths[i], -1), d.buffer_depth),
            dropped = coalesce(nullif(dropped_counts[i], -1), d.dropped),
            cert_serial = coalesce(nullif(cert_serials[i], ''), d.cert_serial),
            cert_not_after = coalesce(timestamptz 'epoch' + nullif(cert_not_after_ms[i], -1) * interval '1 millisecond',
                                      d.cert_not_after),
            last_seen = CASE WHEN live[i]
                THEN greatest(d.last_seen, timestamptz 'epoch' + received_ms[i] * interval '1 millisecond')
                ELSE d.last_seen END
        WHERE d.id = ids[i]
        RETURNING d.status_changed_at INTO new_changed_at;
        IF prev_status IS DISTINCT FROM statuses[i] THEN
            INSERT INTO device_status_changes (device, status, changed_at, cause)
            VALUES (ids[i], statuses[i], new_changed_at, 'state');
        END IF;
    END LOOP;
    RETURN refused;
END
$$;
