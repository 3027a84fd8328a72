#!/usr/bin/env bash
# `make test-live`: live view end to end in a real headless Chromium (Selenium, pinned, in a
# venv under .build/): PostgreSQL, mosquitto, the aggregator, a camera agent streaming an
# ffmpeg testsrc2 clip as SRTP, and Janus, all inside a network and PID namespace this script
# makes (Janus never offers loopback ICE candidates, so the namespace gets a veth pair on a
# private /30 that exists only there). Needs root (namespaces, raw capture). Every process is
# ended by PID; the PID namespace ends any helper Chromium leaves behind.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$root/.build/live-test"
venv="$root/.build/live-venv"
selenium_version="4.38.0"

if [ -z "${LIVE_TEST_INSIDE:-}" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "test-live skipped: it needs root for its network namespace and raw capture" >&2
        exit 0
    fi
    cd "$root"
    swift build -q --product outpost-agent
    swift build -q --product outpost-aggregator
    if ! "$venv/bin/python" -c "import selenium, sys; sys.exit(selenium.__version__ != '$selenium_version')" 2>/dev/null; then
        rm -rf "$venv"
        /usr/bin/python3 -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check "selenium==$selenium_version"
    fi
    mkdir -p "$work"
    # A 60 s 640x360 clip, a keyframe each second, its frame number drawn as 11 bits (white
    # 40-px squares, bit 0 at the left) in a black band at the top, for the latency figure.
    clip="$work/testsrc2-numbered.h264"
    if [ ! -s "$clip" ]; then
        boxes="drawbox=x=0:y=0:w=640:h=40:color=black:t=fill"
        for bit in $(seq 0 10); do
            boxes="$boxes,drawbox=x=$((bit * 40)):y=0:w=40:h=40:color=white:t=fill:enable='mod(floor(n/$((1 << bit))),2)'"
        done
        ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=640x360:rate=30" -t 60 -vf "$boxes" \
            -c:v libx264 -preset ultrafast -profile:v baseline -pix_fmt yuv420p -g 30 -bf 0 -crf 20 -f h264 "$clip"
    fi
    exec unshare --net --pid --fork --mount-proc env LIVE_TEST_INSIDE=1 "$0" "$@"
fi

# Inside the namespaces: lo, and the veth pair Janus offers browsers.
ip link set lo up
ip link add olive0 type veth peer name olive1
ip addr add 10.77.0.1/30 dev olive0
ip addr add 10.77.0.2/30 dev olive1
ip link set olive0 up
ip link set olive1 up

# shellcheck source=packaging/dev/stack.sh
. "$root/packaging/dev/stack.sh"
STACK_ROOT="$root"
cd "$root"
bin="$(swift build --show-bin-path)"
STACK_AGG="$bin/outpost-aggregator"
agent_bin="$bin/outpost-agent"
clip="$work/testsrc2-numbered.h264"
janus_port=58088

stack_init "$work/state" 57432 57883 57443
trap 'stack_stop "$work/state" >/dev/null' EXIT

# The camera is a second host: a network namespace of its own (held by a sleeping process),
# joined to this one by a veth pair on 10.78.0.0/30 and routed to Janus's address, so its
# media crosses a real link and Janus answers RTCP to the address it latched, never loopback.
# The stack's broker and certificates are for 127.0.0.1: the camera reaches the broker and the
# HTTPS API at its own 127.0.0.1 through a socat relay on each side of the link.
unshare --net sleep infinity &
stack_record camera-host $!
camera_net="/proc/$!/ns/net"
# Until the holder has left this namespace, its /proc entry still names this one.
for _ in $(seq 50); do [ "$(readlink "$camera_net")" != "$(readlink /proc/self/ns/net)" ] && break; sleep 0.1; done
in_camera() { nsenter --net="$camera_net" "$@"; }
ip link add ocam0 type veth peer name ocam1
ip link set ocam1 netns "$(stack_pid camera-host)"
ip addr add 10.78.0.1/30 dev ocam0
ip link set ocam0 up
in_camera ip link set lo up
in_camera ip addr add 10.78.0.2/30 dev ocam1
in_camera ip link set ocam1 up
in_camera ip route add 10.77.0.0/30 via 10.78.0.1
for port in 57883 57443; do
    socat "TCP-LISTEN:$port,bind=10.78.0.1,fork,reuseaddr" "TCP:127.0.0.1:$port" 2>>"$STACK_STATE/logs/relay.log" &
    stack_record "relay-centre-$port" $!
    in_camera socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" "TCP:10.78.0.1:$port" 2>>"$STACK_STATE/logs/relay.log" &
    stack_record "relay-camera-$port" $!
done
# The cameras send to Janus's address on the veth; Janus's HTTP API stays on 127.0.0.1.
STACK_AGGREGATOR_EXTRA=", \"api\": {\"requests_per_minute\": 100000, \"bcrypt_cost\": 4},
  \"live\": {\"janus_url\": \"http://127.0.0.1:$janus_port/janus\", \"janus_config_dir\": \"$work/state/janus\",
             \"media_address\": \"10.77.0.1\", \"http_port\": $janus_port, \"rtp_port_range\": \"40000-40999\",
             \"ice_interface\": \"olive0\", \"idle_timeout_seconds\": 20, \"check_interval_seconds\": 1}"
stack_start_postgres
stack_configure live
"$STACK_AGG" janus-config --config "$STACK_CONFIG" >/dev/null
chown -R nobody:nogroup "$work/state/janus"
setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups -- \
    janus -F "$work/state/janus" -C "$work/state/janus/janus.jcfg" -o >"$STACK_STATE/logs/janus.log" 2>&1 &
stack_record janus $!
stack_start_mosquitto
stack_start_aggregator

device=cam-live
dir="$STACK_STATE/agent-cam"
token="$("$STACK_AGG" token create --config "$STACK_CONFIG" --device "$device" --kind camera --ttl 1h | awk '/^token:/ {print $2}')"
mkdir -p "$dir"
cat > "$dir/agent.json" <<JSON
{"state_dir": "$dir/state",
 "sources": [{"type": "system", "name": "system", "interval_s": 10, "prefix": "host"}],
 "streams": {"camera": {"kind": "file", "path": "$clip", "fps": 30, "loop": true}},
 "logging": {"format": "json", "level": "debug"}}
JSON
in_camera "$agent_bin" enroll --server "$STACK_URL" --token "$token" --config-dir "$dir" >/dev/null
in_camera "$agent_bin" run --config "$dir/agent.json" >"$STACK_STATE/logs/agent-cam.log" 2>&1 &
stack_record agent-cam $!

admin_password="live-admin-$(openssl rand -hex 8)"
viewer_password="live-viewer-$(openssl rand -hex 8)"
echo "$admin_password" | "$STACK_AGG" user create --config "$STACK_CONFIG" --username admin --role admin --password-stdin >/dev/null
echo "$viewer_password" | "$STACK_AGG" user create --config "$STACK_CONFIG" --username viewer --role viewer --password-stdin >/dev/null

LIVE_URL="$STACK_URL" LIVE_CA="$STACK_CA" LIVE_PG_PORT="$STACK_PG_PORT" LIVE_DEVICE="$device" \
LIVE_ADMIN_PASSWORD="$admin_password" LIVE_VIEWER_PASSWORD="$viewer_password" LIVE_MEDIA_ADDRESS=10.77.0.1 \
LIVE_CAMERA_ADDRESS=10.78.0.2 LIVE_CAPTURE_INTERFACE=ocam0 \
LIVE_JANUS_URL="http://127.0.0.1:$janus_port/janus" LIVE_JANUS_SECRETS="$work/state/janus/outpost-secrets.json" \
LIVE_LOGS="$STACK_STATE/logs" LIVE_SCREENSHOTS="$work/screenshots" LIVE_RESULTS="$work/results.json" \
    "$venv/bin/python" "$root/Tests/Live/test_live.py"
