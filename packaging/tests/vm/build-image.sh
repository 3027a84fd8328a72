#!/usr/bin/env bash
# Builds (or finds cached) the test guest: a Debian 12 root filesystem as an ext4 image and
# Debian's cloud kernel beside it. Prints the cache directory holding rootfs.ext4 and vmlinuz.
#
# mmdebstrap from the mirror apt uses on this host (apt downloads in parallel and unpacks in
# one pass, writing the tarball directly: 2 min 15 s where debootstrap took 11 min on a new
# machine); the image is made with `mkfs.ext4 -d`,
# so no loop device or mount is needed. The cloud kernel has NVMe and ext4 built in, so the
# guest boots without an initrd; its modules (virtio-net) stay in the image for udev.
# Cache: $OUTPOST_VM_CACHE (default /var/cache/outpost-vm, else .build/vm-cache), in two
# layers so CI on one machine builds each once: the bootstrapped tree as a tarball, keyed by
# the hash of guest-packages.txt (the slow part: minutes of downloads), and the image made from
# it, keyed by that and this script and the guest's unit (seconds).
#
# Usage: build-image.sh [PACKAGE_LIST]   (default guest-packages.txt, the device guest;
# centre-packages.txt is the centre's, with PostgreSQL and mosquitto)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
list="${1:-$here/guest-packages.txt}"
cache_base="${OUTPOST_VM_CACHE:-/var/cache/outpost-vm}"
mkdir -p "$cache_base" 2>/dev/null && [ -w "$cache_base" ] || cache_base="$root/.build/vm-cache"
mkdir -p "$cache_base"
base_key="$(sha256sum < "$list" | cut -c1-16)"
base="$cache_base/base-$base_key.tar"
key="$( (echo "$base_key"; cat "$here/build-image.sh" "$here/guest/outpost-vm-test.service") | sha256sum | cut -c1-16)"
cache="$cache_base/debian12-$key"
if [ -f "$cache/rootfs.ext4" ] && [ -f "$cache/vmlinuz" ]; then
    echo "$cache"
    exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "building the VM image needs root (mmdebstrap, chroot)" >&2; exit 1; }

work="$(mktemp -d "${cache_base}/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
start=$SECONDS
if [ ! -f "$base" ]; then
    mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)"
    [ -n "$mirror" ] || mirror="$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)"
    [ -n "$mirror" ] || mirror="http://deb.debian.org/debian"
    packages="$(grep -v '^\s*#' "$list" | sed '/^\s*$/d' | paste -sd,)"
    echo "mmdebstrap of the guest from $mirror (once per package list) ..." >&2
    mmdebstrap --variant=minbase --include="$packages" \
        --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
        bookworm "$work/base.tar" "$mirror" >"$work/mmdebstrap.log" 2>&1 \
        || { tail -30 "$work/mmdebstrap.log" >&2; exit 1; }
    mv "$work/base.tar" "$base"
    echo "mmdebstrap: $((SECONDS - start)) s" >&2
fi
mkdir -p "$rootfs"
tar --numeric-owner -C "$rootfs" -xpf "$base"

# A root with no password on the console only; nothing listens on the network.
chroot "$rootfs" passwd -d root >/dev/null
echo outpost-vm > "$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 outpost-vm\n' > "$rootfs/etc/hosts"
printf '/dev/nvme0n1 / ext4 rw,noatime 0 1\n' > "$rootfs/etc/fstab"
# Networking: DHCP from qemu's user-mode network, by systemd-networkd.
mkdir -p "$rootfs/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' \
    > "$rootfs/etc/systemd/network/10-dhcp.network"
chroot "$rootfs" systemctl enable systemd-networkd.service >/dev/null 2>&1
# virtio-net is a module in the cloud kernel: load it at once rather than when udev gets to it.
echo virtio_net > "$rootfs/etc/modules-load.d/virtio-net.conf"
# Nothing periodic or interactive competes with the test on a slow emulated CPU.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer getty@tty1.service \
            serial-getty@ttyS0.service serial-getty@ttyS1.service systemd-networkd-wait-online.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
# The test unit: mounts the payload disk (label outpost-payload) and runs its script, then powers off.
install -m 0644 "$here/guest/outpost-vm-test.service" "$rootfs/etc/systemd/system/outpost-vm-test.service"
chroot "$rootfs" systemctl enable outpost-vm-test.service >/dev/null 2>&1
mkdir -p "$rootfs/mnt/payload"

kernel="$(ls "$rootfs"/boot/vmlinuz-* | sort -V | tail -1)"
cp "$kernel" "$work/vmlinuz"
rm -f "$rootfs"/boot/initrd.img-*
# stdout is the cache path only: mke2fs says "Creating regular file" there even with -q.
mkfs.ext4 -q -L outpost-root -d "$rootfs" "$work/rootfs.ext4" 2G >&2
mkdir -p "$cache"
mv "$work/rootfs.ext4" "$work/vmlinuz" "$cache/"
echo "guest image made in $((SECONDS - start)) s: $cache ($(du -h --apparent-size "$cache/rootfs.ext4" | cut -f1) image, $(du -sh "$cache/rootfs.ext4" | cut -f1) used)" >&2
echo "$cache"
