# Sourced by demo.sh and bench/run.sh: a throwaway Outpost stack in one scratch directory —
# a PostgreSQL cluster, mosquitto with TLS and client certificates, an aggregator (its own CA) —
# on loopback only. Every process it starts is recorded in $STACK_STATE/pids/<name> and in
# start order in $STACK_STATE/pids/.order; stack_stop ends exactly those PIDs, newest first.
#
# The caller sets, before stack_init:
#   STACK_AGG          the outpost-aggregator binary
#   STACK_ROOT         the checkout (for Aggregator/Migrations)
# and may set STACK_AGGREGATOR_EXTRA: more top-level keys for aggregator.json, e.g.
#   ',"api": {"requests_per_minute": 1000000}'

# stack_init DIR PG_PORT MQTT_PORT HTTPS_PORT: a fresh scratch directory (DIR is emptied).
stack_init() {
    STACK_STATE="$1"
    STACK_PG_PORT="$2"
    STACK_MQTT_PORT="$3"
    STACK_HTTPS_PORT="$4"
    STACK_CONFIG="$STACK_STATE/aggregator.json"
    STACK_CA="$STACK_STATE/aggregator/ca/ca.pem"
    STACK_URL="https://127.0.0.1:$STACK_HTTPS_PORT"
    rm -rf "$STACK_STATE"
    mkdir -p "$STACK_STATE/pids" "$STACK_STATE/logs" "$STACK_STATE/aggregator" "$STACK_STATE/mosquitto"
    chmod 755 "$(dirname "$STACK_STATE")" "$STACK_STATE"
    : > "$STACK_STATE/pids/.order"
}

# stack_record NAME PID: remember a process this stack started.
stack_record() {
    echo "$2" > "$STACK_STATE/pids/$1"
    echo "$1" >> "$STACK_STATE/pids/.order"
}

# stack_pid NAME: the recorded PID (empty if none).
stack_pid() { cat "$STACK_STATE/pids/$1" 2>/dev/null || true; }

# stack_stop_one NAME: SIGTERM (SIGINT for PostgreSQL: fast shutdown), up to 15 s (STACK_STOP_TRIES × 0.1 s), then SIGKILL.
stack_stop_one() {
    local name="$1" file="$STACK_STATE/pids/$1" pid
    [ -f "$file" ] || return 0
    pid="$(cat "$file")"
    if kill -0 "$pid" 2>/dev/null; then
        if [ "$name" = postgres ]; then kill -INT "$pid"; else kill -TERM "$pid"; fi
        for _ in $(seq 1 "${STACK_STOP_TRIES:-150}"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
        echo "stopped $name (pid $pid)"
    fi
    rm -f "$file"
}

# stack_stop [DIR]: every recorded process, newest first (agents, aggregator, broker, PostgreSQL).
stack_stop() {
    local dir="${1:-$STACK_STATE}" name
    [ -f "$dir/pids/.order" ] || return 0
    STACK_STATE="$dir"
    for name in $(tac "$dir/pids/.order" | awk '!seen[$0]++'); do
        stack_stop_one "$name"
    done
    : > "$dir/pids/.order"
}

# stack_start_postgres [-c name=value …]: initdb + postgres on 127.0.0.1:$STACK_PG_PORT, database outpost.
# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user and the
# server is exec'd through setpriv, so the PID recorded is the postmaster's own.
stack_start_postgres() {
    local pg_bin
    pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
    STACK_AS_POSTGRES=()
    if [ "$(id -u)" -eq 0 ]; then
        STACK_AS_POSTGRES=(setpriv --reuid="$(id -u postgres)" --regid="$(id -g postgres)" --clear-groups --)
        mkdir -p "$STACK_STATE/pg" && chown postgres:postgres "$STACK_STATE/pg" "$STACK_STATE/logs"
    fi
    "${STACK_AS_POSTGRES[@]}" "$pg_bin/initdb" -D "$STACK_STATE/pg/data" -U outpost --auth=trust -E UTF8 >/dev/null
    "${STACK_AS_POSTGRES[@]}" "$pg_bin/postgres" -D "$STACK_STATE/pg/data" -p "$STACK_PG_PORT" -k "$STACK_STATE/pg" \
        -c listen_addresses=127.0.0.1 "$@" >"$STACK_STATE/logs/postgres.log" 2>&1 &
    stack_record postgres $!
    for _ in $(seq 1 100); do pg_isready -q -h 127.0.0.1 -p "$STACK_PG_PORT" && break; sleep 0.2; done
    stack_psql -d postgres -c "CREATE DATABASE outpost" >/dev/null
}

# stack_psql ARGS…: psql as outpost against the stack's database.
stack_psql() { psql -X -q -h 127.0.0.1 -p "$STACK_PG_PORT" -U outpost -d outpost -v ON_ERROR_STOP=1 "$@"; }

# stack_configure INSTANCE: aggregator.json, migrations, the CA, the HTTPS certificate and the broker's files.
stack_configure() {
    local instance="$1" state="$STACK_STATE"
    cat > "$STACK_CONFIG" <<JSON
{
  "instance_id": "$instance",
  "state_dir": "$state/aggregator",
  "migrations_dir": "$STACK_ROOT/Aggregator/Migrations",
  "mqtt": {"host": "127.0.0.1", "port": $STACK_MQTT_PORT,
           "ca_file": "$state/aggregator/broker/ca.pem",
           "cert_file": "$state/aggregator/broker/aggregator.pem",
           "key_file": "$state/aggregator/broker/aggregator.key"},
  "postgres": {"host": "127.0.0.1", "port": $STACK_PG_PORT, "username": "outpost", "database": "outpost"},
  "http": {"host": "127.0.0.1", "port": $STACK_HTTPS_PORT,
           "cert_file": "$state/aggregator/https.pem", "key_file": "$state/aggregator/https.key",
           "client_ca_file": "$state/aggregator/ca/ca.pem"},
  "identity": {"broker_pid_file": "$state/pids/mosquitto", "device_broker_host": "127.0.0.1", "device_broker_port": $STACK_MQTT_PORT},
  "logging": {"format": "json", "level": "info"}${STACK_AGGREGATOR_EXTRA:-}
}
JSON
    local config=(--config "$STACK_CONFIG") user_flag=()
    "$STACK_AGG" migrate "${config[@]}" >/dev/null
    "$STACK_AGG" ca init "${config[@]}" >/dev/null
    "$STACK_AGG" ca server-cert "${config[@]}" --ip 127.0.0.1 --dns localhost \
        --cert-out "$state/aggregator/https.pem" --key-out "$state/aggregator/https.key" >/dev/null
    [ "$(id -u)" -eq 0 ] && user_flag=(--user root)
    "$STACK_AGG" broker-config "${config[@]}" --out "$state/aggregator/broker" --listen 127.0.0.1 --port "$STACK_MQTT_PORT" \
        --persistence-dir "$state/mosquitto/" --log-dest stderr "${user_flag[@]}" >/dev/null
}

# stack_start_mosquitto: the broker from the generated config.
stack_start_mosquitto() {
    mosquitto -c "$STACK_STATE/aggregator/broker/mosquitto.conf" >>"$STACK_STATE/logs/mosquitto.log" 2>&1 &
    stack_record mosquitto $!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$STACK_MQTT_PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "mosquitto did not listen on $STACK_MQTT_PORT" >&2
    return 1
}

# stack_start_aggregator [NAME]: `outpost-aggregator serve`, waiting for /health. STACK_AGG_WRAPPER
# (word-split, e.g. "valgrind --tool=callgrind") runs it under a tool; the tool's PID is recorded.
stack_start_aggregator() {
    local name="${1:-aggregator}"
    # shellcheck disable=SC2086
    ${STACK_AGG_WRAPPER:-} "$STACK_AGG" serve --config "$STACK_CONFIG" >>"$STACK_STATE/logs/$name.log" 2>&1 &
    stack_record "$name" $!
    for _ in $(seq 1 "${STACK_HEALTH_TRIES:-300}"); do
        curl -sf --cacert "$STACK_CA" "$STACK_URL/health" >/dev/null && return 0
        kill -0 "$(stack_pid "$name")" 2>/dev/null || break
        sleep 0.2
    done
    echo "the aggregator did not become healthy; see $STACK_STATE/logs/$name.log" >&2
    return 1
}

# stack_enroll_meters AGENT_BIN DEVICE DIR: a token, `outpost-agent enroll` through the config
# endpoint into DIR, and DIR/agent.json with ten simulated meters at 1 Hz (the footprint
# workload: bench/run.sh's footprint phase, packaging/dev/agent-symbol-order.sh). Does not run it.
stack_enroll_meters() {
    local agent="$1" device="$2" dir="$3" token sources="" i
    token="$("$STACK_AGG" token create --config "$STACK_CONFIG" --device "$device" --ttl 1h 2>>"$STACK_STATE/logs/cli.log" | awk '/^token:/ {print $2}')"
    for i in $(seq 1 10); do
        sources+="${sources:+,}{\"type\": \"meter\", \"name\": \"meter$i\", \"interval_s\": 1, \"kind\": \"ac\", \"seed\": $i}"
    done
    mkdir -p "$dir"
    cat > "$dir/agent.json" <<JSON
{"state_dir": "$dir/state", "sources": [$sources], "logging": {"format": "json", "level": "info"}}
JSON
    "$agent" enroll --server "$STACK_URL" --token "$token" --config-dir "$dir" >/dev/null
}

# stack_enroll_agent AGENT_BIN DEVICE INDEX: a token, `outpost-agent enroll` through the config
# endpoint, then `outpost-agent run` with a simulated 1 Hz meter (seed INDEX) and system metrics,
# recorded as agent-INDEX. Its files are under $STACK_STATE/agent-INDEX.
stack_enroll_agent() {
    local agent="$1" device="$2" index="$3" dir="$STACK_STATE/agent-$3" token
    token="$("$STACK_AGG" token create --config "$STACK_CONFIG" --device "$device" --ttl 1h 2>>"$STACK_STATE/logs/cli.log" | awk '/^token:/ {print $2}')"
    mkdir -p "$dir"
    cat > "$dir/agent.json" <<JSON
{"state_dir": "$dir/state",
 "sources": [{"type": "meter", "name": "meter", "interval_s": 1, "kind": "ac", "seed": $index},
             {"type": "system", "name": "system", "interval_s": 10, "prefix": "host"}],
 "logging": {"format": "json", "level": "info"}}
JSON
    "$agent" enroll --server "$STACK_URL" --token "$token" --config-dir "$dir" >/dev/null
    "$agent" run --config "$dir/agent.json" >"$STACK_STATE/logs/agent-$index.log" 2>&1 &
    stack_record "agent-$index" $!
}
