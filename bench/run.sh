#!/usr/bin/env bash
# `make bench`: release binaries, a throwaway stack on loopback (PostgreSQL, mosquitto with TLS,
# an aggregator) under .state/bench, six measurements side by side, a table on stdout and the
# same figures as JSON in bench/results/ (a timestamped file and latest.json). See
# docs/performance.md for what each figure means and what bounds it.
#
# Knobs (environment): BENCH_DURATION (s, steady-state window of the ingest and baseline phases,
# default 30), BENCH_WARMUP (s, 15), BENCH_DEVICES (50), BENCH_RATE (readings/s per device while a backlog is captured, 4000),
# BENCH_INGEST_BACKLOG (readings per device before each ingest run, 150000: 7,500,000 in all; the devices'
# shares of the drain differ by up to 1.6×, so enough for about 100,000/s over warm-up and window), BENCH_BASELINE_BACKLOG (4000),
# BENCH_FOOTPRINT_DURATION (60), BENCH_BACKLOG (100000), BENCH_API_DEVICES (10000),
# BENCH_API_READINGS (per device, 1000), BENCH_API_DURATION (20), BENCH_API_CONNECTIONS (16),
# BENCH_RTP_DURATION (30), BENCH_INGEST_RUNS (saturated ingest runs, each with its \copy; the ratio is their median; 3),
# BENCH_CONSOLE_DEVICES (10000), BENCH_CONSOLE_LOADS (fleet page loads, 7), BENCH_CONSOLE_RATE (status changes/s, 1000),
# BENCH_CONSOLE_DURATION (s, 20), BENCH_CONSOLE_STATUS_DEVICES (devices taking turns, 50),
# BENCH_FLEETDRAIN_DEVICES (50 draining + 50 live), BENCH_FLEETDRAIN_BACKLOG (20000), BENCH_FLEETDRAIN_LIVE_RATE (10),
# BENCH_FLEETDRAIN_TIMEOUT (150),
# BENCH_SKIP (comma-separated phases: ingest,baseline,decode,footprint,fleetdrain,buffer,api,rtp,console,live,patroni),
# BENCH_PG_PORT / BENCH_MQTT_PORT / BENCH_HTTPS_PORT, BENCH_NO_BUILD=1 (use the release binaries as built).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export BENCH_ROOT="$root"
export BENCH_WORK="$root/.state/bench"
export BENCH_PARTS="$BENCH_WORK/results"
export BENCH_CACHE="$root/.state/bench-cache"
export BENCH_DURATION="${BENCH_DURATION:-30}" BENCH_WARMUP="${BENCH_WARMUP:-15}"
export BENCH_DEVICES="${BENCH_DEVICES:-50}" BENCH_RATE="${BENCH_RATE:-4000}"
export BENCH_INGEST_BACKLOG="${BENCH_INGEST_BACKLOG:-150000}" BENCH_BASELINE_BACKLOG="${BENCH_BASELINE_BACKLOG:-4000}"
export BENCH_FOOTPRINT_DURATION="${BENCH_FOOTPRINT_DURATION:-60}" BENCH_BACKLOG="${BENCH_BACKLOG:-100000}"
export BENCH_API_DEVICES="${BENCH_API_DEVICES:-10000}" BENCH_API_READINGS="${BENCH_API_READINGS:-1000}"
export BENCH_API_DURATION="${BENCH_API_DURATION:-20}" BENCH_API_CONNECTIONS="${BENCH_API_CONNECTIONS:-64}"
export BENCH_RTP_DURATION="${BENCH_RTP_DURATION:-30}" BENCH_SKIP="${BENCH_SKIP:-}"
export BENCH_INGEST_RUNS="${BENCH_INGEST_RUNS:-3}"
export BENCH_CONSOLE_DEVICES="${BENCH_CONSOLE_DEVICES:-10000}" BENCH_CONSOLE_LOADS="${BENCH_CONSOLE_LOADS:-7}"
export BENCH_CONSOLE_RATE="${BENCH_CONSOLE_RATE:-1000}" BENCH_CONSOLE_DURATION="${BENCH_CONSOLE_DURATION:-20}"
export BENCH_CONSOLE_STATUS_DEVICES="${BENCH_CONSOLE_STATUS_DEVICES:-50}"
PY=/usr/bin/python3  # Debian's, which has python3-paho-mqtt and python3-psycopg2
export PY
sample="$root/bench/lib/procsample.py"

# shellcheck source=packaging/dev/stack.sh
. "$root/packaging/dev/stack.sh"
export STACK_ROOT="$root"
# shellcheck source=bench/console/console.sh
. "$root/bench/console/console.sh"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
skipped() { [[ ",$BENCH_SKIP," == *",$1,"* ]]; }

# part NAME JSON: one phase's figures, merged into the report at the end.
part() { printf '%s\n' "$2" > "$BENCH_PARTS/$1.json"; }

# sampler_start OUT NAME=PID…: samples those process trees until sampler_stop.
sampler_start() {
    local out="$1"; shift
    "$PY" "$sample" --out "$out" --interval 0.5 "$@" &
    SAMPLER_PID=$!
}
sampler_stop() {
    kill -TERM "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
}

# sql QUERY: one value, unaligned.
sql() { stack_psql -At -c "$1"; }

agg_pids() { echo "aggregator=$(stack_pid aggregator) postgres=$(stack_pid postgres) mosquitto=$(stack_pid mosquitto)"; }

# ---------------------------------------------------------------------------------------------
# Items 1 and 2: ingest ceiling end to end, psql \copy, and the naive baseline.

enroll_simulator() {
    [ -f "$BENCH_WORK/sim.tokens" ] && return 0
    "$STACK_AGG" token create --config "$STACK_CONFIG" --device-prefix sim- --count "$BENCH_DEVICES" --ttl 2h \
        --out "$BENCH_WORK/sim.tokens" >/dev/null
    log "enrolling $BENCH_DEVICES simulated devices"
    timeout 300 "$BENCH_SIMULATOR" --server "$STACK_URL" --tokens "$BENCH_WORK/sim.tokens" --state-dir "$BENCH_WORK/sim" \
        --devices "$BENCH_DEVICES" --duration 0s --drain-timeout 30s >"$BENCH_WORK/logs/sim-enroll.out" 2>"$BENCH_WORK/logs/sim-enroll.log"
}

# set_broker_port DIR PORT: every simulated device's agent.json under DIR points at broker port PORT.
set_broker_port() {
    "$PY" - "$1" "$2" <<'PYEND'
import glob, json, sys
for path in glob.glob(sys.argv[1] + "/*/agent.json"):
    config = json.load(open(path))
    config["mqtt"]["port"] = int(sys.argv[2])
    json.dump(config, open(path, "w"), indent=1)
PYEND
}

# closed_port: a loopback TCP port nothing listens on (a broker that refuses connections).
closed_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# buffers_state DIR: JSON of the simulated devices' buffers under DIR: rows left (sum, fewest and
# most in one, how many empty, whether every buffer's seqs are without a gap), readings captured
# (the last seq each buffer gave out) and dropped.
buffers_state() {
    "$PY" - "$1" <<'PYEND'
import glob, json, sqlite3, sys
left, captured, dropped, contiguous = [], [], 0, True
for path in glob.glob(sys.argv[1] + "/*/buffer.db"):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows, low, high = db.execute("SELECT count(*), min(seq), max(seq) FROM readings").fetchone()
    left.append(rows)
    contiguous = contiguous and (rows == 0 or rows == high - low + 1)
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'readings'").fetchone()
    captured.append(row[0] if row else 0)
    row = db.execute("SELECT value FROM meta WHERE key = 'dropped'").fetchone()
    dropped += row[0] if row else 0
    db.close()
print(json.dumps({"devices": len(left), "left": sum(left), "min_left_per_device": min(left, default=0),
                  "max_left_per_device": max(left, default=0), "devices_emptied": sum(1 for n in left if n == 0),
                  "contiguous": contiguous, "captured": sum(captured),
                  "min_captured_per_device": min(captured, default=0), "dropped": dropped}))
PYEND
}

# capture_backlog NAME DIR TOKENS DEVICES BACKLOG RATE: the DEVICES simulated devices under DIR
# (enrolled with TOKENS) each capture at least BACKLOG readings at RATE readings/s through the
# agent's own path, with their broker unreachable (a closed port), then point at the bench broker
# again. The simulator is recorded as `backlog`, its logs are logs/NAME-backlog.*. Prints the
# buffers' state; fails when the capture exits other than 0 or 3, or a device holds fewer than
# BACKLOG readings or a gap in its seqs.
capture_backlog() {
    local name="$1" dir="$2" tokens="$3" devices="$4" backlog="$5" rate="$6" seconds status=0 state
    seconds="$("$PY" -c "print(round($backlog / $rate + 0.3, 1))")"  # 0.3 s over: the last collection
    # Its callers run it on the left of `||`, where `set -e` does not reach: every step checks.
    set_broker_port "$dir" "$(closed_port)" || return 1
    "$BENCH_SIMULATOR" --server "$STACK_URL" --tokens "$tokens" --state-dir "$dir" --devices "$devices" \
        --rate "$rate" --duration "${seconds}s" --drain-timeout 1s \
        >"$BENCH_WORK/logs/$name-backlog.out" 2>"$BENCH_WORK/logs/$name-backlog.log" &
    stack_record backlog $!
    wait "$(stack_pid backlog)" || status=$?
    stack_stop_one backlog >/dev/null
    set_broker_port "$dir" "$STACK_MQTT_PORT" || return 1
    # 3 is the simulator's "readings still pending at the drain timeout": nothing could drain.
    if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
        log "$name: capturing the backlog failed (exit status $status; $BENCH_WORK/logs/$name-backlog.log)"
        return 1
    fi
    state="$(buffers_state "$dir")"
    if ! "$PY" -c 'import json,sys; b=json.loads(sys.argv[1]); sys.exit(0 if b["devices"] == int(sys.argv[2]) and b["min_left_per_device"] >= int(sys.argv[3]) and b["contiguous"] else 1)' \
        "$state" "$devices" "$backlog"; then
        log "$name: a device captured less than its backlog of $backlog readings, or with a gap: $state"
        return 1
    fi
    echo "$state"
}

# steady_window NAME BACKLOG CONSUMER_PIDS…: every device first captures BACKLOG readings into a
# fresh buffer (new buffer ids, from seq 1) through the agent's own path with the broker
# unreachable; then the simulator only publishes (no capture), so the window measures the
# centre, not the devices' capture: in the same process, capturing what the centre could not
# take cost the simulator about three quarters of its CPU. After the warm-up, BENCH_DURATION
# seconds are sampled; NAME.window.json has the rows stored in the window and what the buffers
# held at its end. A window in which a buffer ran empty is marked `"saturated": false`.
steady_window() {
    local name="$1" backlog="$2"; shift 2
    local sims="$BENCH_WORK/sim" before
    rm -f "$sims"/*/buffer.db*
    before="$(capture_backlog "sim-$name" "$sims" "$BENCH_WORK/sim.tokens" "$BENCH_DEVICES" "$backlog" "$BENCH_RATE")" || return 1
    "$BENCH_SIMULATOR" --server "$STACK_URL" --tokens "$BENCH_WORK/sim.tokens" --state-dir "$sims" \
        --devices "$BENCH_DEVICES" --duration 0s --drain-timeout 1h \
        >"$BENCH_WORK/logs/sim-$name.out" 2>"$BENCH_WORK/logs/sim-$name.log" &
    local sim=$!
    stack_record simulator "$sim"
    sleep "$BENCH_WARMUP"
    local t1 t2 after
    t1="$(sql "SELECT now()")"
    sampler_start "$BENCH_WORK/$name.cpu.json" "$@" simulator="$sim"
    sleep "$BENCH_DURATION"
    t2="$(sql "SELECT now()")"
    after="$(buffers_state "$sims")"  # before the shutdown's last acks
    sampler_stop
    kill -TERM "$sim" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$sim" 2>/dev/null || break; sleep 0.1; done
    stack_stop_one simulator >/dev/null
    local stored
    stored="$(sql "SELECT count(*) FROM readings WHERE received_at >= '$t1' AND received_at < '$t2'")"
    local seconds
    seconds="$(sql "SELECT extract(epoch FROM '$t2'::timestamptz - '$t1'::timestamptz)")"
    "$PY" - "$stored" "$seconds" "$before" "$after" "$BENCH_WORK/$name.window.json" <<'PYEND'
import json, sys
stored, seconds, before, after, out = int(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]
json.dump({"stored": stored, "seconds": seconds, "rows_per_second": stored / seconds if seconds else 0,
           "backlog": before["captured"], "backlog_per_device_min": before["min_captured_per_device"],
           "left_at_t2": after["left"], "min_left_per_device_at_t2": after["min_left_per_device"],
           "devices_emptied_by_t2": after["devices_emptied"], "saturated": after["devices_emptied"] == 0,
           "dropped": after["dropped"]}, open(out, "w"))
PYEND
}

# ingest_run N: one saturated run (BENCH_DEVICES simulated devices publishing their backlogs into a
# truncated table), then the same rows loaded by psql \copy into the same (truncated) table; ingest-N.json.
ingest_run() {
    local n="$1"
    sql "TRUNCATE readings" >/dev/null
    log "ingest run $n/$BENCH_INGEST_RUNS: $BENCH_DEVICES devices × $BENCH_INGEST_BACKLOG readings each, warm-up ${BENCH_WARMUP}s, window ${BENCH_DURATION}s"
    # shellcheck disable=SC2046
    steady_window "ingest-$n" "$BENCH_INGEST_BACKLOG" $(agg_pids)
    log "ingest run $n: $(cat "$BENCH_WORK/ingest-$n.window.json")"
    local rows copy_file="$BENCH_WORK/copy.tsv"
    stack_psql -c "\\copy (SELECT device, buffer, seq, ts, metric, value FROM readings ORDER BY received_at LIMIT 2000000) TO '$copy_file'"
    rows="$(wc -l < "$copy_file")"
    sql "TRUNCATE readings" >/dev/null
    sql "CHECKPOINT" >/dev/null
    sampler_start "$BENCH_WORK/copy-$n.cpu.json" postgres="$(stack_pid postgres)"
    local start end
    start="$(date +%s.%N)"
    stack_psql -c "\\copy readings (device, buffer, seq, ts, metric, value) FROM '$copy_file'"
    end="$(date +%s.%N)"
    sampler_stop
    rm -f "$copy_file"
    "$PY" "$root/bench/lib/ingest.py" run "$BENCH_WORK" "$n" "$rows" "$start" "$end" "$(cat /proc/loadavg)" >"$BENCH_WORK/ingest-$n.json"
}

phase_ingest() {
    enroll_simulator
    local n
    for n in $(seq 1 "$BENCH_INGEST_RUNS"); do ingest_run "$n"; done
    part ingest "$("$PY" "$root/bench/lib/ingest.py" median "$BENCH_WORK" "$BENCH_INGEST_RUNS")"
}

phase_baseline() {
    enroll_simulator
    # The aggregator steps aside; the naive consumer takes its broker identity (and session).
    stack_stop_one aggregator >/dev/null
    sql "TRUNCATE readings" >/dev/null
    local broker="$STACK_STATE/aggregator/broker"
    "$PY" "$root/bench/baseline/naive_ingest.py" --port "$STACK_MQTT_PORT" --ca "$broker/ca.pem" --cert "$broker/aggregator.pem" \
        --key "$broker/aggregator.key" --dsn "host=127.0.0.1 port=$STACK_PG_PORT user=outpost dbname=outpost" \
        >"$BENCH_WORK/baseline.out" 2>"$BENCH_WORK/logs/baseline.log" &
    local naive=$!
    stack_record naive "$naive"
    sleep 2
    log "baseline: the same stream into one INSERT + COMMIT per reading"
    steady_window baseline "$BENCH_BASELINE_BACKLOG" naive="$naive" postgres="$(stack_pid postgres)" mosquitto="$(stack_pid mosquitto)"
    stack_stop_one naive >/dev/null
    log "baseline: $(cat "$BENCH_WORK/baseline.window.json")"
    part baseline "$("$PY" - "$BENCH_WORK" <<'PYEND'
import json, sys
work = sys.argv[1]
window = json.load(open(f"{work}/baseline.window.json"))
try:
    counts = json.loads(open(f"{work}/baseline.out").read().strip().splitlines()[-1])
except (OSError, ValueError, IndexError):
    counts = None
print(json.dumps({"naive": window, "naive_counts": counts, "cpu": json.load(open(f"{work}/baseline.cpu.json"))}))
PYEND
)"
    stack_start_aggregator
}

# ---------------------------------------------------------------------------------------------
# Item 3: one real, enrolled `outpost-agent run`: 10 sources at 1 Hz, then draining a backlog.

buffer_rows() {  # buffer_rows DB [MAX_SEQ]: rows still in the agent's buffer (with seq ≤ MAX_SEQ)
    "$PY" -c 'import sqlite3,sys; db=sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True); print(db.execute("SELECT count(*) FROM readings WHERE seq <= ?", (int(sys.argv[2]),)).fetchone()[0])' "$1" "${2:-9223372036854775807}"
}
buffer_last_seq() {
    "$PY" -c 'import sqlite3,sys; db=sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True); r=db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", ("readings",)).fetchone(); print(r[0] if r else 0)' "$1"
}

phase_footprint() {
    local dir="$BENCH_WORK/agent"
    stack_enroll_meters "$BENCH_AGENT" bench-agent "$dir"
    local db="$dir/state/buffer.db"

    # The binary as packaged (stripped) and the smallest thing it does: peak RSS of `--version`.
    strip --strip-unneeded -o "$BENCH_WORK/outpost-agent.stripped" "$BENCH_AGENT"
    stat -c %s "$BENCH_WORK/outpost-agent.stripped" >"$BENCH_WORK/footprint-binary-bytes"
    "$PY" - "$BENCH_AGENT" >"$BENCH_WORK/footprint-version.json" <<'PYEND'
import json, resource, subprocess, sys
subprocess.run([sys.argv[1], "--version"], stdout=subprocess.DEVNULL, check=True, timeout=30)
print(json.dumps({"rss_mib_peak": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}))
PYEND

    log "footprint: outpost-agent run, 10 meter sources at 1 Hz, ${BENCH_FOOTPRINT_DURATION}s"
    "$BENCH_AGENT" run --config "$dir/agent.json" >"$BENCH_WORK/logs/agent-live.log" 2>&1 &
    local agent=$!
    stack_record agent "$agent"
    "$PY" "$sample" --out "$BENCH_WORK/footprint-live.json" --interval 0.5 --duration "$BENCH_FOOTPRINT_DURATION" agent="$agent"
    # RSS split into what only this process holds (private dirty, anonymous) and its share of mapped files (PSS).
    cat "/proc/$agent/smaps_rollup" >"$BENCH_WORK/footprint-smaps.txt"
    stack_stop_one agent >/dev/null

    # The backlog, built through the agent's own path: the same agent, its broker unreachable
    # (a closed port), one fast meter source; stopped once the buffer holds BENCH_BACKLOG readings.
    "$PY" - "$dir/agent.json" "$dir/offline.json" "$STACK_MQTT_PORT" <<'PYEND'
import json, socket, sys
config = json.load(open(sys.argv[1]))
s = socket.socket(); s.bind(("127.0.0.1", 0)); closed = s.getsockname()[1]; s.close()
config["mqtt"]["port"] = closed
config["sources"] = [{"type": "meter", "name": "fast", "interval_s": 0.1, "kind": "ac", "seed": 99, "samples_per_collect": 200}]
json.dump(config, open(sys.argv[2], "w"), indent=1)
PYEND
    log "footprint: building a backlog of $BENCH_BACKLOG readings with the broker unreachable"
    "$BENCH_AGENT" run --config "$dir/offline.json" >"$BENCH_WORK/logs/agent-offline.log" 2>&1 &
    agent=$!
    stack_record agent "$agent"
    local deadline=$((SECONDS + 120))
    while [ "$(buffer_rows "$db")" -lt "$BENCH_BACKLOG" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    stack_stop_one agent >/dev/null
    local backlog last
    backlog="$(buffer_rows "$db")"
    last="$(buffer_last_seq "$db")"
    log "footprint: backlog $backlog readings (last seq $last); draining with the broker back"

    "$BENCH_AGENT" run --config "$dir/agent.json" >"$BENCH_WORK/logs/agent-drain.log" 2>&1 &
    agent=$!
    stack_record agent "$agent"
    local start end
    start="$(date +%s.%N)"
    sampler_start "$BENCH_WORK/footprint-drain.json" agent="$agent"
    deadline=$((SECONDS + 180))
    while [ "$(buffer_rows "$db" "$last")" -gt 0 ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    end="$(date +%s.%N)"
    sampler_stop
    local remaining stored
    remaining="$(buffer_rows "$db" "$last")"
    stack_stop_one agent >/dev/null
    stored="$(sql "SELECT count(*) FROM readings WHERE device = 'bench-agent' AND seq <= $last")"
    part footprint "$("$PY" - "$BENCH_WORK" "$backlog" "$remaining" "$start" "$end" "$stored" "$last" <<'PYEND'
import json, sys
work, backlog, remaining, start, end, stored, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
live = json.load(open(f"{work}/footprint-live.json"))
drain = json.load(open(f"{work}/footprint-drain.json"))
smaps = {}
for line in open(f"{work}/footprint-smaps.txt"):
    parts = line.split()
    if len(parts) == 3 and parts[2] == "kB":
        smaps[parts[0].rstrip(":")] = round(int(parts[1]) / 1024, 1)
binary_bytes = int(open(f"{work}/footprint-binary-bytes").read())
print(json.dumps({"sources": 10, "binary_stripped_bytes": binary_bytes, "version": json.load(open(f"{work}/footprint-version.json")),
                  "live_smaps_rollup_mib": {k: smaps.get(k) for k in ("Rss", "Pss", "Private_Dirty", "Private_Clean", "Shared_Clean", "Anonymous")},
                  "live": live, "drain": drain, "backlog": backlog, "backlog_last_seq": last,
                  "backlog_method": "same agent run with its broker port closed and one meter source at 2,000 readings/s, stopped by SIGTERM",
                  "drain_seconds": end - start, "drain_rows_per_second": backlog / (end - start),
                  "remaining_after_drain": remaining, "stored_in_postgres": stored}))
PYEND
)"
}

# ---------------------------------------------------------------------------------------------
# Item 1, the aggregator's share: instructions per reading of the telemetry decoder, the direct
# one against the JSONDecoder path it replaced, in one binary (bench/decode/main.swift) under
# callgrind (this VM has no hardware counters). Counts are exact, so the busy machine does not move them.

phase_decode() {
    local dir="$BENCH_WORK/decode"
    mkdir -p "$dir"
    mkdir -p "$dir/modules"
    swiftc -O -parse-as-library -module-name OutpostSupport -emit-module -emit-module-path "$dir/modules/OutpostSupport.swiftmodule" \
        -emit-library -static -o "$dir/libOutpostSupport.a" \
        "$root/Common/Support/Errors/CodedError.swift" "$root/Common/Support/JSON/JSONValue.swift" 2>"$BENCH_WORK/logs/decode-build.log"
    swiftc -O -parse-as-library -module-name OutpostWire -I "$dir/modules" "$root"/Common/Wire/Payload/*.swift \
        "$root"/Common/Wire/Messages/*.swift "$root/Common/Wire/Identity/DeviceID.swift" "$root"/Common/Wire/Topics/*.swift \
        "$root/bench/decode/main.swift" "$dir/libOutpostSupport.a" \
        -o "$dir/decode-bench" 2>>"$BENCH_WORK/logs/decode-build.log"
    local mode count
    for mode in direct foundation; do
        for count in 20 120; do
            valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.$mode.$count" "$dir/decode-bench" "$mode" "$count" \
                >"$dir/$mode.$count.out" 2>"$dir/$mode.$count.log"
        done
    done
    part decode "$("$PY" - "$dir" <<'PYEND'
import json, re, sys
work = sys.argv[1]
def ir(mode, count):
    return int(re.search(r"Collected : (\d+)", open(f"{work}/{mode}.{count}.log").read()).group(1))
# 100 more rounds of a 500-reading batch: 50,000 readings between the two runs.
per = {mode: (ir(mode, 120) - ir(mode, 20)) / 50_000 for mode in ("direct", "foundation")}
print(json.dumps({"ir_per_reading_direct": round(per["direct"]), "ir_per_reading_jsondecoder": round(per["foundation"]),
                  "ratio": per["foundation"] / per["direct"], "batch_readings": 500}))
PYEND
)"
    log "decode: $(cat "$BENCH_PARTS/decode.json")"
}

# ---------------------------------------------------------------------------------------------
# Item 4: the SQLite buffer on its own (ReadingBuffer in the release build).

phase_buffer() {
    mkdir -p "$BENCH_WORK/buffer"
    local full normal
    log "buffer: ReadingBuffer append and drain, synchronous full and normal"
    full="$(timeout 120 "$BENCH_TOOL" buffer --dir "$BENCH_WORK/buffer" --rows 200000 --synchronous full)"
    normal="$(timeout 120 "$BENCH_TOOL" buffer --dir "$BENCH_WORK/buffer" --rows 200000 --synchronous normal)"
    part buffer "{\"full\": $full, \"normal\": $normal}"
}

# ---------------------------------------------------------------------------------------------
# Item 5: the admin API under wrk, with 10,000 devices and 10,000,000 readings loaded with SQL.

phase_api() {
    local devices="$BENCH_API_DEVICES" per="$BENCH_API_READINGS" step chunk
    log "api: loading $devices devices × $per readings (1 h buckets over 30 days)"
    sql "TRUNCATE readings" >/dev/null
    sql "INSERT INTO devices (id, kind, status, last_seen) SELECT 'api-' || lpad(i::text, 5, '0'), 'meter', 'online', now()
         FROM generate_series(1, $devices) i ON CONFLICT DO NOTHING" >/dev/null
    sql "SELECT count(outpost_ensure_readings_partition(d::date)) FROM generate_series(current_date - 31, current_date + 1, interval '1 day') d" >/dev/null
    # Each device: `per` power_w readings spread over the 30 days before the run.
    step=$((2592000 / per))
    chunk=1000
    local from
    for from in $(seq 1 "$chunk" "$devices"); do
        sql "INSERT INTO readings (device, buffer, seq, ts, metric, value)
             SELECT 'api-' || lpad(d::text, 5, '0'), 1, s, date_trunc('hour', now()) - interval '30 days' + s * interval '$step seconds',
                    'power_w', 500 + 400 * sin(s / 20.0 + d)
             FROM generate_series($from, least($devices, $from + $chunk - 1)) d, generate_series(1, $per) s" >/dev/null
    done
    sql "ANALYZE readings" >/dev/null
    sql "ANALYZE devices" >/dev/null
    local loaded; loaded="$(sql "SELECT count(*) FROM readings")"

    # A real API key: an admin made with the CLI logs in and creates a viewer key.
    local username="bench-admin-$$" password access key
    password="$("$STACK_AGG" user create --config "$STACK_CONFIG" --username "$username" --role admin | awk -F': ' '/^password/ {print $2}')"
    access="$(curl -sf --cacert "$STACK_CA" "$STACK_URL/api/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"username\":\"$username\",\"password\":\"$password\"}" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')"
    key="$(curl -sf --cacert "$STACK_CA" "$STACK_URL/api/v1/api-keys" -H "authorization: Bearer $access" -H 'content-type: application/json' \
        -d "{\"name\":\"bench\",\"role\":\"viewer\",\"expiresAt\":\"$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)\"}" \
        | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
    local to from_ts
    to="$(date -u +%Y-%m-%dT%H:00:00Z)"
    from_ts="$(date -u -d '-30 days' +%Y-%m-%dT%H:00:00Z)"
    local list_path="/api/v1/devices?limit=100"
    local bucket_path="/api/v1/devices/{device}/readings?metric=power_w&from=$from_ts&to=$to&bucket=1h&limit=720"
    local check
    check="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$STACK_CA" -H "authorization: Bearer $key" \
        "$STACK_URL${bucket_path/\{device\}/api-00001}")"
    [ "$check" = 200 ] || { log "api: bucketed query answered $check"; return 1; }

    local name path results="{}"
    for name in device_list readings_1h; do
        [ "$name" = device_list ] && path="$list_path" || path="$bucket_path"
        log "api: wrk $name, $BENCH_API_CONNECTIONS connections, ${BENCH_API_DURATION}s"
        sampler_start "$BENCH_WORK/api-$name.cpu.json" aggregator="$(stack_pid aggregator)" postgres="$(stack_pid postgres)"
        BENCH_API_KEY="$key" BENCH_API_PATH="$path" BENCH_API_DEVICES="$devices" BENCH_API_PREFIX="api-" \
            timeout $((BENCH_API_DURATION + 30)) wrk -t2 -c"$BENCH_API_CONNECTIONS" -d"${BENCH_API_DURATION}s" \
            -s "$root/bench/lib/wrk-api.lua" "$STACK_URL" > "$BENCH_WORK/api-$name.wrk" 2>&1
        sampler_stop
        results="$("$PY" - "$results" "$name" "$BENCH_WORK/api-$name.wrk" "$BENCH_WORK/api-$name.cpu.json" "$path" <<'PYEND'
import json, sys
results, name, wrk_out, cpu, path = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
line = [l for l in open(wrk_out).read().splitlines() if l.startswith("{")][-1]
results[name] = dict(json.loads(line), path=path, cpu=json.load(open(cpu)))
print(json.dumps(results))
PYEND
)"
    done
    # PostgreSQL's own rate for the device list's SQL at the same concurrency, in the same run.
    local pgbench; pgbench="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pgbench"
    log "api: pgbench -f device list SQL, $BENCH_API_CONNECTIONS clients, ${BENCH_API_DURATION}s"
    sampler_start "$BENCH_WORK/api-pgbench.cpu.json" postgres="$(stack_pid postgres)"
    timeout $((BENCH_API_DURATION + 60)) "$pgbench" -n -M prepared -f "$root/bench/lib/pgbench-device-list.sql" \
        -c "$BENCH_API_CONNECTIONS" -j 2 -T "$BENCH_API_DURATION" -h 127.0.0.1 -p "$STACK_PG_PORT" -U outpost outpost \
        >"$BENCH_WORK/api-pgbench.out" 2>&1
    sampler_stop
    results="$("$PY" - "$results" "$BENCH_WORK/api-pgbench.out" "$BENCH_WORK/api-pgbench.cpu.json" <<'PYEND'
import json, re, sys
results, out, cpu = json.loads(sys.argv[1]), open(sys.argv[2]).read(), sys.argv[3]
tps = re.search(r"tps = ([0-9.]+)", out)
latency = re.search(r"latency average = ([0-9.]+) ms", out)
results["pgbench_device_list"] = {"transactions_per_second": float(tps.group(1)), "latency_ms_mean": float(latency.group(1)),
                                  "cpu": json.load(open(cpu))}
if "device_list" in results:
    results["ratio_device_list_over_pgbench"] = results["device_list"]["requests_per_second"] / float(tps.group(1))
print(json.dumps(results))
PYEND
)"
    part api "$("$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(devices=int(sys.argv[2]), readings=int(sys.argv[3]), connections=int(sys.argv[4]), threads=2); print(json.dumps(r))' \
        "$results" "$devices" "$loaded" "$BENCH_API_CONNECTIONS")"
}

# ---------------------------------------------------------------------------------------------
# Item 6: RTP, one 1080p30 ~8 Mbit/s H.264 stream from a file, received by GStreamer.

phase_rtp() {
    local seconds="$BENCH_RTP_DURATION" video="$BENCH_CACHE/1080p30-8M-${BENCH_RTP_DURATION}s.h264"
    mkdir -p "$BENCH_CACHE"
    if [ ! -s "$video" ]; then
        log "rtp: encoding ${seconds}s of 1080p30 at 8 Mbit/s with libx264 (cached in $BENCH_CACHE)"
        timeout 600 ffmpeg -nostdin -loglevel error -f lavfi -i "testsrc2=size=1920x1080:rate=30" -t "$seconds" \
            -c:v libx264 -preset veryfast -b:v 8M -maxrate 8M -bufsize 8M -g 60 -pix_fmt yuv420p \
            -bsf:v h264_mp4toannexb -f h264 "$video.tmp"
        mv "$video.tmp" "$video"
    fi
    local port
    port="$("$PY" -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); p=s.getsockname()[1]; print(p - p % 2)')"
    gst-launch-1.0 -q udpsrc address=127.0.0.1 port="$port" buffer-size=8388608 \
        caps="application/x-rtp,media=video,encoding-name=H264,payload=96,clock-rate=90000" \
        ! rtph264depay ! h264parse ! filesink location="$BENCH_WORK/rtp-received.h264" >"$BENCH_WORK/logs/gst.log" 2>&1 &
    local receiver=$!
    stack_record receiver "$receiver"
    sleep 1
    log "rtp: outpost-agent stream, ${seconds}s to 127.0.0.1:$port"
    local start end
    start="$(date +%s.%N)"
    "$BENCH_AGENT" stream --source "file:$video" --fps 30 --to "127.0.0.1:$port" --sdp-out "$BENCH_WORK/rtp.sdp" \
        --stats-interval 5 >"$BENCH_WORK/rtp-events.jsonl" 2>"$BENCH_WORK/logs/stream.log" &
    local agent=$!
    stack_record stream "$agent"
    sampler_start "$BENCH_WORK/rtp.cpu.json" agent="$agent" receiver="$receiver"
    local deadline=$((SECONDS + seconds + 20))
    while kill -0 "$agent" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    end="$(date +%s.%N)"
    sampler_stop
    stack_stop_one stream >/dev/null
    stack_stop_one receiver >/dev/null
    part rtp "$("$PY" - "$BENCH_WORK" "$video" "$start" "$end" "$seconds" <<'PYEND'
import json, os, sys
work, video, start, end, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
cpu = json.load(open(f"{work}/rtp.cpu.json"))
agent = cpu["processes"]["agent"]
size = os.path.getsize(video)
received = os.path.getsize(f"{work}/rtp-received.h264") if os.path.exists(f"{work}/rtp-received.h264") else 0
print(json.dumps({"stream_seconds": seconds, "wall_seconds": cpu["seconds"], "file_bytes": size,
                  "bitrate_mbit": size * 8 / seconds / 1e6, "received_bytes": received,
                  "agent_cpu_seconds": agent["cpu_seconds"],
                  "cpu_seconds_per_stream_second": agent["cpu_seconds"] / seconds,
                  "cpu_pct_of_one_core": 100 * agent["cpu_seconds"] / seconds,
                  "agent_rss_mib_peak": agent["rss_mib_peak"], "cpu": cpu}))
PYEND
)"
}

# Item 7: live view, agent send → presentation in headless Chromium through Janus: the figures
# `make test-live` measures (latency median/p95 over ~8 s of frames read back by their drawn
# frame number, packets/s with one and two viewers). Needs root (its network namespace).
phase_live() {
    if [ "$(id -u)" -ne 0 ]; then
        log "live: needs root (network namespace, raw capture); not measured"
        return 0
    fi
    log "live: packaging/dev/live-test.sh"
    "$root/packaging/dev/live-test.sh" >"$BENCH_WORK/logs/live-test.log" 2>&1
    part live "$(cat "$root/.build/live-test/results.json")"
}

# Item 8: a Patroni cluster (ha/cluster.sh: synchronous replica, HAProxy, TLS) with the debug
# build's `Patroni figures` suite: the store's rows/s through HAProxy against straight to the
# leader, the replica's replay lag under that ingest, readings queries served by the replica
# meanwhile (Tests/AggregatorIntegrationTests/PatroniBenchmark.swift). As root the cluster runs as `postgres`.
phase_patroni() {
    log "patroni: swift test --filter PatroniBenchmark (debug build, OUTPOST_BENCH=1)"
    mkdir -p "$root/.build/test-pids"
    (cd "$root" && OUTPOST_BENCH=1 TEST_HARNESS_PIDS_DIR="$root/.build/test-pids" swift test --filter PatroniBenchmark) \
        >"$BENCH_WORK/logs/patroni.log" 2>&1 || { "$root/packaging/dev/reap-test-processes.sh" "$root/.build/test-pids"; return 1; }
    part patroni "$("$PY" -c 'import json, sys; print(json.dumps({"lines": [l.strip()[len("BENCH patroni "):] for l in open(sys.argv[1]) if l.startswith("BENCH patroni ")]}))' "$BENCH_WORK/logs/patroni.log")"
}

# ---------------------------------------------------------------------------------------------
# `bench/run.sh --profile`: the aggregator under callgrind while simulated devices stream
# (valgrind because this machine has no hardware counters for perf). Slow: a light load.

phase_profile() {
    enroll_simulator
    stack_stop_one aggregator >/dev/null
    local out="$BENCH_WORK/callgrind.out" seconds="${BENCH_PROFILE_DURATION:-90}"
    # Valgrind 3.19 cannot read the DWARF 5 of Swift 6.3 binaries ("possibly corrupted
    # debuginfo"); without it, the symbol table still names every function.
    objcopy --strip-debug "$STACK_AGG" "$BENCH_WORK/outpost-aggregator.nodebug"
    STACK_AGG="$BENCH_WORK/outpost-aggregator.nodebug" STACK_AGG_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$out" \
        STACK_HEALTH_TRIES=1500 stack_start_aggregator
    sql "TRUNCATE readings" >/dev/null
    rm -f "$BENCH_WORK"/sim/*/buffer.db*
    log "profile: ${BENCH_PROFILE_DEVICES:-20} devices × ${BENCH_PROFILE_RATE:-50}/s for ${seconds}s into the aggregator under callgrind"
    "$BENCH_SIMULATOR" --server "$STACK_URL" --tokens "$BENCH_WORK/sim.tokens" --state-dir "$BENCH_WORK/sim" \
        --devices "${BENCH_PROFILE_DEVICES:-20}" --rate "${BENCH_PROFILE_RATE:-50}" --duration "${seconds}s" --drain-timeout 60s \
        --report "$BENCH_WORK/profile.sim.json" >"$BENCH_WORK/logs/sim-profile.out" 2>"$BENCH_WORK/logs/sim-profile.log" &
    stack_record simulator $!
    wait "$(stack_pid simulator)" || true
    stack_stop_one simulator >/dev/null
    local stored
    stored="$(sql "SELECT count(*) FROM readings")"
    log "profile: stored $stored; stopping the aggregator (callgrind writes its output)"
    STACK_STOP_TRIES=1200 stack_stop_one aggregator
    callgrind_annotate --inclusive=yes --threshold=99 "$out" | swift demangle --simplified > "$BENCH_WORK/profile-inclusive.txt"
    callgrind_annotate --threshold=99 "$out" | swift demangle --simplified > "$BENCH_WORK/profile-self.txt"
    "$PY" - "$BENCH_WORK/profile-inclusive.txt" "$stored" >"$BENCH_WORK/profile-summary.json" <<'PYEND'
import json, re, sys
# Instructions (Ir) of the whole aggregator, and inclusive of WireCodec.decode, per stored reading.
total, decode = None, 0
for line in open(sys.argv[1]):
    match = re.match(r"\s*([\d,]+)\s", line)
    if not match:
        continue
    ir = int(match.group(1).replace(",", ""))
    if "PROGRAM TOTALS" in line:
        total = ir
    elif "WireCodec.decode" in line:
        decode = max(decode, ir)
stored = int(sys.argv[2])
print(json.dumps({"stored": stored, "ir_total": total, "ir_decode_inclusive": decode,
                  "ir_per_reading": round(total / stored) if total and stored else None,
                  "ir_decode_per_reading": round(decode / stored) if stored else None}))
PYEND
    log "profile: $(cat "$BENCH_WORK/profile-summary.json")"
    log "profile: $BENCH_WORK/profile-inclusive.txt and profile-self.txt"
}

# Issue 20's fleet drain: 50 devices' backlogs beside 50 live devices (bench/fleetdrain.sh).
# shellcheck source=bench/fleetdrain.sh
. "$root/bench/fleetdrain.sh"

# ---------------------------------------------------------------------------------------------

if [ "${1:-}" = phase ]; then
    # A phase in its own process, under `timeout` from the main run; its own processes are ended
    # by PID on the way out (the main run's stack_stop catches anything left).
    trap 'for n in simulator backlog naive agent stream receiver fd-enroll-drain fd-enroll-live fd-drain fd-live; do stack_stop_one "$n" >/dev/null 2>&1 || true; done' EXIT
    "phase_$2"
    exit 0
fi

started="$(date +%s)"
"$root/packaging/dev/install-deps.sh"
"$root/packaging/dev/install-deps.sh" "$root/packaging/dev/bench-packages.txt"

log "building release binaries (.build-release, static Swift stdlib)"
scratch="$root/.build-release"
build_started="$(date +%s)"
for product in outpost-aggregator outpost-agent outpost-simulator outpost-bench; do
    [ -n "${BENCH_NO_BUILD:-}" ] && break  # iterate on the scripts with the binaries already built
    mkdir -p "$root/.state"
    if ! timeout 3600 swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product "$product" \
        >"$root/.state/bench-build.log" 2>&1; then
        tail -20 "$root/.state/bench-build.log" >&2
        log "release build of $product failed (full log: .state/bench-build.log)"
        exit 1
    fi
    tail -1 "$root/.state/bench-build.log" >&2
done
bin="${BENCH_BIN:-$(swift build -c release --scratch-path "$scratch" --show-bin-path)}"
build_seconds=$(( $(date +%s) - build_started ))
export STACK_AGG="$bin/outpost-aggregator" BENCH_AGENT="$bin/outpost-agent" BENCH_SIMULATOR="$bin/outpost-simulator" BENCH_TOOL="$bin/outpost-bench"
for binary in "$STACK_AGG" "$BENCH_AGENT" "$BENCH_TOOL"; do [ -x "$binary" ] || { log "missing $binary"; exit 1; }; done

[ -f "$BENCH_WORK/pids/.order" ] && stack_stop "$BENCH_WORK" >/dev/null
export STACK_AGGREGATOR_EXTRA=',
  "api": {"requests_per_minute": 100000000}'
stack_init "$BENCH_WORK" "${BENCH_PG_PORT:-56432}" "${BENCH_MQTT_PORT:-59883}" "${BENCH_HTTPS_PORT:-59443}"
export STACK_STATE STACK_PG_PORT STACK_MQTT_PORT STACK_HTTPS_PORT STACK_CONFIG STACK_CA STACK_URL
mkdir -p "$BENCH_PARTS"
trap 'stack_stop "$BENCH_WORK" >/dev/null 2>&1 || true' EXIT
log "starting PostgreSQL, mosquitto (TLS) and the aggregator under $BENCH_WORK"
# max_wal_size: the stock 1 GB checkpoints every few seconds under a 10-million-row load.
stack_start_postgres -c max_wal_size=4GB
stack_configure bench 2>>"$BENCH_WORK/logs/setup.log"
stack_start_mosquitto
stack_start_aggregator

failed=()
run_phase() {  # run_phase NAME LIMIT_SECONDS
    local name="$1" limit="$2"
    if skipped "$name"; then log "$name: skipped (BENCH_SKIP)"; return 0; fi
    local begun; begun="$(date +%s)"
    if ! timeout -k 15 "$limit" "$0" phase "$name"; then
        log "$name: FAILED or timed out after $(( $(date +%s) - begun ))s (limit ${limit}s); logs in $BENCH_WORK/logs"
        failed+=("$name")
    fi
    kill -0 "$(stack_pid aggregator)" 2>/dev/null || stack_start_aggregator
}
if [ "${1:-}" = --profile ]; then
    run_phase profile 1800
    stack_stop "$BENCH_WORK" >/dev/null
    exit 0
fi
if [ -x "$BENCH_SIMULATOR" ]; then
    run_phase ingest $((BENCH_INGEST_RUNS * (BENCH_WARMUP + BENCH_DURATION + 180) + 240))
    run_phase baseline $((BENCH_WARMUP + BENCH_DURATION + 120))
else
    log "ingest, baseline: no outpost-simulator in $bin"
    failed+=(ingest baseline)
fi
run_phase decode 600
run_phase footprint $((BENCH_FOOTPRINT_DURATION + 360))
if [ -x "$BENCH_SIMULATOR" ]; then
    run_phase fleetdrain $((${BENCH_FLEETDRAIN_TIMEOUT:-150} + 420))
elif ! skipped fleetdrain; then
    log "fleetdrain: no outpost-simulator in $bin"
    failed+=(fleetdrain)
fi
run_phase buffer 300
run_phase api $((BENCH_API_DURATION * 2 + 900))
run_phase rtp $((BENCH_RTP_DURATION + 660))
run_phase console $((BENCH_CONSOLE_DURATION * 5 + 780))
run_phase live 900
run_phase patroni 900

stack_stop "$BENCH_WORK" >/dev/null
trap - EXIT
mkdir -p "$root/bench/results"
"$PY" "$root/bench/lib/report.py" --parts "$BENCH_PARTS" --out-dir "$root/bench/results" \
    --build-seconds "$build_seconds" --total-seconds "$(( $(date +%s) - started ))" --failed "${failed[*]:-}" \
    --pg-bin "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
[ ${#failed[@]} -eq 0 ] || { log "failed phases: ${failed[*]}"; exit 1; }
