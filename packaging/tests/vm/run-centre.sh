#!/usr/bin/env bash
# make test-vm-centre: the centre journey of docs/operations.md on a Debian 12 guest with systemd
# as PID 1 under qemu (TCG), with Debian's postgresql and mosquitto, then a device enrolled in
# the same guest, revoked through the admin API, refused by the system mosquitto without a
# manual reload (outpost-aggregator-broker-reload.path); see guest/centre-journey.sh.
#
#   1. The centre's guest image (build-image.sh centre-packages.txt, cached) and both .debs
#      from `make deb` (dist/, revision 1).
#   2. A qcow2 overlay per run, a payload disk (the journey as journey.sh, the .debs, env).
#      The guest has no network device: everything runs inside it, on its 127.0.0.1.
#   3. The guest runs the journey and powers off; its steps arrive on the second serial port.
# Needs root (mmdebstrap, chroot in the guest image). The qemu process it starts is ended by PID.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"
[ "$(id -u)" -eq 0 ] || { echo "test-vm-centre needs root (it builds a root filesystem with mmdebstrap)"; exit 1; }
packaging/dev/install-deps.sh "$here/host-packages.txt"
start=$SECONDS

version="$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Common/Support/OutpostVersion.swift)"
arch="$(dpkg --print-architecture)"
aggregator_deb="outpost-aggregator_${version}-1_${arch}.deb"
agent_deb="outpost-agent_${version}-1_${arch}.deb"
[ -f "dist/$aggregator_deb" ] && [ -f "dist/$agent_deb" ] || packaging/deb/build-deb.sh

image="$("$here/build-image.sh" "$here/centre-packages.txt")"
work="$root/.build/vm-centre-run"
rm -rf "$work"
mkdir -p "$work/payload"
qemu_pid=""
cleanup() { [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null && kill -KILL "$qemu_pid"; return 0; }
trap cleanup EXIT

cp "$here/guest/centre-journey.sh" "$work/payload/journey.sh"
cp "dist/$aggregator_deb" "dist/$agent_deb" "$work/payload/"
cat > "$work/payload/env" <<ENV
AGGREGATOR_DEB=$aggregator_deb
AGENT_DEB=$agent_deb
DEVICE=meter-centre-0001
ENV
mkfs.ext4 -q -L outpost-payload -d "$work/payload" "$work/payload.ext4" 128M
qemu-img create -q -f qcow2 -b "$image/rootfs.ext4" -F raw "$work/overlay.qcow2"
: > "$work/results.log"
boot=$SECONDS
qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -nodefaults -display none -no-reboot -nic none \
    -kernel "$image/vmlinuz" -append "root=/dev/nvme0n1 rw console=ttyS0 panic=-1 no_timer_check systemd.show_status=error" \
    -drive "file=$work/overlay.qcow2,if=none,id=root,format=qcow2" -device nvme,drive=root,serial=root \
    -drive "file=$work/payload.ext4,if=none,id=payload,format=raw" -device nvme,drive=payload,serial=payload \
    -serial "file:$work/console.log" -serial "file:$work/results.log" &
qemu_pid=$!

# Follow the guest's results; give up after 15 minutes.
seen=0 booted=""
while kill -0 "$qemu_pid" 2>/dev/null && [ $((SECONDS - boot)) -lt 900 ]; do
    mapfile -t lines < "$work/results.log"
    for line in "${lines[@]:$seen}"; do
        line="${line%$'\r'}"
        echo "guest: $line"
        case "$line" in booted*) booted=$((SECONDS - boot)) ;; esac
    done
    seen=${#lines[@]}
    sleep 1
done
if kill -0 "$qemu_pid" 2>/dev/null; then
    kill -KILL "$qemu_pid"
    echo "the guest did not power off within 15 minutes; its console: $work/console.log"
fi
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=""
mapfile -t lines < "$work/results.log"
for line in "${lines[@]:$seen}"; do echo "guest: ${line%$'\r'}"; done

echo "vm-centre: boot to the journey ${booted:-?} s, whole guest run $((SECONDS - boot)) s, test-vm-centre $((SECONDS - start)) s in all"
if ! grep -q "^done" "$work/results.log" || grep -q "^not ok" "$work/results.log"; then
    echo "test-vm-centre: failed; guest console (journals of the units): $work/console.log"
    exit 1
fi
echo "test-vm-centre: passed"
