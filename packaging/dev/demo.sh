#!/usr/bin/env bash
# `make demo`: the whole system on this machine, under .state/demo in the checkout:
# a PostgreSQL cluster, mosquitto with TLS and client certificates, an aggregator (its own CA),
# and three agents enrolled through the config endpoint, feeding simulated meters.
# `make demo-stop` ends every process it started, by PID.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
state="$root/.state/demo"
pg_port="${DEMO_PG_PORT:-55432}"
mqtt_port="${DEMO_MQTT_PORT:-58883}"
https_port="${DEMO_HTTPS_PORT:-58443}"
devices=(demo-meter-1 demo-meter-2 demo-meter-3)

stop() {
    [ -d "$state/pids" ] || { echo "demo is not running"; return 0; }
    # Agents and the aggregator first (they flush), then the broker, then PostgreSQL.
    for name in agent-3 agent-2 agent-1 aggregator mosquitto postgres; do
        local file="$state/pids/$name"
        [ -f "$file" ] || continue
        local pid; pid="$(cat "$file")"
        if kill -0 "$pid" 2>/dev/null; then
            if [ "$name" = postgres ]; then kill -INT "$pid"; else kill -TERM "$pid"; fi
            for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
            echo "stopped $name (pid $pid)"
        fi
        rm -f "$file"
    done
}

if [ "${1:-start}" = "stop" ]; then stop; exit 0; fi

"$root/packaging/dev/install-deps.sh"
cd "$root"
echo "building (debug)…"
swift build --product outpost-agent >/dev/null
swift build --product outpost-aggregator >/dev/null
bin="$(swift build --show-bin-path)"
agg="$bin/outpost-aggregator"
agent="$bin/outpost-agent"

if [ -f "$state/pids/aggregator" ] && kill -0 "$(cat "$state/pids/aggregator")" 2>/dev/null; then
    echo "demo already running; \`make demo-stop\` first to start afresh"
    exit 0
fi
stop >/dev/null
rm -rf "$state"
mkdir -p "$state/pids" "$state/logs" "$state/aggregator" "$state/mosquitto"
chmod 755 "$root/.state" "$state"

# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user and the
# server is exec'd through setpriv, so the PID we record is the postmaster's own.
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
as_postgres=()
if [ "$(id -u)" -eq 0 ]; then
    as_postgres=(setpriv --reuid="$(id -u postgres)" --regid="$(id -g postgres)" --clear-groups --)
    mkdir -p "$state/pg" && chown postgres:postgres "$state/pg" "$state/logs"
fi
"${as_postgres[@]}" "$pg_bin/initdb" -D "$state/pg/data" -U outpost --auth=trust -E UTF8 >/dev/null
"${as_postgres[@]}" "$pg_bin/postgres" -D "$state/pg/data" -p "$pg_port" -k "$state/pg" \
    -c listen_addresses=127.0.0.1 >"$state/logs/postgres.log" 2>&1 &
echo $! > "$state/pids/postgres"
for _ in $(seq 1 100); do pg_isready -q -h 127.0.0.1 -p "$pg_port" && break; sleep 0.2; done
psql -q -h 127.0.0.1 -p "$pg_port" -U outpost -d postgres -c "CREATE DATABASE outpost" >/dev/null

cat > "$state/aggregator.json" <<JSON
{
  "instance_id": "demo",
  "state_dir": "$state/aggregator",
  "migrations_dir": "$root/Aggregator/Migrations",
  "mqtt": {"host": "127.0.0.1", "port": $mqtt_port,
           "ca_file": "$state/aggregator/broker/ca.pem",
           "cert_file": "$state/aggregator/broker/aggregator.pem",
           "key_file": "$state/aggregator/broker/aggregator.key"},
  "postgres": {"host": "127.0.0.1", "port": $pg_port, "username": "outpost", "database": "outpost"},
  "http": {"host": "127.0.0.1", "port": $https_port,
           "cert_file": "$state/aggregator/https.pem", "key_file": "$state/aggregator/https.key",
           "client_ca_file": "$state/aggregator/ca/ca.pem"},
  "identity": {"broker_pid_file": "$state/pids/mosquitto", "device_broker_host": "127.0.0.1", "device_broker_port": $mqtt_port},
  "logging": {"format": "json", "level": "info"}
}
JSON
config=(--config "$state/aggregator.json")
"$agg" migrate "${config[@]}" >/dev/null
"$agg" ca init "${config[@]}" >/dev/null
"$agg" ca server-cert "${config[@]}" --ip 127.0.0.1 --dns localhost \
    --cert-out "$state/aggregator/https.pem" --key-out "$state/aggregator/https.key" >/dev/null
user_flag=()
[ "$(id -u)" -eq 0 ] && user_flag=(--user root)
"$agg" broker-config "${config[@]}" --out "$state/aggregator/broker" --listen 127.0.0.1 --port "$mqtt_port" \
    --persistence-dir "$state/mosquitto/" --log-dest stderr "${user_flag[@]}" >/dev/null
mosquitto -c "$state/aggregator/broker/mosquitto.conf" >"$state/logs/mosquitto.log" 2>&1 &
echo $! > "$state/pids/mosquitto"

"$agg" serve "${config[@]}" >"$state/logs/aggregator.log" 2>&1 &
echo $! > "$state/pids/aggregator"
ca="$state/aggregator/ca/ca.pem"
for _ in $(seq 1 150); do
    curl -sf --cacert "$ca" "https://127.0.0.1:$https_port/health" >/dev/null && break
    sleep 0.2
done

index=0
for device in "${devices[@]}"; do
    index=$((index + 1))
    token="$("$agg" token create "${config[@]}" --device "$device" --ttl 1h | awk '/^token:/ {print $2}')"
    # enroll keeps the keys already in agent.json and adds the device id, broker and certificate files.
    mkdir -p "$state/agent-$index"
    cat > "$state/agent-$index/agent.json" <<JSON
{"state_dir": "$state/agent-$index/state",
 "sources": [{"type": "meter", "name": "meter", "interval_s": 1, "kind": "ac", "seed": $index},
             {"type": "system", "name": "system", "interval_s": 10, "prefix": "host"}],
 "logging": {"format": "json", "level": "info"}}
JSON
    "$agent" enroll --server "https://127.0.0.1:$https_port" --token "$token" --config-dir "$state/agent-$index"
    "$agent" run --config "$state/agent-$index/agent.json" >"$state/logs/agent-$index.log" 2>&1 &
    echo $! > "$state/pids/agent-$index"
done

cat <<INFO

Outpost demo is running (state and logs under .state/demo).

  readings arriving:  watch -n1 "psql -h 127.0.0.1 -p $pg_port -U outpost -d outpost -c \\"SELECT device, count(*), max(ts) FROM readings GROUP BY device\\""
  devices:            psql -h 127.0.0.1 -p $pg_port -U outpost -d outpost -c "SELECT id, status, last_seen FROM devices"
  health:             curl --cacert $ca https://127.0.0.1:$https_port/health
  metrics:            curl --cacert $ca https://127.0.0.1:$https_port/metrics
  a command:          $agg cmd send --config $state/aggregator.json --device demo-meter-1 --name ping
  agent status:       $agent status --config $state/agent-1/agent.json
  logs:               .state/demo/logs/

  stop it all:        make demo-stop
INFO
