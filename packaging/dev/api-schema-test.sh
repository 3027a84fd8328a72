#!/usr/bin/env bash
# `make test-api-schema` (part of `make test`): Schemathesis, a pinned version from PyPI in a venv
# under .build/, against a live aggregator on loopback (PostgreSQL, mosquitto with TLS, `serve`),
# with every check and every phase (examples, coverage, fuzzing, stateful), once with an admin API
# key and once with a viewer key, each run bounded by API_SCHEMA_SECONDS (default 150). It fails on
# any server error, any schema-valid request refused, and any response off the OpenAPI document.
# Its configuration: packaging/dev/schemathesis/schemathesis.toml. Reports: .build/api-schema/reports.
# API_SCHEMA_NO_BUILD=1 uses the debug binary as it is.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.build/schemathesis-venv"
requirements="$root/packaging/dev/schemathesis/requirements.txt"
config="$root/packaging/dev/schemathesis/schemathesis.toml"
seconds="${API_SCHEMA_SECONDS:-150}"
state="$root/.build/api-schema"

# shellcheck source=packaging/dev/stack.sh
. "$root/packaging/dev/stack.sh"
STACK_ROOT="$root"

pinned="$(sed -n 's/^schemathesis==//p' "$requirements")"
if [ "$("$venv/bin/st" --version 2>/dev/null | awk '{print $NF}')" != "$pinned" ]; then
    echo "installing schemathesis $pinned into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
fi

cd "$root"
[ -n "${API_SCHEMA_NO_BUILD:-}" ] || swift build -q --product outpost-aggregator
STACK_AGG="$(swift build --show-bin-path)/outpost-aggregator"
# Budgets far above what the run sends, so no schema-valid request meets a 429; bcrypt at its
# cheapest so logins do not dominate the time budget.
STACK_AGGREGATOR_EXTRA=',"api": {"requests_per_minute": 1000000, "login_per_ip_per_minute": 1000000,
  "login_per_user_per_minute": 1000000, "bcrypt_cost": 4, "access_token_seconds": 3600},
  "recordings": {"enabled": true, "directory": "'"$state/recordings"'", "floor_percent": 0, "floor_bytes": 0}'
stack_stop "$state" >/dev/null 2>&1 || true
# Ports the kernel has free right now (other stacks may run on this machine at the same time).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
stack_init "$state" "${API_SCHEMA_PG_PORT:-$(free_port)}" "${API_SCHEMA_MQTT_PORT:-$(free_port)}" "${API_SCHEMA_HTTPS_PORT:-$(free_port)}"
trap 'stack_stop "$state" >/dev/null' EXIT
stack_start_postgres
stack_configure api-schema
stack_start_mosquitto
stack_start_aggregator
api="$STACK_URL/api/v1"

# An admin user, then an admin and a viewer API key made through the API itself.
password="schema test admin password"
printf '%s\n' "$password" | "$STACK_AGG" user create --config "$STACK_CONFIG" --username schema-admin --role admin --password-stdin >/dev/null
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
access="$(curl -sf --cacert "$STACK_CA" "$api/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"schema-admin\",\"password\":\"$password\"}" | json '["accessToken"]')"
expires="$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)"
key() {
    curl -sf --cacert "$STACK_CA" "$api/api-keys" -H "authorization: Bearer $access" -H 'content-type: application/json' \
        -d "{\"name\":\"schemathesis $1\",\"role\":\"$1\",\"expiresAt\":\"$expires\"}" | json '["secret"]'
}
# Something for the routes to find: a meter with readings and events, a camera with a recorded segment,
# a command, an enrollment token.
"$STACK_AGG" token create --config "$STACK_CONFIG" --device schema-meter-1 --ttl 1h >/dev/null
stack_psql -c "INSERT INTO devices (id, kind) VALUES ('schema-cam-1', 'camera') ON CONFLICT DO NOTHING" \
    -c "INSERT INTO readings (device, buffer, seq, ts, metric, value)
        SELECT 'schema-meter-1', 1, g, now() - g * interval '1 minute', 'power_w', g FROM generate_series(1, 100) g" \
    -c "INSERT INTO device_events (device, ts, kind, data)
        SELECT 'schema-meter-1', now() - g * interval '1 minute', CASE WHEN g % 2 = 0 THEN 'stream_stats' ELSE 'warning' END,
               jsonb_build_object('n', g) FROM generate_series(1, 20) g"

mkdir -p "$state/recordings/schema-cam-1"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=30 -t 2 -c:v libx264 -pix_fmt yuv420p \
    -movflags +faststart "$state/recordings/schema-cam-1/schema-000000.mp4"
ffmpeg -hide_banner -loglevel error -y -i "$state/recordings/schema-cam-1/schema-000000.mp4" -frames:v 1 \
    "$state/recordings/schema-cam-1/schema-000000.jpg"
stack_psql -c "INSERT INTO recordings (device, started_at, ended_at, duration_ms, bytes, path, thumbnail_path, codec, width, height, state)
    VALUES ('schema-cam-1', now() - interval '1 hour', now() - interval '1 hour' + interval '2 seconds', 2000,
            $(stat -c %s "$state/recordings/schema-cam-1/schema-000000.mp4"), 'schema-cam-1/schema-000000.mp4',
            'schema-cam-1/schema-000000.jpg', 'h264', 320, 240, 'complete')"
status=0
mkdir -p "$state/reports"
# Schemathesis keeps its cache (failures to replay) in .schemathesis/ of the working directory.
cd "$state"
for role in admin viewer; do
    # Made just before its run: the admin run may revoke any key it finds (DELETE /api-keys/{id}).
    # The admin's access token stays valid for the hour whatever the run does to the account.
    token="$(key "$role")"
    echo "schemathesis $pinned as $role, up to ${seconds}s: every check, phases examples, coverage, fuzzing, stateful"
    "$venv/bin/st" --config-file "$config" run "$api/openapi.json" --url "$api" --tls-verify "$STACK_CA" \
        -H "Authorization: Bearer $token" --max-time "$seconds" \
        --report junit --report-junit-path "$state/reports/$role.xml" || status=$?
done
exit "$status"
