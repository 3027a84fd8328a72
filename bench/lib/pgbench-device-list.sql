-- The device list's SQL (DevicesStore.ListStatement, GET /api/v1/devices?limit=100) with its
-- filters unset: PostgreSQL's own rate for what the API answers, run by `make bench` with
-- pgbench -f -M prepared (the aggregator prepares the statement on each connection too).
SELECT id, kind, name, tags, metadata::text, status, status_changed_at, last_seen, version, buffer_depth, dropped,
       created_at, revoked_at, decommissioned_at,
       (SELECT max(not_after) FROM certificates c WHERE c.device_id = devices.id AND c.revoked_at IS NULL),
       cert_serial, cert_not_after
FROM devices
WHERE (NULL::text IS NULL OR kind = NULL::text)
  AND (NULL::text IS NULL OR (status = NULL::text AND decommissioned_at IS NULL AND revoked_at IS NULL))
  AND (NOT false OR decommissioned_at IS NOT NULL)
  AND (NOT false OR (revoked_at IS NOT NULL AND decommissioned_at IS NULL))
  AND (NULL::text IS NULL OR tags @> ARRAY[NULL::text])
  AND (NULL::text IS NULL OR id ILIKE NULL::text OR name ILIKE NULL::text)
  AND id > coalesce(NULL::text, '')
ORDER BY id LIMIT 100;
