#!/usr/bin/env bash
# `make test-console`: the operator console in a real headless Chromium (Selenium), against a
# real aggregator, PostgreSQL, mosquitto and three enrolled agents, all on 127.0.0.1, under
# .build/console-test. Selenium comes pinned from PyPI (Tests/Console/requirements.txt) into a venv under .build/. Screenshots
# are written to .build/console-test/screenshots. Every process started here is ended by PID.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$root/.build/console-test"
venv="$root/.build/console-venv"
requirements="$root/Tests/Console/requirements.txt"

# shellcheck source=packaging/dev/stack.sh
. "$root/packaging/dev/stack.sh"
STACK_ROOT="$root"

cd "$root"
swift build -q --product outpost-agent
swift build -q --product outpost-aggregator
bin="$(swift build --show-bin-path)"
STACK_AGG="$bin/outpost-aggregator"

# The venv is rebuilt whenever the pinned requirements change.
if ! cmp -s "$requirements" "$venv/requirements.txt"; then
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
fi

mkdir -p "$work"
stack_stop "$work/state" >/dev/null 2>&1 || true
trap 'stack_stop "$work/state" >/dev/null' EXIT
# Short access tokens (the shortest allowed) so the test sees one expire and be refreshed; a
# 10 s silence timeout for the kill -9 check; login and request limits the test never reaches;
# recordings on, under the state directory, with no free-space floor (this disk may be fuller).
STACK_AGGREGATOR_EXTRA=', "api": {"access_token_seconds": 60, "bcrypt_cost": 4, "login_per_user_per_minute": 100,
  "login_per_ip_per_minute": 100, "requests_per_minute": 100000}, "devices": {"offline_after_seconds": 10},
  "recordings": {"enabled": true, "directory": "'"$work/state/recordings"'", "floor_percent": 0, "floor_bytes": 0}'
stack_init "$work/state" "${CONSOLE_PG_PORT:-56432}" "${CONSOLE_MQTT_PORT:-56883}" "${CONSOLE_HTTPS_PORT:-56443}"
stack_start_postgres
stack_configure console
stack_start_mosquitto
stack_start_aggregator
for index in 1 2 3; do
    stack_enroll_agent "$bin/outpost-agent" "console-meter-$index" "$index"
done

admin_password="console-admin-$(openssl rand -hex 8)"
viewer_password="console-viewer-$(openssl rand -hex 8)"
echo "$admin_password" | "$STACK_AGG" user create --config "$STACK_CONFIG" --username admin --role admin --password-stdin >/dev/null 2>&1
echo "$viewer_password" | "$STACK_AGG" user create --config "$STACK_CONFIG" --username viewer --role viewer --password-stdin >/dev/null 2>&1

CONSOLE_URL="$STACK_URL" CONSOLE_CA="$STACK_CA" CONSOLE_STATE="$STACK_STATE" CONSOLE_PG_PORT="$STACK_PG_PORT" \
CONSOLE_ADMIN_PASSWORD="$admin_password" CONSOLE_VIEWER_PASSWORD="$viewer_password" \
CONSOLE_SCREENSHOTS="$work/screenshots" \
    "$venv/bin/python" "$root/Tests/Console/test_console.py"
