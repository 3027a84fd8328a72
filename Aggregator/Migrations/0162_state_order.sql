-- Presence: state messages applied in the order the centre received them, across aggregators.
-- With a shared subscription two aggregators may hold states of one device in their batches,
-- and one may write later (a batch held for a retry) an older state than the other already
-- wrote. Each device now keeps when the centre received the state it shows
-- (`state_received_at`); a state received earlier than that is ignored, except that a live one
-- still counts as contact (last_seen). Equal times apply in array order, as before.
--
-- Why the receipt time and not the message's `ts`: a will carries the time its connection was
-- made, earlier than the `online` the agent publishes on that connection, so by `ts` the will
-- would lose to the state it ends. Receipt times follow the broker's delivery order up to the
-- clock difference between aggregators (NTP keeps it to milliseconds), and the reorder this
-- closes spans a retry hold (hundreds of milliseconds and more). States that arrive closer
-- together than that difference at two aggregators may still apply in either order.
--
-- A receipt time counts as at most the database's `now()` (the transaction's start), both the
-- incoming one and the stored one it is compared with, and it is stored so clamped: an
-- aggregator whose clock runs ahead cannot hold a device's status past the present (every
-- correctly-clocked state, the will and the periodic state too, would be ignored for that
-- long, and a connected device could show offline). A reorder window (ignore only what is a
-- bounded time older) was not chosen: a batch held for a retry longer than the window would
-- bring back an older status, while an aggregator running behind only delays its own states by
-- its offset (and the silence sweep and activity still correct presence). Last-seen and
-- status-change times keep the unclamped receipt time, as before.
--
-- The silence sweep and revocation (DevicesStore.markSilent, revoke) set `state_received_at` to
-- the time they act, so a state received before them and written later (a held batch) is
-- ignored rather than undoing them.
ALTER TABLE devices ADD COLUMN state_received_at timestamptz;

CREATE OR REPLACE FUNCTION outpost_apply_states(
    ids text[], statuses text[], transition_ms int8[], received_ms int8[], live boolean[],
    has_version boolean[], versions text[], buffer_depths int8[], dropped_counts int8[],
    cert_serials text[], cert_not_after_ms int8[])
RETURNS int4[]
LANGUAGE plpgsql AS $$
DECLARE
    refused        int4[] := '{}';
    prev_status    text;
    prev_last_seen timestamptz;
    prev_received  timestamptz;
    received       timestamptz;
    new_changed_at timestamptz;
BEGIN
    -- Rows locked in id order, as the last-seen statement locks them, so writers wait rather than deadlock.
    PERFORM count(*) FROM (SELECT 1 FROM devices WHERE id = ANY(ids) AND revoked_at IS NULL ORDER BY id FOR NO KEY UPDATE) AS locked;
    FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
        SELECT d.status, d.last_seen, d.state_received_at INTO prev_status, prev_last_seen, prev_received
          FROM devices d WHERE d.id = ids[i] AND d.revoked_at IS NULL;
        IF NOT FOUND THEN
            refused := refused || i;
            CONTINUE;
        END IF;
        received := timestamptz 'epoch' + received_ms[i] * interval '1 millisecond';
        IF prev_received IS NOT NULL AND least(received, now()) < least(prev_received, now()) THEN
            IF live[i] THEN
                UPDATE devices d SET last_seen = greatest(d.last_seen, received) WHERE d.id = ids[i];
            END IF;
            CONTINUE;
        END IF;
        UPDATE devices d SET
            status = statuses[i],
            status_changed_at = CASE WHEN prev_status = statuses[i] THEN d.status_changed_at
                ELSE coalesce(timestamptz 'epoch' + nullif(transition_ms[i], -1) * interval '1 millisecond',
                              prev_last_seen, received) END,
            status_cause = CASE WHEN prev_status = statuses[i] THEN d.status_cause ELSE 'state' END,
            version = CASE WHEN has_version[i] THEN versions[i] ELSE d.version END,
            buffer_depth = coalesce(nullif(buffer_depths[i], -1), d.buffer_depth),
            dropped = coalesce(nullif(dropped_counts[i], -1), d.dropped),
            cert_serial = coalesce(nullif(cert_serials[i], ''), d.cert_serial),
            cert_not_after = coalesce(timestamptz 'epoch' + nullif(cert_not_after_ms[i], -1) * interval '1 millisecond',
                                      d.cert_not_after),
            last_seen = CASE WHEN live[i] THEN greatest(d.last_seen, received) ELSE d.last_seen END,
            state_received_at = least(received, now())
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
