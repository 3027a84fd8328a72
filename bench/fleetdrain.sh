# Sourced by bench/run.sh: phase `fleetdrain`, issue 20's fleet drain against the bench stack.
#
# BENCH_FLEETDRAIN_DEVICES devices (50) each build a backlog of at least BENCH_FLEETDRAIN_BACKLOG
# readings (20,000) through the agent's own path (their broker port closed), then reconnect at
# once while as many other devices stream live at BENCH_FLEETDRAIN_LIVE_RATE readings/s (10).
# Both sets are `outpost-simulator` runs: every device is the agent's real `Publisher`, so the
# drain follows the agent's own `DrainController`. Reported: the drain time, the live devices'
# capture-to-store latency (readings' `ts` to `received_at`) before and during the drain, and
# the backlog counted by (device, seq) in PostgreSQL. Bounded by BENCH_FLEETDRAIN_TIMEOUT (s, 150).

# fleetdrain_sim NAME SET ARGS…: the simulator on one device set, in the background, recorded as fd-NAME.
fleetdrain_sim() {
    local name="$1" set="$2"; shift 2
    "$BENCH_SIMULATOR" --server "$STACK_URL" --tokens "$BENCH_WORK/fleetdrain/$set.tokens" --state-dir "$BENCH_WORK/fleetdrain/$set" \
        "$@" >"$BENCH_WORK/logs/fleetdrain-$name.out" 2>"$BENCH_WORK/logs/fleetdrain-$name.log" &
    stack_record "fd-$name" $!
}

phase_fleetdrain() {
    local devices="${BENCH_FLEETDRAIN_DEVICES:-50}" backlog="${BENCH_FLEETDRAIN_BACKLOG:-20000}"
    local live_rate="${BENCH_FLEETDRAIN_LIVE_RATE:-10}" limit="${BENCH_FLEETDRAIN_TIMEOUT:-150}"
    local dir="$BENCH_WORK/fleetdrain" set
    rm -rf "$dir" && mkdir -p "$dir"
    for set in drain live; do
        "$STACK_AGG" token create --config "$STACK_CONFIG" --device-prefix "fd$set-" --count "$devices" --ttl 1h \
            --out "$dir/$set.tokens" >/dev/null 2>>"$BENCH_WORK/logs/fleetdrain-cli.log"
    done
    log "fleetdrain: enrolling 2 × $devices simulated devices"
    for set in drain live; do
        fleetdrain_sim "enroll-$set" "$set" --duration 0s --drain-timeout 5s
        wait "$(stack_pid "fd-enroll-$set")" || true
        stack_stop_one "fd-enroll-$set" >/dev/null
        [ "$(ls "$dir/$set" | wc -l)" -eq "$devices" ] || { log "fleetdrain: enrolling the $set set failed"; return 1; }
    done

    # The backlog, through the agent's own path: captured with the broker unreachable.
    local capture_rate=2000
    log "fleetdrain: $devices devices capture $backlog readings each at $capture_rate readings/s with the broker unreachable"
    capture_backlog fleetdrain "$dir/drain" "$dir/drain.tokens" "$devices" "$backlog" "$capture_rate" >"$dir/backlog.json" || return 1
    log "fleetdrain: backlog $(cat "$dir/backlog.json")"

    # The live set streams first; then the backlog set reconnects, all at once.
    log "fleetdrain: $devices live devices at $live_rate readings/s; then $devices devices drain their backlog"
    fleetdrain_sim live live --rate "$live_rate" --duration "$((limit + 30))s" --drain-timeout 10s --report "$dir/live.sim.json"
    sleep 10
    local t_live t0 t1 start end
    t_live="$(sql "SELECT now() - interval '5 seconds'")"
    t0="$(sql "SELECT now()")"
    start="$(date +%s.%N)"
    fleetdrain_sim drain drain --duration 0s --drain-timeout "${limit}s" --report "$dir/drain.sim.json"
    sampler_start "$dir/cpu.json" $(agg_pids) drain="$(stack_pid fd-drain)" live="$(stack_pid fd-live)"
    wait "$(stack_pid fd-drain)" || true
    end="$(date +%s.%N)"
    sampler_stop
    t1="$(sql "SELECT now()")"
    stack_stop_one fd-drain >/dev/null
    sleep 3  # the live readings captured during the drain reach the centre
    stack_stop_one fd-live >/dev/null

    local figures
    figures="$(stack_psql -At -F '|' <<SQL
SELECT
  (SELECT count(*) FROM readings WHERE device LIKE 'fddrain-%'),
  (SELECT count(DISTINCT (device, seq)) FROM readings WHERE device LIKE 'fddrain-%'),
  (SELECT extract(epoch FROM max(received_at) - '$t0'::timestamptz) FROM readings WHERE device LIKE 'fddrain-%'),
  (SELECT 1000 * extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY received_at - ts)) FROM readings
     WHERE device LIKE 'fdlive-%' AND ts >= '$t0' AND ts <= '$t1'),
  (SELECT 1000 * extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY received_at - ts)) FROM readings
     WHERE device LIKE 'fdlive-%' AND ts >= '$t0' AND ts <= '$t1'),
  (SELECT 1000 * extract(epoch FROM max(received_at - ts)) FROM readings
     WHERE device LIKE 'fdlive-%' AND ts >= '$t0' AND ts <= '$t1'),
  (SELECT count(*) FROM readings WHERE device LIKE 'fdlive-%' AND ts >= '$t0' AND ts <= '$t1'),
  (SELECT 1000 * extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY received_at - ts)) FROM readings
     WHERE device LIKE 'fdlive-%' AND ts >= '$t_live' AND ts < '$t0')
SQL
)"
    part fleetdrain "$("$PY" - "$dir" "$start" "$end" "$figures" <<'PYEND'
import json, sys
d = sys.argv[1]
start, end = float(sys.argv[2]), float(sys.argv[3])
stored, distinct, drain_s, p99, p50, worst, live_count, p99_before = sys.argv[4].split("|")
number = lambda text: None if text in ("", None) else float(text)
backlog = json.load(open(f"{d}/backlog.json"))
try:
    report = json.load(open(f"{d}/drain.sim.json"))
except (OSError, ValueError):
    report = {}
print(json.dumps({"devices_draining": backlog["devices"], "devices_live": backlog["devices"], "backlog": backlog,
                  "stored": int(stored), "stored_distinct_device_seq": int(distinct),
                  "stored_exactly_once": int(stored) == int(distinct) == backlog["left"],
                  "pending_after_drain": report.get("pending"), "simulator_drain_seconds": report.get("drain_seconds"),
                  "wall_seconds": end - start, "drain_seconds": number(drain_s),
                  "live_capture_to_store_ms": {"p50": number(p50), "p99": number(p99), "max": number(worst),
                                               "readings": int(live_count), "p99_before_drain": number(p99_before)},
                  "cpu": json.load(open(f"{d}/cpu.json"))}))
PYEND
)"
    log "fleetdrain: $(cat "$BENCH_PARTS/fleetdrain.json" | head -c 600)"
}
