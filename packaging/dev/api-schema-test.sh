#!/usr/bin/env bash
# `make test-api-schema` (part of `make test`): Schemathesis, a pinned version from PyPI in a venv
# under .build/, against a live aggregator on loopback (PostgreSQL, mosquitto with TLS, `serve`),
# with every check and every phase (examples, coverage, fuzzing, stateful), with an admin API key
# and with a viewer key, each run bounded by API_SCHEMA_SECONDS (default 150). It fails on any
# server error, any schema-valid request refused, and any response off the OpenAPI document.
# The two runs go side by side (API_SCHEMA_SIDE_BY_SIDE=0: one after the other), each against a stack
# of its own (PostgreSQL, mosquitto, aggregator under .build/api-schema/ROLE): the admin run may
# revoke any API key it finds, the viewer's too, so the two must not share a database. Measured in
# docs/testing.md, "Where CI time goes".
# Its configuration: packaging/dev/schemathesis/schemathesis.toml. Reports: .build/api-schema/reports,
# each run's output in .build/api-schema/ROLE.log (printed when both runs have ended).
# API_SCHEMA_NO_BUILD=1 uses the debug binary as it is. API_SCHEMA_PG_PORT, API_SCHEMA_MQTT_PORT and
# API_SCHEMA_HTTPS_PORT fix the admin stack's ports (the viewer's: each plus one); free ports otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.build/schemathesis-venv"
requirements="$root/packaging/dev/schemathesis/requirements.txt"
config="$root/packaging/dev/schemathesis/schemathesis.toml"
seconds="${API_SCHEMA_SECONDS:-150}"
side_by_side="${API_SCHEMA_SIDE_BY_SIDE:-1}"
state="$root/.build/api-schema"

# shellcheck source=packaging/dev/stack.sh
. "$root/packaging/dev/stack.sh"
STACK_ROOT="$root"

# The venv installs (mostly waiting on PyPI) while SwiftPM checks the build and ffmpeg makes the
# fixture; the stacks start once both are done.
pinned="$(sed -n 's/^schemathesis==//p' "$requirements")"
venv_install=""
if [ "$("$venv/bin/st" --version 2>/dev/null | awk '{print $NF}')" != "$pinned" ]; then
    echo "installing schemathesis $pinned into $venv"
    { python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"; } &
    venv_install=$!
fi

cd "$root"
[ -n "${API_SCHEMA_NO_BUILD:-}" ] || swift build -q --product outpost-aggregator
STACK_AGG="$(swift build --show-bin-path)/outpost-aggregator"
# Budgets far above what the run sends, so no schema-valid request meets a 429; bcrypt at its
# cheapest so logins do not dominate the time budget.
extra=',"api": {"requests_per_minute": 1000000, "login_per_ip_per_minute": 1000000,
  "login_per_user_per_minute": 1000000, "bcrypt_cost": 4, "access_token_seconds": 3600}'
# Ports the kernel has free right now (other stacks may run on this machine at the same time).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# port OVERRIDE OFFSET: the override plus OFFSET, or a free port.
port() { if [ -n "$1" ]; then echo $(( $1 + $2 )); else free_port; fi; }

# role_run ROLE OFFSET: a stack of its own under $state/ROLE with something for the routes to find,
# then Schemathesis with an API key of ROLE. Run in a subshell of its own (the stack's variables).
role_run() {
    local role="$1" offset="$2" dir="$state/$1"
    stack_init "$dir" "$(port "${API_SCHEMA_PG_PORT:-}" "$offset")" "$(port "${API_SCHEMA_MQTT_PORT:-}" "$offset")" \
        "$(port "${API_SCHEMA_HTTPS_PORT:-}" "$offset")"
    trap "stack_stop '$dir' >/dev/null" EXIT
    stack_start_postgres
    stack_configure "api-schema-$role"
    stack_start_mosquitto
    stack_start_aggregator
    local api="$STACK_URL/api/v1"

    # An admin user, then an API key of ROLE made through the API itself.
    local password="schema test admin password" access expires token
    printf '%s\n' "$password" | "$STACK_AGG" user create --config "$STACK_CONFIG" --username schema-admin --role admin --password-stdin >/dev/null
    access="$(curl -sf --cacert "$STACK_CA" "$api/auth/login" -H 'content-type: application/json' \
        -d "{\"username\":\"schema-admin\",\"password\":\"$password\"}" | json '["accessToken"]')"
    expires="$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)"
    token="$(curl -sf --cacert "$STACK_CA" "$api/api-keys" -H "authorization: Bearer $access" -H 'content-type: application/json' \
        -d "{\"name\":\"schemathesis $role\",\"role\":\"$role\",\"expiresAt\":\"$expires\"}" | json '["secret"]')"
    # Something for the routes to find: a meter with readings and events, a camera with a recorded
    # segment, a command, an enrollment token.
    "$STACK_AGG" token create --config "$STACK_CONFIG" --device schema-meter-1 --ttl 1h >/dev/null
    stack_psql -c "INSERT INTO devices (id, kind) VALUES ('schema-cam-1', 'camera') ON CONFLICT DO NOTHING" \
        -c "INSERT INTO readings (device, buffer, seq, ts, metric, value)
            SELECT 'schema-meter-1', 1, g, now() - g * interval '1 minute', 'power_w', g FROM generate_series(1, 100) g" \
        -c "INSERT INTO device_events (device, ts, kind, data)
            SELECT 'schema-meter-1', now() - g * interval '1 minute', CASE WHEN g % 2 = 0 THEN 'stream_stats' ELSE 'warning' END,
                   jsonb_build_object('n', g) FROM generate_series(1, 20) g"
    mkdir -p "$dir/recordings/schema-cam-1"
    cp "$state/schema-000000.mp4" "$state/schema-000000.jpg" "$dir/recordings/schema-cam-1/"
    stack_psql -c "INSERT INTO recordings (device, started_at, ended_at, duration_ms, bytes, path, thumbnail_path, codec, width, height, state)
        VALUES ('schema-cam-1', now() - interval '1 hour', now() - interval '1 hour' + interval '2 seconds', 2000,
                $(stat -c %s "$state/schema-000000.mp4"), 'schema-cam-1/schema-000000.mp4',
                'schema-cam-1/schema-000000.jpg', 'h264', 320, 240, 'complete')"

    # Schemathesis keeps its cache (failures to replay) in .schemathesis/ of the working directory.
    cd "$dir"
    echo "schemathesis $pinned as $role, up to ${seconds}s: every check, phases examples, coverage, fuzzing, stateful"
    "$venv/bin/st" --config-file "$config" run "$api/openapi.json" --url "$api" --tls-verify "$STACK_CA" \
        -H "Authorization: Bearer $token" --max-time "$seconds" \
        --report junit --report-junit-path "$state/reports/$role.xml"
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

roles=(admin viewer)
# What an earlier run left (one stack per role, or the one stack of before): its processes by PID,
# then its files.
for role in "" "${roles[@]}"; do stack_stop "$state/$role" >/dev/null 2>&1 || true; done
rm -rf "$state"
mkdir -p "$state/reports"
# The recorded segment both stacks catalogue, made once.
ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=30 -t 2 -c:v libx264 -pix_fmt yuv420p \
    -movflags +faststart "$state/schema-000000.mp4"
ffmpeg -hide_banner -loglevel error -y -i "$state/schema-000000.mp4" -frames:v 1 "$state/schema-000000.jpg"
[ -z "$venv_install" ] || wait "$venv_install" || { echo "installing schemathesis $pinned failed" >&2; exit 1; }
# Each role's subshell stops its own stack; this catches a stack whose subshell outlived an interrupted run.
trap 'for role in "${roles[@]}"; do stack_stop "$state/$role" >/dev/null 2>&1 || true; done' EXIT
# Each role's aggregator has recordings on, in its own directory.
status=0
pids=()
for i in "${!roles[@]}"; do
    role="${roles[$i]}"
    STACK_AGGREGATOR_EXTRA="$extra"',
  "recordings": {"enabled": true, "directory": "'"$state/$role/recordings"'", "floor_percent": 0, "floor_bytes": 0}'
    if [ "$side_by_side" = 1 ]; then
        (role_run "$role" "$i") >"$state/$role.log" 2>&1 &
        pids+=("$!")
    else
        (role_run "$role" "$i") >"$state/$role.log" 2>&1 || status=$?
    fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
for role in "${roles[@]}"; do cat "$state/$role.log"; done
exit "$status"
