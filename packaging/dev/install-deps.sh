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
# The Debian package starts a system broker on port 1883; Outpost runs its own brokers and needs none.
if [ -d /run/systemd/system ] && systemctl is-active --quiet mosquitto 2>/dev/null; then
    $sudo systemctl disable --now mosquitto || true
fi
# Likewise Prometheus (for promtool and the alert-rule test) would listen on *:9090; the tests start their own on 127.0.0.1.
if [ -d /run/systemd/system ] && systemctl is-active --quiet prometheus 2>/dev/null; then
    $sudo systemctl disable --now prometheus || true
fi
# Likewise etcd and HAProxy: ha/cluster.sh runs its own on other ports.
for service in etcd haproxy; do
    if [ -d /run/systemd/system ] && systemctl is-active --quiet "$service" 2>/dev/null; then
        $sudo systemctl disable --now "$service" || true
    fi
done
