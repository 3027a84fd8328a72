# Sourced by bench/run.sh: phase 9, the operator console with BENCH_CONSOLE_DEVICES devices
# (issue 20): the fleet page's first page in headless Chromium, and the aggregator's CPU while
# BENCH_CONSOLE_RATE device status changes a second flow through PostgreSQL's NOTIFY and the
# live-event feed to the open page, written as UPDATEs and through MQTT and the aggregator's
# presence writes (bench/console/fleet_page.py). Selenium comes pinned from
# PyPI (Tests/Console/requirements.txt) into the venv `make test-console` uses.

# The devices that change status sort before every other device id, so all of them are rows
# of the fleet's first page (ordered by id) and the page shows each of their changes.
console_prefix="a-sse-"

phase_console() {
    local venv="$root/.build/console-venv" requirements="$root/Tests/Console/requirements.txt"
    if ! cmp -s "$requirements" "$venv/requirements.txt"; then
        rm -rf "$venv"
        "$PY" -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
        cp "$requirements" "$venv/requirements.txt"
    fi
    # A release binary lives under .build-release, where the aggregator does not look for the
    # checkout's console: name it in the configuration and restart the aggregator.
    "$PY" - "$STACK_CONFIG" "$root/Aggregator/Console" <<'PYEND'
import json, sys
config = json.load(open(sys.argv[1]))
config["http"]["console_dir"] = sys.argv[2]
json.dump(config, open(sys.argv[1], "w"), indent=1)
PYEND
    stack_stop_one aggregator >/dev/null
    stack_start_aggregator
    local devices="$BENCH_WORK/console-devices" tokens="$BENCH_WORK/console.tokens"
    if [ ! -f "$tokens" ]; then
        "$STACK_AGG" token create --config "$STACK_CONFIG" --device-prefix "$console_prefix" --count "$BENCH_CONSOLE_STATUS_DEVICES" \
            --ttl 2h --out "$tokens" >/dev/null
        log "console: enrolling $BENCH_CONSOLE_STATUS_DEVICES devices to change status"
        timeout 300 "$BENCH_SIMULATOR" --server "$STACK_URL" --tokens "$tokens" --state-dir "$devices" \
            --devices "$BENCH_CONSOLE_STATUS_DEVICES" --duration 0s --drain-timeout 30s \
            >"$BENCH_WORK/logs/console-enroll.out" 2>"$BENCH_WORK/logs/console-enroll.log"
    fi
    sql "INSERT INTO devices (id, kind, tags) SELECT 'fleet-' || lpad(n::text, 5, '0'), 'meter', ARRAY['bench']
         FROM generate_series(1, $BENCH_CONSOLE_DEVICES) AS n ON CONFLICT (id) DO NOTHING" >/dev/null
    local listed; listed="$(sql "SELECT count(*) FROM devices WHERE decommissioned_at IS NULL")"
    local password="$BENCH_WORK/console-admin.password"
    [ -f "$password" ] || {
        openssl rand -hex 16 >"$password"
        "$STACK_AGG" user create --config "$STACK_CONFIG" --username bench-admin --role admin --password-stdin <"$password" \
            >>"$BENCH_WORK/logs/console-user.log" 2>&1
    }
    log "console: $listed devices; fleet page × $BENCH_CONSOLE_LOADS, then $BENCH_CONSOLE_RATE status changes/s for ${BENCH_CONSOLE_DURATION}s: UPDATEs with no subscriber, an SSE client, the page open; MQTT with the page open"
    timeout $((BENCH_CONSOLE_DURATION * 5 + 420)) "$venv/bin/python" "$root/bench/console/fleet_page.py" --url "$STACK_URL" --ca "$STACK_CA" \
        --username bench-admin --password-file "$password" --loads "$BENCH_CONSOLE_LOADS" --devices-dir "$devices" \
        --device-prefix "$console_prefix" --rate "$BENCH_CONSOLE_RATE" --seconds "$BENCH_CONSOLE_DURATION" \
        --pg-port "$STACK_PG_PORT" --aggregator-pid "$(stack_pid aggregator)" --postgres-pid "$(stack_pid postgres)" \
        --work "$BENCH_WORK" >"$BENCH_WORK/console.json" 2>"$BENCH_WORK/logs/console.log"
    part console "$("$PY" -c 'import json, sys; r = json.load(open(sys.argv[1])); r["devices_listed"] = int(sys.argv[2]); print(json.dumps(r))' \
        "$BENCH_WORK/console.json" "$listed")"
}
