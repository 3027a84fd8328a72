-- Readings: every reading a device captured, stored exactly once.
--
-- Partitioned by day on `ts` (UTC). PostgreSQL requires the partition key in every
-- unique constraint of a partitioned table, so the key is (device, buffer, seq, ts).
-- A reading's ts is fixed at capture and travels with it on every re-delivery, so a
-- re-delivered reading lands in the same partition and conflicts with itself: the key
-- is unique on (device, buffer, seq) for everything an agent sends.
--
-- Partitions are created ahead (and a few days back) by the aggregator's maintenance
-- loop through outpost_ensure_readings_partition(); anything outside them lands in
-- readings_default, which outpost_ensure_readings_partition() empties into a new
-- partition when one is created for its days. Retention drops whole partitions.
CREATE TABLE readings (
    device      text             NOT NULL,
    buffer      bigint           NOT NULL,
    seq         bigint           NOT NULL,
    ts          timestamptz      NOT NULL,
    metric      text             NOT NULL,
    value       double precision NOT NULL,
    received_at timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (device, buffer, seq, ts)
) PARTITION BY RANGE (ts);

-- One device's metric over a time range (Admin API charts).
CREATE INDEX readings_device_metric_ts ON readings (device, metric, ts);
-- The latest reading per device (Admin API device list).
CREATE INDEX readings_device_ts ON readings (device, ts DESC);

CREATE TABLE readings_default PARTITION OF readings DEFAULT;

-- Creates the partition for one UTC day, moving any rows of that day out of the
-- default partition first. Safe to call concurrently from several aggregators.
CREATE FUNCTION outpost_ensure_readings_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    part  text        := format('readings_p%s', to_char(day, 'YYYYMMDD'));
    lower timestamptz := day::timestamp AT TIME ZONE 'UTC';
    upper timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
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
    EXECUTE format('ALTER TABLE readings ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lower, upper);
    RETURN true;
END
$$;

-- Drops every daily partition entirely before `horizon` and deletes older rows from
-- the default partition. Returns the names of the dropped partitions.
CREATE FUNCTION outpost_drop_readings_before(horizon date) RETURNS SETOF text
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
END
$$;
