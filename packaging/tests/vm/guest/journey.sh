#!/bin/bash
# The device journey of README.md, "Install and enroll a device", on a Debian 12 guest with
# systemd as PID 1. Runs from the payload disk (outpost-vm-test.service); every step writes
# "ok STEP detail" or "not ok STEP detail" to the second serial port, which the host reads.
# The first failure stops the journey (later steps build on earlier ones) after dumping the
# agent's journal to the console.
set -u
payload=/mnt/payload
# shellcheck source=/dev/null
. "$payload/env"   # SERVER, TOKEN, DEVICE, HTTPS_PORT, MQTT_PORT, REV1, REV2
results=/dev/ttyS1
say() { echo "$*" > "$results"; echo "journey: $*"; }
ok() { say "ok $1 ${2:-}"; }
fail() {
    say "not ok $1 ${2:-}"
    journalctl -u outpost-agent --no-pager -n 60 -o cat 2>/dev/null | sed 's/^/agent: /'
    exit 1
}
# wait_for SECONDS COMMAND…: polls every 0.5 s; succeeds as soon as COMMAND does.
wait_for() {
    local limit=$(( $1 * 2 )); shift
    for _ in $(seq 1 "$limit"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
    return 1
}
now_ms() { date +%s%3N; }
prop() { systemctl show -p "$1" --value outpost-agent.service; }
status_field() { outpost-agent status --json 2>/dev/null | grep -o "\"$1\" *: *[0-9]*" | grep -o '[0-9]*$'; }
acked_after() { local at; at="$(status_field lastAckAt)"; [ -n "$at" ] && [ "$at" -gt "$1" ]; }
mode_owner() { [ "$(stat -c '%a %U:%G' "$1")" = "$2" ] || { echo "$1 is $(stat -c '%a %U:%G' "$1"), not $2" >&2; return 1; }; }

say "booted uptime=$(cut -d' ' -f1 /proc/uptime)s"

# The centre's ports on the host reach the guest as 10.0.2.100 (qemu guestfwd); proxies on the
# guest's 127.0.0.1 let the device use the host's URLs and TLS names unchanged.
for port in "$HTTPS_PORT" "$MQTT_PORT"; do
    cat > "/run/systemd/system/centre-$port.socket" <<UNIT
[Socket]
ListenStream=127.0.0.1:$port
UNIT
    cat > "/run/systemd/system/centre-$port.service" <<UNIT
[Service]
ExecStart=/lib/systemd/systemd-socket-proxyd 10.0.2.100:$port
UNIT
done
systemctl daemon-reload
systemctl start "centre-$HTTPS_PORT.socket" "centre-$MQTT_PORT.socket"
wait_for 60 bash -c "exec 3<>/dev/tcp/10.0.2.100/$HTTPS_PORT" || fail network "10.0.2.100:$HTTPS_PORT unreachable"
ok network "centre reachable through guestfwd"

# 1. apt install ./outpost-agent_…deb: the unit is enabled and waits for enrollment.
cp "$payload/$REV1" /tmp/
apt-get install -y -q "/tmp/$REV1" >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; fail install "apt-get install exited $?"; }
[ "$(systemctl is-enabled outpost-agent.service)" = enabled ] || fail install "unit not enabled"
[ "$(systemctl is-active outpost-agent.service)" = inactive ] || fail install "unit active before enrollment"
mode_owner /etc/outpost "750 root:outpost" && mode_owner /var/lib/outpost "750 outpost:outpost" || fail install "directory modes"
ok install "$REV1 installed; unit enabled, waiting for enrollment"

# 2. The README's enroll line, without extra flags.
enrolled_at=$(now_ms)
output="$(outpost-agent enroll --server "$SERVER" --token "$TOKEN" 2>&1)" || fail enroll "exit $?: $output"
echo "$output"
echo "$output" | grep -q "^enrolled $DEVICE: certificate " || fail enroll "no enrolled line"
echo "$output" | grep -q "^service: outpost-agent.service enabled and started$" || fail enroll "did not say it started the unit"
mode_owner /var/lib/outpost/credentials "700 outpost:outpost" && mode_owner /var/lib/outpost/credentials/device.key "600 outpost:outpost" \
    && mode_owner /var/lib/outpost/credentials/device.pem "644 outpost:outpost" && mode_owner /etc/outpost/agent.json "644 root:root" \
    || fail enroll "credentials layout"
grep -Eq '"type" *: *"system"' /etc/outpost/agent.json || fail enroll "no system source in the default agent.json"
ok enroll "key, certificate and CA under /var/lib/outpost/credentials (outpost, 0700); agent.json in /etc/outpost"

# 3. The unit runs by itself and the centre has stored readings (the agent holds its ack) within 30 s.
wait_for 10 systemctl is-active --quiet outpost-agent.service || fail start "unit not active"
wait_for 30 acked_after "$enrolled_at" || fail online "no acknowledged readings 30 s after enroll"
ok online "readings stored at the centre $(( ($(now_ms) - enrolled_at) / 1000 )) s after enroll"
say "check-online"

# 4. status as root and as the service user.
outpost-agent status | grep -q "^agent: *running" || fail status "root: not running"
setpriv --reuid=outpost --regid=outpost --clear-groups outpost-agent status >/tmp/status.txt 2>&1 \
    && grep -q "^agent: *running" /tmp/status.txt || { cat /tmp/status.txt; fail status "outpost: not running"; }
ok status "running, as root and as outpost"

# 5. Renewal now, under the unit: same process, new certificate, reconnected.
pid="$(prop MainPID)"; restarts="$(prop NRestarts)"
renewed_at=$(now_ms)
output="$(outpost-agent renew 2>&1)" || fail renew "exit $?: $output"
echo "$output" | grep -q "^renewed by the running agent (pid $pid): certificate " || fail renew "$output"
wait_for 30 acked_after "$renewed_at" || fail renew "no acknowledged readings after the renewal"
[ "$(prop MainPID)" = "$pid" ] && [ "$(prop NRestarts)" = "$restarts" ] || fail renew "the agent restarted"
journalctl -u outpost-agent -o cat | grep -q "certificate renewed" || fail renew "no 'certificate renewed' in the journal"
ok renew "${output#renewed by the running agent }; reconnected without a restart"
if journalctl -u outpost-agent -o cat | grep "Failed to set thread priority" > /tmp/priority.txt; then
    head -3 /tmp/priority.txt
    fail quiet "libdispatch thread-priority lines in the agent's journal: $(head -1 /tmp/priority.txt)"
fi
ok quiet "no thread-priority noise under the unit's SystemCallFilter"

# 6. Upgrade with the agent running: restarted once, reconnects.
upgraded_at=$(now_ms)
cp "$payload/$REV2" /tmp/
apt-get install -y -q "/tmp/$REV2" >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; fail upgrade "apt-get install exited $?"; }
wait_for 10 systemctl is-active --quiet outpost-agent.service || fail upgrade "unit not active after the upgrade"
[ "$(prop MainPID)" != "$pid" ] || fail upgrade "the agent was not restarted"
wait_for 30 acked_after "$upgraded_at" || fail upgrade "no acknowledged readings after the upgrade"
ok upgrade "$REV2: restarted, reconnected"

# 7. Revocation at the centre: disconnected, the refusal logged, no restart storm.
pid="$(prop MainPID)"; restarts="$(prop NRestarts)"
say "revoke-now"
refused() { journalctl -u outpost-agent -o cat | grep -q "the broker refused this client's certificate"; }
wait_for 120 refused || fail revoke "no log line saying the certificate was refused"
sleep 20
[ "$(prop MainPID)" = "$pid" ] && [ "$(prop NRestarts)" = "$restarts" ] || fail revoke "the agent restarted"
refusals="$(journalctl -u outpost-agent -o cat | grep -c "the broker refused this client's certificate")"
[ "$refusals" -le 2 ] || fail revoke "$refusals refused attempts in about 20 s: retries not slowed"
outpost-agent status | grep -q "^connection: *disconnected" || { outpost-agent status; fail revoke "not disconnected"; }
ok revoke "disconnected, refusal logged ($refusals attempt(s) in 20 s), same process, no restarts"

# 8. Purge: everything the agent made is gone.
apt-get purge -y -q outpost-agent >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; fail purge "apt-get purge exited $?"; }
[ ! -e /var/lib/outpost ] && [ ! -e /etc/outpost ] && ! getent passwd outpost >/dev/null || fail purge "state, config or user left"
ok purge "state, credentials, config and user removed"
say "done uptime=$(cut -d' ' -f1 /proc/uptime)s"
