#!/usr/bin/env bash
# make test-vm: the README's device journey on a Debian 12 guest with systemd as PID 1, under
# qemu (TCG: no hardware virtualisation is assumed), against a centre on this host's 127.0.0.1.
#
#   1. The guest image (build-image.sh, cached) and the agent's .debs from `make deb`
#      (dist/, revision 1 and a revision 2 of the same build for the upgrade).
#   2. A centre from packaging/dev/stack.sh: PostgreSQL, mosquitto (TLS, client certificates),
#      `outpost-aggregator serve`, all on 127.0.0.1; a one-time token for the device.
#   3. A qcow2 overlay per run over the cached image, a payload disk (journey.sh, the .debs,
#      the token), qemu's user network restricted to forwards to the centre's two ports.
#   4. The guest runs guest/journey.sh and powers off; its steps arrive on the second serial
#      port. On "revoke-now" this script revokes the device at the centre; at the end it checks
#      the centre's side (readings stored, one renewal certificate, device shown revoked).
# Needs root (mmdebstrap, chroot in the guest image). Every process it starts is ended by PID.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"
[ "$(id -u)" -eq 0 ] || { echo "test-vm needs root (it builds a root filesystem with mmdebstrap)"; exit 1; }
packaging/dev/install-deps.sh "$here/host-packages.txt"
start=$SECONDS

version="$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Common/Support/OutpostVersion.swift)"
arch="$(dpkg --print-architecture)"
rev1="outpost-agent_${version}-1_${arch}.deb"
rev2="outpost-agent_${version}-2_${arch}.deb"
[ -f "dist/$rev1" ] || packaging/deb/build-deb.sh --only outpost-agent
# Revision 2 is revision 1 repacked with the new version, for the upgrade step.
[ -f "dist/$rev2" ] || packaging/deb/repack-deb.sh "dist/$rev1" 2 >/dev/null

image="$("$here/build-image.sh")"
# The aggregator reads every OUTPOST_* variable as a configuration override.
unset OUTPOST_VM_CACHE
swift build -q --product outpost-aggregator
agg="$(swift build --show-bin-path)/outpost-aggregator"

work="$root/.build/vm-run"
rm -rf "$work"
mkdir -p "$work/payload"
qemu_pid=""
# shellcheck source=../../dev/stack.sh
. packaging/dev/stack.sh
STACK_AGG="$agg"
STACK_ROOT="$root"
cleanup() {
    [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null && kill -KILL "$qemu_pid"
    stack_stop "$work/stack" >/dev/null 2>&1 || true
}
trap cleanup EXIT

free_port() {
    local port
    while :; do
        port=$(( 20000 + RANDOM % 20000 ))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}
pg_port="$(free_port)"; mqtt_port="$(free_port)"; https_port="$(free_port)"
stack_init "$work/stack" "$pg_port" "$mqtt_port" "$https_port"
stack_start_postgres
stack_configure vm
stack_start_mosquitto
stack_start_aggregator
config=(--config "$STACK_CONFIG")
device=meter-vm-0001
token="$("$agg" token create "${config[@]}" --device "$device" --ttl 1h | awk '/^token:/ {print $2}')"
echo "centre up on 127.0.0.1 (https $https_port, mqtt $mqtt_port) after $((SECONDS - start)) s"

cp "$here/guest/journey.sh" "dist/$rev1" "dist/$rev2" "$work/payload/"
cat > "$work/payload/env" <<ENV
SERVER=$STACK_URL
TOKEN=$token
DEVICE=$device
HTTPS_PORT=$https_port
MQTT_PORT=$mqtt_port
REV1=$rev1
REV2=$rev2
ENV
mkfs.ext4 -q -L outpost-payload -d "$work/payload" "$work/payload.ext4" 128M
qemu-img create -q -f qcow2 -b "$image/rootfs.ext4" -F raw "$work/overlay.qcow2"
: > "$work/results.log"
forward() { echo "guestfwd=tcp:10.0.2.100:$1-cmd:socat - TCP:127.0.0.1:$1"; }
boot=$SECONDS
qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -nodefaults -display none -no-reboot \
    -kernel "$image/vmlinuz" -append "root=/dev/nvme0n1 rw console=ttyS0 panic=-1 no_timer_check systemd.show_status=error" \
    -drive "file=$work/overlay.qcow2,if=none,id=root,format=qcow2" -device nvme,drive=root,serial=root \
    -drive "file=$work/payload.ext4,if=none,id=payload,format=raw" -device nvme,drive=payload,serial=payload \
    -netdev "user,id=net0,restrict=on,$(forward "$https_port"),$(forward "$mqtt_port")" -device virtio-net-pci,netdev=net0 \
    -serial "file:$work/console.log" -serial "file:$work/results.log" &
qemu_pid=$!

# Follow the guest's results; act on "revoke-now"; give up after 10 minutes.
seen=0 revoked=0 booted=""
while kill -0 "$qemu_pid" 2>/dev/null && [ $((SECONDS - boot)) -lt 600 ]; do
    mapfile -t lines < "$work/results.log"
    for line in "${lines[@]:$seen}"; do
        line="${line%$'\r'}"
        echo "guest: $line"
        case "$line" in
            booted*) booted=$((SECONDS - boot)) ;;
            revoke-now)
                "$agg" cert revoke "${config[@]}" --device "$device"
                revoked=1 ;;
        esac
    done
    seen=${#lines[@]}
    sleep 1
done
if kill -0 "$qemu_pid" 2>/dev/null; then
    kill -KILL "$qemu_pid"
    echo "the guest did not power off within 10 minutes; its console: $work/console.log"
fi
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=""
run_seconds=$((SECONDS - boot))
mapfile -t lines < "$work/results.log"
for line in "${lines[@]:$seen}"; do echo "guest: ${line%$'\r'}"; done

failures=0
check() {
    local name="$1"; shift
    if "$@"; then echo "ok centre: $name"; else echo "not ok centre: $name"; failures=$((failures + 1)); fi
}
sql() { stack_psql -At -c "$1"; }
check "the guest finished the journey" grep -q "^done" "$work/results.log"
check "no step failed" bash -c "! grep -q '^not ok' '$work/results.log'"
check "the device was revoked on request" [ "$revoked" = 1 ]
check "readings stored" [ "$(sql "SELECT count(*) > 0 FROM readings WHERE device = '$device'")" = t ]
check "one certificate from enroll, one from the renewal" [ "$(sql "SELECT count(*) FROM certificates WHERE device_id = '$device' AND purpose = 'device'")" = 2 ]
history="$(sql "SELECT string_agg(status || ':' || cause, ' ' ORDER BY changed_at, recorded_at) FROM device_status_changes WHERE device = '$device'")"
echo "centre: status history of $device: $history"
check "online, then offline because revoked" [ "$(echo "$history" | awk '{print $1 ~ /^online:/, $NF}')" = "1 offline:revoked" ]
check "shown revoked" [ "$(sql "SELECT status || ' ' || (revoked_at IS NOT NULL) FROM devices WHERE id = '$device'")" = "offline true" ]
echo "vm: boot to the journey ${booted:-?} s, whole guest run $run_seconds s, test-vm $((SECONDS - start)) s in all"
if [ "$failures" -gt 0 ]; then
    echo "test-vm: $failures check(s) failed; guest console: $work/console.log, centre logs: $work/stack/logs/"
    exit 1
fi
echo "test-vm: passed"
