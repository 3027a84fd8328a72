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

# shellcheck source=packaging/dev/stack.sh
. "$root/packaging/dev/stack.sh"
STACK_ROOT="$root"

if [ "${1:-start}" = "stop" ]; then
    [ -f "$state/pids/.order" ] || { echo "demo is not running"; exit 0; }
    stack_stop "$state"; exit 0
fi

"$root/packaging/dev/install-deps.sh"
cd "$root"
echo "building (debug)…"
swift build --product outpost-agent >/dev/null
swift build --product outpost-aggregator >/dev/null
bin="$(swift build --show-bin-path)"
agg="$bin/outpost-aggregator"
STACK_AGG="$agg"
agent="$bin/outpost-agent"

if [ -f "$state/pids/aggregator" ] && kill -0 "$(cat "$state/pids/aggregator")" 2>/dev/null; then
    echo "demo already running; \`make demo-stop\` first to start afresh"
    exit 0
fi
stack_stop "$state" >/dev/null
stack_init "$state" "$pg_port" "$mqtt_port" "$https_port"
stack_start_postgres
stack_configure demo
stack_start_mosquitto
stack_start_aggregator
config=(--config "$STACK_CONFIG")
ca="$STACK_CA"

index=0
for device in "${devices[@]}"; do
    index=$((index + 1))
    stack_enroll_agent "$agent" "$device" "$index"
done

# The console's login: a demo admin with a generated password (printed below, once).
password="$("$agg" user create "${config[@]}" --username demo-admin --role admin | awk '/^password/ {print $NF}')"

cat <<INFO

Outpost demo is running (state and logs under .state/demo).

  console:            https://127.0.0.1:$https_port/console/  (the demo's own CA: $ca)
  console login:      demo-admin / $password

  readings arriving:  watch -n1 "psql -h 127.0.0.1 -p $pg_port -U outpost -d outpost -c \\"SELECT device, count(*), max(ts) FROM readings GROUP BY device\\""
  devices:            psql -h 127.0.0.1 -p $pg_port -U outpost -d outpost -c "SELECT id, status, last_seen FROM devices"
  health:             curl --cacert $ca https://127.0.0.1:$https_port/health
  metrics:            curl --cacert $ca https://127.0.0.1:$https_port/metrics
  a command:          $agg cmd send --config $state/aggregator.json --device demo-meter-1 --name ping
  agent status:       $agent status --config $state/agent-1/agent.json
  logs:               .state/demo/logs/

  stop it all:        make demo-stop
INFO
