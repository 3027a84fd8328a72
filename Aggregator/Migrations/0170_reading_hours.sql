-- Hourly rollup of readings (docs/aggregator.md, "Schema"): the Admin API's 1 h and 1 d
-- buckets read at most 24 rows per day instead of every reading.
--
-- One row per (device, metric, UTC hour) that has readings, with their count, sum, min and
-- max. Kept exact by statement triggers on `readings`, so it commits with the rows that
-- change it, whoever writes them: `outpost_store_readings` (one INSERT per batch), and
-- also COPY, imports and the tests' direct INSERTs. The INSERT trigger reads the
-- statement's transition table, which holds only the rows actually inserted: a duplicate
-- skipped by ON CONFLICT DO NOTHING, a conflicting reading or a re-delivery adds nothing.
--
-- Lock order: a batch first locks its buffers' marks (in (device, buffer) order), then the
-- rollup rows it changes, in (device, metric, hour) order. Batches of two buffers of one
-- device may change the same hours at once; both take those rows in the same order and
-- neither waits for a mark while holding one, so they cannot deadlock.
--
-- Retention deletes the hours before its horizon with the partitions it drops. The
-- partition functions move rows between partitions directly (not through `readings`), so
-- no trigger fires and the rollup does not change, as the readings do not.
CREATE TABLE reading_hours (
    device text             NOT NULL,
    metric text             NOT NULL,
    -- The hour's start, aligned to the epoch (UTC).
    hour   timestamptz      NOT NULL,
    count  bigint           NOT NULL,
    sum    double precision NOT NULL,
    min    double precision NOT NULL,
    max    double precision NOT NULL,
    PRIMARY KEY (device, metric, hour)
) WITH (fillfactor = 70); -- room on the page for HOT updates: live hours change with every batch

CREATE FUNCTION outpost_add_reading_hours() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reading_hours AS h (device, metric, hour, count, sum, min, max)
    SELECT device, metric, date_bin(interval '1 hour', ts, timestamptz 'epoch'), count(*), sum(value), min(value), max(value)
    FROM added
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (device, metric, hour) DO UPDATE
        SET count = h.count + excluded.count, sum = h.sum + excluded.sum,
            min = least(h.min, excluded.min), max = greatest(h.max, excluded.max);
    RETURN NULL;
END
$$;

-- min and max cannot be taken back: the hours a DELETE touched are computed again from
-- the readings left (and dropped when none are left).
CREATE FUNCTION outpost_remove_reading_hours() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM reading_hours h
    USING (SELECT DISTINCT device, metric, date_bin(interval '1 hour', ts, timestamptz 'epoch') AS hour FROM removed) t
    WHERE h.device = t.device AND h.metric = t.metric AND h.hour = t.hour;
    INSERT INTO reading_hours (device, metric, hour, count, sum, min, max)
    SELECT t.device, t.metric, t.hour, count(*), sum(r.value), min(r.value), max(r.value)
    FROM (SELECT DISTINCT device, metric, date_bin(interval '1 hour', ts, timestamptz 'epoch') AS hour FROM removed) t
    JOIN readings r ON r.device = t.device AND r.metric = t.metric AND r.ts >= t.hour AND r.ts < t.hour + interval '1 hour'
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3;
    RETURN NULL;
END
$$;

CREATE FUNCTION outpost_clear_reading_hours() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE reading_hours;
    RETURN NULL;
END
$$;

-- Taking the triggers' lock on `readings` first holds off every writer until this
-- migration commits, so the backfill below and the triggers see each reading exactly once.
LOCK TABLE readings IN SHARE ROW EXCLUSIVE MODE;

CREATE TRIGGER readings_add_hours AFTER INSERT ON readings
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION outpost_add_reading_hours();
CREATE TRIGGER readings_remove_hours AFTER DELETE ON readings
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION outpost_remove_reading_hours();
CREATE TRIGGER readings_clear_hours AFTER TRUNCATE ON readings
    FOR EACH STATEMENT EXECUTE FUNCTION outpost_clear_reading_hours();

-- The hours of the readings already stored (one pass over the table, at upgrade).
INSERT INTO reading_hours (device, metric, hour, count, sum, min, max)
SELECT device, metric, date_bin(interval '1 hour', ts, timestamptz 'epoch'), count(*), sum(value), min(value), max(value)
FROM readings
GROUP BY 1, 2, 3;

-- As in 0010, and the rollup's hours before the horizon go too: every reading before it is
-- gone (its day's partition dropped, or deleted from the default partition).
CREATE OR REPLACE FUNCTION outpost_drop_readings_before(horizon date) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    part text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('outpost.readings.partitions'));
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'readings'::regclass AND c.relname ~ '^readings_p[0-9]{8}$'
          AND to_date(substr(c.relname, 11), 'YYYYMMDD') < horizon
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', part);
        RETURN NEXT part;
    END LOOP;
    DELETE FROM readings_default WHERE ts < horizon::timestamp AT TIME ZONE 'UTC';
    DELETE FROM reading_hours WHERE hour < horizon::timestamp AT TIME ZONE 'UTC';
END
$$;
