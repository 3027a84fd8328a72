-- Exactly once by (device, buffer, seq), whatever the ts (docs/aggregator.md, "Schema").
--
-- The readings key carries ts (the partition column), so the database alone cannot refuse a
-- second row for the same (device, buffer, seq) with another ts. A key table beside the
-- partitions would, at about half the ingest rate. Instead each (device, buffer) has a
-- high-water mark: the highest seq stored. A batch's transaction raises the marks of the
-- buffers it writes and locks those rows; a reading above the mark it found is new by
-- construction (seqs are never reused within a buffer) and inserted as is, and only a
-- reading at or below it (a re-delivery, a rewind, a batch that lost a race) is looked up in
-- the partitions by (device, buffer, seq), a prefix of every partition's primary key.
-- In-order ingest pays one row update per buffer per batch.
--
-- Retention drops partitions but never lowers a mark: a reading re-sent after its partition
-- was dropped is looked up, not found, and stored again (as before this migration).
CREATE TABLE reading_marks (
    device    text   NOT NULL,
    buffer    bigint NOT NULL,
    -- The highest seq stored for this buffer.
    high_seq  bigint NOT NULL,
    -- high_seq before the last batch raised it (NULL: none before): RETURNING of the upsert
    -- below can then give the mark the batch found, which PostgreSQL 15 cannot return otherwise.
    prior_seq bigint,
    PRIMARY KEY (device, buffer)
) WITH (fillfactor = 50); -- room on the page for HOT updates: one per buffer per batch

-- Marks for the readings already stored (one pass over the table, at upgrade).
INSERT INTO reading_marks (device, buffer, high_seq)
SELECT device, buffer, max(seq) FROM readings GROUP BY device, buffer;

-- Stores one ingest batch, given as column arrays (one element per reading, each
-- (device, buffer, seq) at most once) and per (device, buffer) the lowest and highest seq
-- of the batch. Keeps only devices that exist and are not revoked. With `check_all`, every
-- reading is looked up whatever the marks (the fallback when a reading above a mark was
-- already stored, i.e. written outside this function).
--
-- Returns the readings inserted, those not inserted because their (device, buffer, seq) was
-- stored with another ts, metric or value (`conflicting`) and their devices, and the accepted
-- and revoked ids.
--
-- Concurrency: two aggregators may write batches of one device at once (shared
-- subscription). The upsert of the marks locks their rows until commit, in (device, buffer)
-- order; the second batch waits, and its later statements (READ COMMITTED: a new snapshot per
-- statement of a volatile function) see the first one's rows and its raised mark.
--
-- The marks are written (a new row version) by every batch, even one whose readings were all
-- stored before: so its commit is a real write that waits for a synchronous standby
-- (Patroni) like any other before the aggregator acks it, and a re-delivered batch is never
-- acked on the strength of a commit the standby may not have.
CREATE FUNCTION outpost_store_readings(
    devices text[], buffers int8[], seqs int8[], ts_ms int8[], metrics text[], vals float8[],
    mark_devices text[], mark_buffers int8[], mark_low int8[], mark_high int8[], check_all boolean,
    OUT inserted int8, OUT conflicting int8, OUT conflicting_devices text[], OUT accepted text[], OUT revoked text[])
LANGUAGE plpgsql AS $$
DECLARE
    found_devices text[];
    found_buffers int8[];
    found_prior   int8[];
    any_below     boolean;
BEGIN
    SELECT coalesce(array_agg(d.id) FILTER (WHERE d.revoked_at IS NULL), '{}'),
           coalesce(array_agg(d.id) FILTER (WHERE d.revoked_at IS NOT NULL), '{}')
      INTO accepted, revoked
      FROM devices d WHERE d.id = ANY(mark_devices);

    WITH raised AS (
        INSERT INTO reading_marks AS m (device, buffer, high_seq)
        SELECT g.device, g.buffer, g.high
        FROM unnest(mark_devices, mark_buffers, mark_high) AS g(device, buffer, high)
        WHERE g.device = ANY(accepted)
        ORDER BY g.device, g.buffer
        ON CONFLICT (device, buffer) DO UPDATE
            SET high_seq = greatest(m.high_seq, excluded.high_seq), prior_seq = m.high_seq
        RETURNING m.device, m.buffer, m.prior_seq
    )
    SELECT array_agg(r.device), array_agg(r.buffer), array_agg(r.prior_seq),
           coalesce(bool_or(check_all OR l.low <= r.prior_seq), false)
      INTO found_devices, found_buffers, found_prior, any_below
      FROM raised r
      JOIN unnest(mark_devices, mark_buffers, mark_low) AS l(device, buffer, low)
        ON l.device = r.device AND l.buffer = r.buffer;

    IF NOT any_below THEN
        -- Every reading is above its mark: new by construction, no lookup.
        INSERT INTO readings (device, buffer, seq, ts, metric, value)
        SELECT b.device, b.buffer, b.seq, timestamptz 'epoch' + b.ts_ms * interval '1 millisecond', b.metric, b.value
        FROM unnest(devices, buffers, seqs, ts_ms, metrics, vals) AS b(device, buffer, seq, ts_ms, metric, value)
        JOIN unnest(accepted) AS a(id) ON a.id = b.device;
        GET DIAGNOSTICS inserted = ROW_COUNT;
        conflicting := 0;
        conflicting_devices := '{}';
        RETURN;
    END IF;

    WITH batch AS (
        SELECT b.device, b.buffer, b.seq, timestamptz 'epoch' + b.ts_ms * interval '1 millisecond' AS ts, b.metric, b.value,
               check_all OR b.seq <= m.prior AS below
        FROM unnest(devices, buffers, seqs, ts_ms, metrics, vals) AS b(device, buffer, seq, ts_ms, metric, value)
        JOIN unnest(found_devices, found_buffers, found_prior) AS m(device, buffer, prior)
          ON m.device = b.device AND m.buffer = b.buffer
    ), looked AS (
        SELECT batch.*, stored.seq IS NOT NULL AS stored,
               stored.seq IS NOT NULL AND (stored.ts, stored.metric, stored.value)
                   IS DISTINCT FROM (batch.ts, batch.metric, batch.value) AS differs
        FROM batch LEFT JOIN LATERAL (
            SELECT r.seq, r.ts, r.metric, r.value FROM readings r
            WHERE batch.below AND r.device = batch.device AND r.buffer = batch.buffer AND r.seq = batch.seq
            LIMIT 1
        ) stored ON true
    ), written AS (
        INSERT INTO readings (device, buffer, seq, ts, metric, value)
        SELECT device, buffer, seq, ts, metric, value FROM looked WHERE NOT stored
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM written), count(*) FILTER (WHERE differs),
           coalesce(array_agg(DISTINCT device) FILTER (WHERE differs), '{}')
      INTO inserted, conflicting, conflicting_devices
      FROM looked;
END
$$;
