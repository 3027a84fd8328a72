#!/usr/bin/env bash
# Installs both .debs on this machine (it must be a disposable Debian host: CI, a VM), then
# checks files, owners, modes, the user, the units, static linking, upgrade and purge.
# Needs root. Prints "N passed, M failed" and exits non-zero on any failure.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
[ "$(id -u)" -eq 0 ] || { echo "test-deb needs root (it installs packages)"; exit 1; }

passed=0
failed=0
check() {
    local what="$1"; shift
    if "$@" >/tmp/outpost-deb-check.log 2>&1; then
        passed=$((passed + 1)); echo "ok   $what"
    else
        failed=$((failed + 1)); echo "FAIL $what"; sed 's/^/     /' /tmp/outpost-deb-check.log | head -20
    fi
}
mode_owner() { [ "$(stat -c '%a %U:%G' "$1")" = "$2" ] || { echo "$1 is $(stat -c '%a %U:%G' "$1"), want $2"; return 1; }; }
no_swift_libs() { ! ldd "$1" | grep -i swift; }
version_runs() { [ "$(env -i /usr/bin/outpost-agent --version)" = "$1" ]; }
absent() { for path in "$@"; do [ ! -e "$path" ] || { echo "$path still exists"; return 1; }; done; }

export DEBIAN_FRONTEND=noninteractive
packaging/deb/build-deb.sh || exit 1
version="$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Common/Support/OutpostVersion.swift)"
arch="$(dpkg --print-architecture)"
agent1="dist/outpost-agent_${version}-1_${arch}.deb"
aggregator1="dist/outpost-aggregator_${version}-1_${arch}.deb"
# Revision 2 is revision 1 repacked with the new version: the same build, not a second one.
agent2="$(packaging/deb/repack-deb.sh "$agent1" 2)" || exit 1
aggregator2="$(packaging/deb/repack-deb.sh "$aggregator1" 2)" || exit 1

for deb in "$agent1" "$aggregator1"; do
    check "lintian is clean: $(basename "$deb")" lintian --fail-on error,warning --suppress-tags-from-file /dev/null "$deb"
    check "Depends lists only real shared-library packages: $(basename "$deb")" \
        sh -c "dpkg-deb -f '$deb' Depends | grep -v -i swift"
done
# The agent opens libcurl and libsrtp2 only when it needs them (dlopen): nothing in its ELF
# header makes dpkg-shlibdeps list them, so the Depends line must still name both.
for package in libcurl4 libsrtp2-1; do
    check "the agent Depends on $package, which it loads at run time" \
        sh -c "dpkg-deb -f '$agent1' Depends | tr ',' '\n' | grep -q '^ *$package\\b'"
done

dpkg --purge outpost-agent outpost-aggregator >/dev/null 2>&1 || true
check "install both packages" apt-get install -y -qq "./$agent1" "./$aggregator1"
check "user outpost exists, system account, no login" sh -c 'getent passwd outpost | grep -q ":/usr/sbin/nologin$"'
check "group outpost exists" getent group outpost
check "/usr/bin/outpost-agent 755 root" mode_owner /usr/bin/outpost-agent "755 root:root"
check "/usr/bin/outpost-aggregator 755 root" mode_owner /usr/bin/outpost-aggregator "755 root:root"
check "/etc/outpost 750 root:outpost" mode_owner /etc/outpost "750 root:outpost"
check "/var/lib/outpost 750 outpost:outpost" mode_owner /var/lib/outpost "750 outpost:outpost"
check "/etc/outpost-aggregator 750 root:outpost" mode_owner /etc/outpost-aggregator "750 root:outpost"
check "/var/lib/outpost-aggregator 750 outpost:outpost" mode_owner /var/lib/outpost-aggregator "750 outpost:outpost"
check "unit files 644 root" mode_owner /lib/systemd/system/outpost-agent.service "644 root:root"
check "/etc/default files are conffiles" sh -c 'dpkg-query -W -f="\${Conffiles}" outpost-agent | grep -q /etc/default/outpost-agent'
check "migrations are installed" sh -c 'ls /usr/share/outpost-aggregator/migrations/*.sql'
check "the alert rules are installed and valid" promtool check rules /usr/share/outpost-aggregator/prometheus/outpost.rules.yml
check "the Grafana dashboards are installed" sh -c 'ls /usr/share/outpost-aggregator/grafana/outpost-fleet.json /usr/share/outpost-aggregator/grafana/outpost-ingest.json /usr/share/outpost-aggregator/grafana/outpost-api.json /usr/share/outpost-aggregator/grafana/outpost-cameras.json'
check "outpost_build_info has the packaged commit" sh -c 'grep -Eq "^[0-9a-f]{12,40}$" /usr/share/outpost-aggregator/commit'
check "the console is installed, 644 root" mode_owner /usr/share/outpost-aggregator/console/js/app.js "644 root:root"
check "libjs-dygraphs came with the aggregator" test -f /usr/share/javascript/dygraphs/dygraph.min.js
check "the aggregator recommends ffmpeg (the recorder's engine; recording is off by default)" sh -c 'dpkg-query -W -f="\${Recommends}" outpost-aggregator | grep -q ffmpeg'
check "outpost-agent --version runs with no Swift toolchain" version_runs "$version"
check "outpost-agent links no Swift library" no_swift_libs /usr/bin/outpost-agent
check "outpost-aggregator links no Swift library" no_swift_libs /usr/bin/outpost-aggregator
check "outpost-agent has no full Foundation, ICU data or BoringSSL, does not link libcurl or libsrtp2, and is under 18 MB" \
    packaging/dev/check-agent-footprint.sh --max-mb 18 /usr/bin/outpost-agent
check "systemd-analyze verify the units" systemd-analyze verify /lib/systemd/system/outpost-agent.service \
    /lib/systemd/system/outpost-aggregator.service /lib/systemd/system/outpost-aggregator-broker-reload.path \
    /lib/systemd/system/outpost-aggregator-broker-reload.service
check "the CRL watch is enabled" sh -c '[ "$(systemctl is-enabled outpost-aggregator-broker-reload.path)" = enabled ]'
check "the CRL watch reloads mosquitto when crl.pem changes" sh -c \
    'grep -qx "PathChanged=/etc/mosquitto/outpost/crl.pem" /lib/systemd/system/outpost-aggregator-broker-reload.path &&
     grep -qx "ExecStart=/bin/systemctl try-reload-or-restart mosquitto.service" /lib/systemd/system/outpost-aggregator-broker-reload.service'
check "the aggregator may write the CRL under ProtectSystem=strict" \
    grep -qx "ReadWritePaths=-/etc/mosquitto/outpost" /lib/systemd/system/outpost-aggregator.service

# A configured, enrolled-looking host: an edited conffile, a generated config, a buffer.
echo "OUTPOST_LOGGING__LEVEL=debug" >> /etc/default/outpost-agent
echo '{"device_id":"meter-0001"}' > /etc/outpost/agent.json
echo "buffer-bytes" > /var/lib/outpost/buffer.sqlite
chown outpost:outpost /var/lib/outpost/buffer.sqlite
check "upgrade to revision 2" apt-get install -y -qq -o Dpkg::Options::=--force-confold "./$agent2" "./$aggregator2"
check "upgraded version is installed" sh -c "dpkg-query -W -f='\${Version}' outpost-agent | grep -qx '${version}-2'"
check "conffile edit survives the upgrade" grep -q "OUTPOST_LOGGING__LEVEL=debug" /etc/default/outpost-agent
check "generated config survives the upgrade" grep -q meter-0001 /etc/outpost/agent.json
check "buffer survives the upgrade" grep -q buffer-bytes /var/lib/outpost/buffer.sqlite

check "remove keeps the state" sh -c 'dpkg --remove outpost-agent >/dev/null && [ -e /var/lib/outpost/buffer.sqlite ]'
check "purge the agent" dpkg --purge outpost-agent
check "purge deletes all agent state" absent /var/lib/outpost /etc/outpost /etc/default/outpost-agent /usr/bin/outpost-agent
check "the shared user stays while the aggregator is installed" getent passwd outpost
check "purge the aggregator" dpkg --purge outpost-aggregator
check "purge deletes all aggregator state and the user" sh -c \
    '! getent passwd outpost && [ ! -e /var/lib/outpost-aggregator ] && [ ! -e /etc/outpost-aggregator ]'
check "purge leaves no enablement link of the CRL watch" absent /etc/systemd/system/paths.target.wants/outpost-aggregator-broker-reload.path

echo
echo "deb: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
