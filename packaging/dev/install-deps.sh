#!/usr/bin/env bash
# Installs the Debian packages in apt-packages.txt (or in the list file given) that are missing. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mapfile -t wanted < <(grep -v '^\s*#' "${1:-$here/apt-packages.txt}" | sed '/^\s*$/d')
missing=()
for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian's packages start system daemons that Outpost's tests run themselves, on their own
# 127.0.0.1 ports: mosquitto (1883), Prometheus (*:9090), etcd and HAProxy (ha/cluster.sh).
# Stop and disable them, under systemd or (a host without systemd as PID 1) their init scripts.
for service in mosquitto prometheus etcd haproxy; do
    if [ -d /run/systemd/system ]; then
        if systemctl is-active --quiet "$service" 2>/dev/null; then $sudo systemctl disable --now "$service" || true; fi
    elif [ -x "/etc/init.d/$service" ]; then
        $sudo "/etc/init.d/$service" stop >/dev/null 2>&1 || true
    fi
done
