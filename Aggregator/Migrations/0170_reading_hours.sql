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
-- The readings stored before this migration are rolled up afterwards, one partition per
-- transaction, by the aggregators' maintenance pass (`outpost_backfill_reading_hours`); until
-- `reading_hours_pending` is empty, buckets read every reading. Retention trims the hours
-- before its horizon in transactions of its own (`outpost_trim_reading_hours`). The
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

-- Retention's trim finds the hours before its horizon without reading the whole table.
CREATE INDEX reading_hours_hour ON reading_hours (hour);

-- The partitions whose readings, stored before this migration, are not rolled up yet.
CREATE TABLE reading_hours_pending (
    partition text PRIMARY KEY
);

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

-- min and max cannot be taken back: the given hours of (device, metric) are computed again
-- from the readings (and dropped when none are left). Their rows are locked first in
-- (device, metric, hour) order, the order ingest upserts them in, so the two cannot deadlock.
CREATE FUNCTION outpost_recompute_reading_hours(devices text[], metrics text[], hours timestamptz[]) RETURNS void
LANGUAGE sql AS $$
    SELECT 1 FROM reading_hours h
    JOIN unnest(devices, metrics, hours) AS t(device, metric, hour) USING (device, metric, hour)
    ORDER BY h.device, h.metric, h.hour
    FOR UPDATE OF h;
    DELETE FROM reading_hours h USING unnest(devices, metrics, hours) AS t(device, metric, hour)
    WHERE h.device = t.device AND h.metric = t.metric AND h.hour = t.hour;
    INSERT INTO reading_hours (device, metric, hour, count, sum, min, max)
    SELECT t.device, t.metric, t.hour, count(*), sum(r.value), min(r.value), max(r.value)
    FROM (SELECT DISTINCT device, metric, hour FROM unnest(devices, metrics, hours) AS u(device, metric, hour)) t
    JOIN readings r ON r.device = t.device AND r.metric = t.metric AND r.ts >= t.hour AND r.ts < t.hour + interval '1 hour'
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (device, metric, hour) DO UPDATE
        SET count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max;
$$;

CREATE FUNCTION outpost_remove_reading_hours() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM outpost_recompute_reading_hours(array_agg(device), array_agg(metric), array_agg(hour))
    FROM (SELECT DISTINCT device, metric, date_bin(interval '1 hour', ts, timestamptz 'epoch') AS hour FROM removed) t;
    RETURN NULL;
END
$$;

-- An UPDATE takes the old rows' values out of their hours and puts the new ones in theirs.
CREATE FUNCTION outpost_change_reading_hours() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM outpost_recompute_reading_hours(array_agg(device), array_agg(metric), array_agg(hour))
    FROM (SELECT device, metric, date_bin(interval '1 hour', ts, timestamptz 'epoch') AS hour FROM removed
          UNION
          SELECT device, metric, date_bin(interval '1 hour', ts, timestamptz 'epoch') FROM added) t;
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

CREATE TRIGGER readings_add_hours AFTER INSERT ON readings
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION outpost_add_reading_hours();
CREATE TRIGGER readings_remove_hours AFTER DELETE ON readings
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION outpost_remove_reading_hours();
CREATE TRIGGER readings_change_hours AFTER UPDATE ON readings
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION outpost_change_reading_hours();
CREATE TRIGGER readings_clear_hours AFTER TRUNCATE ON readings
    FOR EACH STATEMENT EXECUTE FUNCTION outpost_clear_reading_hours();

-- Every partition holding readings now is still to be rolled up: a catalog query and one
-- row read per partition, whatever their size.
DO $$
DECLARE
    part text;
    filled boolean;
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'readings'::regclass
    LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', part) INTO filled;
        IF filled THEN
            INSERT INTO reading_hours_pending VALUES (part);
        END IF;
    END LOOP;
END
$$;

-- Rolls up one pending partition and returns its name; NULL when none is due. A day's
-- partition is due unless its day is today (UTC), so the partition taking live readings is
-- never locked (a later day's takes only readings of devices whose clocks run ahead); the default partition (readings outside every day's partition) and any
-- partition not named by its day go first.
-- The partition is locked IN SHARE MODE for the time of one GROUP BY over it: writes into
-- it (late readings of that day; out-of-range readings for the default) wait, others do not.
-- Its hours are replaced with the partition's totals, which already hold any row the
-- triggers added since the migration, so nothing is counted twice.
CREATE FUNCTION outpost_backfill_reading_hours() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    part text;
BEGIN
    -- Partitions are neither created, moved into nor dropped meanwhile.
    PERFORM pg_advisory_xact_lock(hashtext('outpost.readings.partitions'));
    SELECT p.partition INTO part FROM reading_hours_pending p
    WHERE CASE WHEN p.partition ~ '^readings_p[0-9]{8}$'
               THEN to_date(substr(p.partition, 11), 'YYYYMMDD') <> (now() AT TIME ZONE 'UTC')::date
               ELSE true END
    ORDER BY p.partition ~ '^readings_p[0-9]{8}$', p.partition
    LIMIT 1;
    IF part IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('LOCK TABLE %I IN SHARE MODE', part);
    EXECUTE format($q$
        INSERT INTO reading_hours AS h (device, metric, hour, count, sum, min, max)
        SELECT device, metric, date_bin(interval '1 hour', ts, timestamptz 'epoch'), count(*), sum(value), min(value), max(value)
        FROM %I
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
        ON CONFLICT (device, metric, hour) DO UPDATE
            SET count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max
        $q$, part);
    DELETE FROM reading_hours_pending WHERE partition = part;
    RETURN part;
END
$$;

-- Recomputes the hours of [from, to) from the readings, for writes that bypassed the
-- triggers: statements naming a partition rather than `readings` (docs/aggregator.md).
-- Holds off every write to `readings` until it commits.
CREATE FUNCTION outpost_rebuild_reading_hours("from" timestamptz, "to" timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lower timestamptz := date_bin(interval '1 hour', "from", timestamptz 'epoch');
BEGIN
    LOCK TABLE readings IN SHARE MODE;
    DELETE FROM reading_hours WHERE hour >= lower AND hour < "to";
    INSERT INTO reading_hours (device, metric, hour, count, sum, min, max)
    SELECT device, metric, date_bin(interval '1 hour', ts, timestamptz 'epoch'), count(*), sum(value), min(value), max(value)
    FROM readings
    WHERE ts >= lower AND ts < date_bin(interval '1 hour', "to" - interval '1 microsecond', timestamptz 'epoch') + interval '1 hour'
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3;
END
$$;

-- Retention's trim of the rollup, one batch of at most `batch` hours before `horizon`;
-- returns how many it deleted. Hours still holding readings (a re-delivery into the
-- default partition after retention's delete) are computed again rather than deleted.
CREATE FUNCTION outpost_trim_reading_hours(horizon date, batch bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    cutoff  timestamptz := horizon::timestamp AT TIME ZONE 'UTC';
    deleted bigint;
BEGIN
    INSERT INTO reading_hours AS h (device, metric, hour, count, sum, min, max)
    SELECT device, metric, date_bin(interval '1 hour', ts, timestamptz 'epoch'), count(*), sum(value), min(value), max(value)
    FROM readings
    WHERE ts < cutoff
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (device, metric, hour) DO UPDATE
        SET count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max;
    WITH doomed AS (
        SELECT h.device, h.metric, h.hour FROM reading_hours h
        WHERE h.hour < cutoff
          AND NOT EXISTS (SELECT 1 FROM readings r WHERE r.device = h.device AND r.metric = h.metric
                            AND r.ts >= h.hour AND r.ts < h.hour + interval '1 hour')
        ORDER BY 1, 2, 3
        LIMIT batch
        FOR UPDATE OF h
    )
    DELETE FROM reading_hours h USING doomed d
    WHERE h.device = d.device AND h.metric = d.metric AND h.hour = d.hour;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END
$$;

-- As in 0010, and a day's partition that took rows from the default partition while that
-- is pending is pending too: those rows were never rolled up.
CREATE OR REPLACE FUNCTION outpost_ensure_readings_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    part  text        := format('readings_p%s', to_char(day, 'YYYYMMDD'));
    lower timestamptz := day::timestamp AT TIME ZONE 'UTC';
    upper timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
    moved bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('outpost.readings.partitions'));
    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- Block inserts into the default partition until the new one is attached, so no
    -- row of this day can slip into it between the move and the attach.
    LOCK TABLE readings_default IN ACCESS EXCLUSIVE MODE;
    EXECUTE format('CREATE TABLE %I (LIKE readings INCLUDING DEFAULTS)', part);
    EXECUTE format(
        'WITH moved AS (DELETE FROM readings_default WHERE ts >= %L AND ts < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
        lower, upper, part);
    GET DIAGNOSTICS moved = ROW_COUNT;
    EXECUTE format('ALTER TABLE readings ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lower, upper);
    IF moved > 0 THEN
        INSERT INTO reading_hours_pending
        SELECT part FROM reading_hours_pending WHERE partition = 'readings_default';
    END IF;
    RETURN true;
END
$$;

-- As in 0010, and a dropped partition is no longer pending.
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
        DELETE FROM reading_hours_pending WHERE partition = part;
        RETURN NEXT part;
    END LOOP;
    DELETE FROM readings_default WHERE ts < horizon::timestamp AT TIME ZONE 'UTC';
END
$$;
