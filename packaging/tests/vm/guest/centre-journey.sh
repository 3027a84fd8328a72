#!/bin/bash
# The centre journey of docs/operations.md, "Install, in order", on a Debian 12 guest with
# systemd as PID 1 and Debian's postgresql and mosquitto; then a device enrolls against it in
# the same guest, its readings are stored, it is revoked through the admin API (inside the
# hardened unit) and the system mosquitto refuses it without a manual reload (the packaged
# outpost-aggregator-broker-reload.path); both units restart and /health is ok.
# Runs from the payload disk as journey.sh (outpost-vm-test.service); every step writes
# "ok STEP detail" or "not ok STEP detail" to the second serial port. The first failure stops
# the journey after dumping the journals of the units involved to the console.
set -u
payload=/mnt/payload
# shellcheck source=/dev/null
. "$payload/env"   # AGGREGATOR_DEB, AGENT_DEB, DEVICE
results=/dev/ttyS1
say() { echo "$*" > "$results"; echo "journey: $*"; }
ok() { say "ok $1 ${2:-}"; }
fail() {
    say "not ok $1 ${2:-}"
    for unit in outpost-aggregator mosquitto outpost-aggregator-broker-reload outpost-agent postgresql@15-main; do
        journalctl -u "$unit" --no-pager -n 40 -o cat 2>/dev/null | sed "s/^/$unit: /"
    done
    exit 1
}
# wait_for SECONDS COMMAND…: polls every 0.5 s; succeeds as soon as COMMAND does.
wait_for() {
    local limit=$(( $1 * 2 )); shift
    for _ in $(seq 1 "$limit"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
    return 1
}
now_ms() { date +%s%3N; }
mode_owner() { [ "$(stat -c '%a %U:%G' "$1")" = "$2" ] || { echo "$1 is $(stat -c '%a %U:%G' "$1"), not $2" >&2; return 1; }; }
status_field() { outpost-agent status --json 2>/dev/null | grep -o "\"$1\" *: *[0-9]*" | grep -o '[0-9]*$'; }
acked_after() { local at; at="$(status_field lastAckAt)"; [ -n "$at" ] && [ "$at" -gt "$1" ]; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
C="--config /etc/outpost-aggregator/aggregator.json"
state=/var/lib/outpost-aggregator
broker=/etc/mosquitto/outpost
health() { curl -sS --max-time 10 --cacert "$state/ca/ca.pem" https://127.0.0.1:8443/health; }
health_ok() { health | grep -q '"status" *: *"ok"'; }
api() { local method="$1" path="$2"; shift 2; curl -sS --max-time 60 --cacert "$state/ca/ca.pem" -X "$method" \
    -H "authorization: Bearer $access" "https://127.0.0.1:8443/api/v1$path" "$@"; }
mosquitto_reloads() { journalctl -u mosquitto.service -o cat | grep -c "^Reloaded"; }

say "booted uptime=$(cut -d' ' -f1 /proc/uptime)s"

# 1. Packages: postgresql and mosquitto are in the image (no network here), the .deb from the payload.
cp "$payload/$AGGREGATOR_DEB" "$payload/$AGENT_DEB" /tmp/
apt-get install -y -q "/tmp/$AGGREGATOR_DEB" >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; fail install "apt-get install exited $?"; }
mode_owner /etc/outpost-aggregator "750 root:outpost" && mode_owner "$state" "750 outpost:outpost" || fail install "directory modes"
[ "$(systemctl is-enabled outpost-aggregator-broker-reload.path)" = enabled ] || fail install "the CRL watch is not enabled"
[ "$(systemctl is-active outpost-aggregator-broker-reload.path)" = active ] || fail install "the CRL watch is not active"
[ "$(systemctl is-active outpost-aggregator.service)" = inactive ] || fail install "the aggregator started without aggregator.json"
ok install "$AGGREGATOR_DEB; outpost-aggregator-broker-reload.path enabled and watching"

# 2. Database role and database. The aggregator connects over TCP (postgres-nio has no Unix
# socket here) and Debian's pg_hba asks for a password on 127.0.0.1, so the role gets one.
wait_for 60 sudo -u postgres psql -qAt -c "SELECT 1" || fail database "postgresql not up"
password="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
sudo -u postgres psql -q -c "CREATE ROLE outpost LOGIN PASSWORD '$password'" || fail database "create role"
sudo -u postgres createdb --owner outpost outpost || fail database "createdb"
ok database "role outpost (password), database outpost"

# 3. Configuration (root:outpost 0640: it holds the database password), then migrate.
install -m 0640 -o root -g outpost /dev/null /etc/outpost-aggregator/aggregator.json
cat > /etc/outpost-aggregator/aggregator.json <<JSON
{
  "instance_id": "a1",
  "state_dir": "$state",
  "migrations_dir": "/usr/share/outpost-aggregator/migrations",
  "postgres": {"host": "127.0.0.1", "port": 5432, "username": "outpost", "password": "$password", "database": "outpost"},
  "http": {"host": "127.0.0.1", "port": 8443, "cert_file": "$state/https.pem", "key_file": "$state/https.key",
           "client_ca_file": "$state/ca/ca.pem"},
  "mqtt": {"host": "127.0.0.1", "port": 8883, "ca_file": "$broker/ca.pem", "cert_file": "$broker/aggregator.pem",
           "key_file": "$broker/aggregator.key"},
  "identity": {"broker_dir": "$broker", "broker_reload": "crl_watch"}
}
JSON
mode_owner /etc/outpost-aggregator/aggregator.json "640 root:outpost" || fail configure "aggregator.json mode"
sudo -u outpost outpost-aggregator migrate $C >/tmp/migrate.log 2>&1 || { cat /tmp/migrate.log; fail configure "migrate"; }
ok configure "aggregator.json written, migrations applied"

# 4. The fleet CA.
sudo -u outpost outpost-aggregator ca init $C >/tmp/ca.log 2>&1 || { cat /tmp/ca.log; fail ca "ca init"; }
mode_owner "$state/ca/ca.key" "600 outpost:outpost" || fail ca "ca.key mode"
ok ca "$(head -1 /tmp/ca.log)"

# 5. The HTTPS server certificate, in the state directory: the service user cannot write
# /etc/outpost-aggregator (root:outpost 0750).
sudo -u outpost outpost-aggregator ca server-cert $C --ip 127.0.0.1 --dns localhost \
    --cert-out "$state/https.pem" --key-out "$state/https.key" >/tmp/server-cert.log 2>&1 \
    || { cat /tmp/server-cert.log; fail server-cert "ca server-cert"; }
mode_owner "$state/https.key" "600 outpost:outpost" || fail server-cert "https.key mode"
ok server-cert "https.pem and https.key (0600 outpost)"

# 6. The broker: a directory the aggregator writes (owner outpost) and mosquitto reads (its group,
# inherited through setgid), broker-config as the service user, Debian's mosquitto run with it.
install -d -o outpost -g mosquitto -m 2750 "$broker"
sudo -u outpost outpost-aggregator broker-config $C --out "$broker" --user mosquitto >/tmp/broker-config.log 2>&1 \
    || { cat /tmp/broker-config.log; fail broker-config "broker-config"; }
mode_owner "$broker/server.key" "640 outpost:mosquitto" && mode_owner "$broker/crl.pem" "644 outpost:mosquitto" \
    && mode_owner "$broker/aggregator.key" "600 outpost:mosquitto" || fail broker-config "broker file modes"
mkdir -p /etc/systemd/system/mosquitto.service.d
printf '[Service]\nExecStart=\nExecStart=/usr/sbin/mosquitto -c %s/mosquitto.conf\n' "$broker" \
    > /etc/systemd/system/mosquitto.service.d/outpost.conf
systemctl daemon-reload
systemctl restart mosquitto.service || fail broker "mosquitto did not start with the generated configuration"
wait_for 30 listening 8883 || fail broker "mosquitto not listening on 127.0.0.1:8883"
ok broker "mosquitto.service runs $broker/mosquitto.conf as user $(ps -o user= -p "$(systemctl show -p MainPID --value mosquitto)")"

# 7. Start the aggregator under its unit; /health.
systemctl enable --now outpost-aggregator.service >/tmp/enable.log 2>&1 || { cat /tmp/enable.log; fail start "enable --now"; }
wait_for 120 health_ok || { health; fail start "/health not ok 120 s after start"; }
ok start "outpost-aggregator.service active; /health: $(health)"

# 8. The first admin.
sudo -u outpost outpost-aggregator user create $C --username alice --role admin >/tmp/user.log 2>&1 \
    || { cat /tmp/user.log; fail admin "user create"; }
admin_password="$(sed -n 's/^password (shown once): //p' /tmp/user.log)"
login="$(curl -sS --cacert "$state/ca/ca.pem" https://127.0.0.1:8443/api/v1/auth/login -H 'content-type: application/json' \
    -d "{\"username\":\"alice\",\"password\":\"$admin_password\"}")"
access="$(echo "$login" | grep -o '"accessToken" *: *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/')"
[ -n "$access" ] || fail admin "login as alice: $login"
ok admin "alice created and signed in"

# A device in the same guest: token at the centre, the agent .deb, the README's enroll line.
token="$(sudo -u outpost outpost-aggregator token create $C --device "$DEVICE" --ttl 1h | awk '/^token:/ {print $2}')"
[ -n "$token" ] || fail token "no token printed"
apt-get install -y -q "/tmp/$AGENT_DEB" >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; fail agent-install "apt-get install exited $?"; }
enrolled_at=$(now_ms)
output="$(outpost-agent enroll --server https://127.0.0.1:8443 --token "$token" 2>&1)" || fail enroll "exit $?: $output"
echo "$output" | grep -q "^service: outpost-agent.service enabled and started$" || fail enroll "did not start the unit: $output"
wait_for 60 acked_after "$enrolled_at" || fail readings "no acknowledged readings 60 s after enroll"
stored="$(sudo -u postgres psql -d outpost -qAt -c "SELECT count(*) FROM readings WHERE device = '$DEVICE'")"
[ "${stored:-0}" -gt 0 ] || fail readings "no readings stored for $DEVICE"
ok readings "$stored readings stored, acked $(( ($(now_ms) - enrolled_at) / 1000 )) s after enroll"

# Revocation through the admin API, i.e. by the service itself (ProtectSystem=strict,
# NoNewPrivileges): it writes crl.pem, the path unit reloads mosquitto, and the API answers
# only once the broker refuses a revoked probe certificate (the aggregator sends no signal).
reloads_before="$(mosquitto_reloads)"
crl_before="$(stat -c %Y.%i "$broker/crl.pem")"
revoke_status="$(api POST "/devices/$DEVICE/certificates/revoke" -o /tmp/revoke.json -w '%{http_code}')"
[ "$revoke_status" = 200 ] || { cat /tmp/revoke.json; fail revoke "POST certificates/revoke answered $revoke_status"; }
[ "$(stat -c %Y.%i "$broker/crl.pem")" != "$crl_before" ] || fail revoke "crl.pem not rewritten"
reloads_after="$(mosquitto_reloads)"
[ "$reloads_after" -gt "$reloads_before" ] || fail revoke "mosquitto was not reloaded"
refused() { journalctl -u outpost-agent -o cat | grep -q "the broker refused this client's certificate"; }
wait_for 120 refused || fail revoke "the agent does not log that its certificate was refused"
api GET "/devices/$DEVICE" | grep -q '"status" *: *"revoked"' || { api GET "/devices/$DEVICE"; fail revoke "not shown revoked"; }
ok revoke "API 200; crl.pem rewritten by the service; mosquitto reloaded $((reloads_after - reloads_before)) time(s) by the path unit; the agent refused; shown revoked"

# Restart both units: the CRL stays in force, /health comes back ok.
refusals="$(journalctl -u outpost-agent -o cat | grep -c "the broker refused this client's certificate")"
systemctl restart mosquitto.service outpost-aggregator.service || fail restart "systemctl restart"
wait_for 120 health_ok || { health; fail restart "/health not ok 120 s after the restart"; }
outpost-agent status | grep -q "^connection: *disconnected" || { outpost-agent status; fail restart "the revoked agent is connected"; }
ok restart "mosquitto and outpost-aggregator restarted; /health: $(health); the agent stays out ($refusals refusal(s) logged)"
# A clean stop (the forced power-off that ends the run would otherwise wait on it).
stop_started=$(now_ms)
systemctl stop outpost-agent.service outpost-aggregator.service || fail stop "systemctl stop"
[ "$(systemctl show -p Result --value outpost-aggregator.service)" = success ] || fail stop "the aggregator did not stop cleanly"
ok stop "outpost-aggregator stopped cleanly in $(( $(now_ms) - stop_started )) ms"
say "done uptime=$(cut -d' ' -f1 /proc/uptime)s"
